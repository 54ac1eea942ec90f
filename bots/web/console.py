"""The web console: the third adapter (platform "web") and the operator's dashboard, on the service's aiohttp app.

People sign in with a password or a one-time link, talk in threads like a group chat (every line
goes through the same core commands as Discord and Telegram), and watch their jobs live over
server-sent events. Finished clips come from the outbox like on any platform and are posted into
the thread as messages; media is served by signed, expiring URLs.

This module builds the console and holds what its parts share (templates, signed media paths, the message JSON);
the routes live by concept: auth.py (sign-in, sessions, CSRF), pages.py (HTML pages, media), api.py (the chat
API), live.py (server-sent events, job statuses), ops.py (health, metrics); delivery.py posts the outbox's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from bots.common.events import EventDispatch
from bots.common.outbox import Backoff, DeliveryWorker
from bots.web import places
from bots.web.api import ChatApi
from bots.web.auth import Auth
from bots.web.delivery import RETRY_SECONDS, WebDelivery
from bots.web.hub import LiveHub
from bots.web.live import Live
from bots.web.ops import Ops
from bots.web.pages import Pages
from bots.web.security import SECURITY_HEADERS
from bots.web.signing import Signer, load_key
from core.console.threads import Message, Thread
from core.console_queries import ConsoleQueries
from core.identity import Place
from core.people.accounts import PLATFORM, Account, Session
from core.service import Sorabox
from core.settings import Settings, SettingsError

if TYPE_CHECKING:  # the cameo service pulls in OpenCV and the voice detector; only its type is needed here
    from core.cameos.service import Cameos

# How long a media link shown inside the console stays valid; pages are reloaded well within it.
PAGE_MEDIA_SECONDS = 24 * 3600.0
DELIVERY_POLL_SECONDS = 5.0
# The account the first-start link signs in.
FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class WebSettings:
    """The console's own settings, from `SORABOX_WEB_*` (via settings.environ)."""

    max_upload_bytes: int = 50 * 1024 * 1024
    secure_cookies: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> WebSettings:
        raw = settings.environ.get("SORABOX_WEB_MAX_UPLOAD_MB", "")
        try:
            upload = int(float(raw) * 1024 * 1024) if raw else cls.max_upload_bytes
        except ValueError:
            raise SettingsError(f"SORABOX_WEB_MAX_UPLOAD_MB must be a number of megabytes, got {raw!r}") from None
        return cls(max_upload_bytes=upload, secure_cookies=settings.public_url.startswith("https://"))


