"""The Discord adapter: /sora as a slash command, a thread per clip for group remixing."""

from bots.discordbot.adapter import DiscordAdapter
from bots.discordbot.settings import DiscordSettings

__all__ = ["DiscordAdapter", "DiscordSettings"]
