"""The web console: a third adapter (platform "web") and the operator's dashboard, served by aiohttp."""

from bots.web.console import WebConsole, WebSettings, admin_link

__all__ = ["WebConsole", "WebSettings", "admin_link"]