class WebConsole:
    """The web console adapter: routes on the service's app, a delivery worker and an event listener."""

    def __init__(self, core: Sorabox, settings: Settings, cameos: Cameos | None = None) -> None:
        self.core = core
        self.settings = settings
        # The cameo service, when the service runs with cameos (passed in, or the one the core was built with).
        self.cameos: Cameos | None = cameos if cameos is not None else core.cameos
        self.web_settings = WebSettings.from_settings(settings)
        self.queries = ConsoleQueries.of(core)
        self.accounts = self.queries.accounts()
        self.threads = self.queries.threads()
        self.hub = LiveHub()
        self._signer: Signer | None = None
        self._base_url = f"http://{settings.web_host}:{settings.web_port}"
        self._tasks: list[asyncio.Task[None]] = []
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bots.web", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["urlquote"] = lambda value: quote(str(value), safe="")
        self.auth = Auth(self)
        self.pages = Pages(self)
        self.api = ChatApi(self)
        self.live = Live(self)
        self.ops = Ops(self)
        self.deliveries = DeliveryWorker(
            core,
            PLATFORM,
            WebDelivery(self),
            backoff=Backoff(RETRY_SECONDS, RETRY_SECONDS),
            poll_seconds=DELIVERY_POLL_SECONDS,
            look_for_earlier="always",
        )
        self.events = EventDispatch(
            PLATFORM,
            deliveries_pending=self.deliveries.wake,
            clip_deleted=self.live.clip_deleted,
            job_hooks=self.live.job_hooks(),
        )

    # -- the interface `sorabox serve` uses -------------------------------------------------------

    def setup(self, app: web.Application) -> None:
        """Add every route of the console to the service's app."""
        r, auth, pages, api, live, ops = app.router, self.auth, self.pages, self.api, self.live, self.ops
        r.add_get("/", pages.index)
        r.add_get("/healthz", ops.healthz)
        r.add_get("/metrics", ops.metrics)
        r.add_get("/signin", auth.signin_page)
        r.add_post("/signin", auth.signin_password)
        r.add_get("/signin/link/{token}", auth.link_page)
        r.add_post("/signin/link/{token}", auth.link_signin)
        r.add_post("/signout", auth.signout)
        r.add_get("/threads", pages.threads_page)
        r.add_post("/threads", pages.create_thread)
        r.add_get("/threads/{thread_id}", pages.chat_page)
        r.add_get("/gallery", pages.gallery_page)
        r.add_get("/quota", pages.quota_page)
        r.add_get("/account", pages.account_page)
        r.add_post("/account/password", pages.set_password)
        r.add_get("/admin", pages.admin_page)
        r.add_post("/admin/jobs/{job_id}/cancel", pages.admin_cancel)
        r.add_post("/admin/quota", pages.admin_quota)
        r.add_post("/admin/accounts", pages.admin_invite)
        r.add_get("/cameos", pages.cameos_page)
        r.add_post("/cameos", pages.create_cameo)
        r.add_post("/cameos/clips/{clip_id}/delete", pages.cameo_clip_delete)
        r.add_post("/cameos/{handle}/{action}", pages.cameo_action)
        r.add_get("/media/{clip_id}", pages.media)
        r.add_get("/api/threads/{thread_id}", api.api_thread)
        r.add_get("/api/threads/{thread_id}/events", live.api_events)
        r.add_get("/api/threads/{thread_id}/tree", api.api_tree)
        r.add_post("/api/threads/{thread_id}/messages", api.api_post_message)
        r.add_post("/api/threads/{thread_id}/clips/{clip_id}/{action}", api.api_clip_action)
        r.add_static("/static", str(_static_dir()), name="static", append_version=False)
        app.on_shutdown.append(self._on_shutdown)

    async def start(self) -> None:
        """Listen to the core's events and post this platform's deliveries."""
        self.hub.reopen()
        subscription = self.core.bus.subscribe()
        self._tasks = [asyncio.create_task(self.events.run(subscription), name="web-events")]
        self.deliveries.start()

    async def stop(self) -> None:
        self.hub.close()
        await self.deliveries.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _on_shutdown(self, app: web.Application) -> None:
        # Open event streams would otherwise hold the server's shutdown until they time out.
        self.hub.close()

    def set_base_url(self, url: str) -> None:
        """The address the server is reachable at, known once it has bound its port."""
        self._base_url = url.rstrip("/")

    @property
    def base_url(self) -> str:
        return self.settings.public_url.rstrip("/") or self._base_url

    async def first_start_link(self) -> str | None:
        """Until someone first signs in: a one-time link for a new admin account, unless a link handed out still works.

        A link lasts a day; without a fresh one after that, a service nobody signed in to could not be entered.
        """
        state = await self.accounts.first_start()
        if not state.waiting or state.link_valid_until is not None:
            return None
        return await self.signin_link(FIRST_ADMIN, admin=True)

    async def first_start_notice(self) -> str | None:
        """The line `sorabox serve` prints at start-up while nobody has signed in yet (None once someone has)."""
        link = await self.first_start_link()
        if link is not None:
            return f"first start: sign in as the admin with this one-time link: {link}"
        state = await self.accounts.first_start()
        if not state.waiting:
            return None
        # Only the link's digest is stored, so the one printed earlier cannot be shown again: say how to get another.
        return (
            f"nobody has signed in yet: the one-time link printed earlier works until {state.link_valid_until}; "
            f"`sorabox admin link {FIRST_ADMIN}` prints a new one"
        )

    async def signin_link(self, name: str, admin: bool = False) -> str:
        """A one-time sign-in URL for the account `name`, created when missing."""
        account = await self.accounts.ensure(name, is_admin=admin)
        token = await self.accounts.issue_link_token(account.id)
        return f"{self.base_url}/signin/link/{token}"

    def media_url(self, clip_id: str, expires_in: float = 86400) -> str:
        """A signed URL for a clip's MP4 that stops working after `expires_in` seconds."""
        return self.base_url + self.media_path(clip_id, expires_in)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(load_key(self.settings.data_dir / "secret.key"))
        return self._signer

    def media_path(self, clip_id: str, expires_in: float = PAGE_MEDIA_SECONDS) -> str:
        expires = int(time.time() + expires_in)
        signature = self.signer.signature("media", f"{clip_id}:{expires}")
        return f"/media/{quote(clip_id, safe='')}?{urlencode({'exp': expires, 'sig': signature})}"

    def render(
        self,
        template: str,
        session: Session | None,
        status: int = 200,
        cookies: dict[str, str] | None = None,
        **context: Any,
    ) -> web.Response:
        html = self.templates.get_template(template).render(
            me=session.account if session else None,
            csrf=self.auth.csrf_token(session) if session else context.pop("csrf", ""),
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)
        for name, value in (cookies or {}).items():
            response.set_cookie(name, value, httponly=True, samesite="Lax", secure=self.web_settings.secure_cookies)
        return response

    def message_json(self, message: Message) -> dict[str, Any]:
        data = message.as_dict()
        if message.kind == "clip" and message.clip_id and not message.deleted:
            data["media_url"] = self.media_path(message.clip_id)
        return data

    @staticmethod
    def private_place(account: Account) -> Place:
        """The person's private inbox thread: where the core sends them notices (someone used their cameo)."""
        return places.private_place(account)

    @staticmethod
    def thread_place(thread: Thread, reply_to: str | None = None) -> Place:
        """Where a line typed in `thread` is said: an inbox is a private chat, a shared thread is in the community."""
        return places.thread_place(thread, reply_to)

    async def deliver_pending(self) -> int:
        """Post every due web delivery into its thread now; returns how many were posted."""
        return await self.deliveries.deliver_pending()


def _static_dir() -> Path:
    return Path(__file__).parent / "static"


async def admin_link(core: Sorabox, settings: Settings, name: str) -> str:
    """`sorabox admin link <name>`: make `name` an admin account (created if needed) and return a one-time URL."""
    accounts = ConsoleQueries.of(core).accounts()
    account = await accounts.ensure(name, is_admin=True)
    token = await accounts.issue_link_token(account.id, timedelta(hours=24))
    base = settings.public_url.rstrip("/") or f"http://{settings.web_host}:{settings.web_port}"
    return f"{base}/signin/link/{token}"
