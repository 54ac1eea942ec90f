"""The web console: the third adapter (platform "web") and the operator's dashboard, on the service's aiohttp app.

People sign in with a password or a one-time link, talk in threads like a group chat (every line
goes through the same core commands as Discord and Telegram), and watch their jobs live over
server-sent events. Finished clips come from the outbox like on any platform and are posted into
the thread as messages; media is served by signed, expiring URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import BodyPartReader, web

from bots.common.outbox import Backoff, DeliveryWorker
from bots.web.delivery import RETRY_SECONDS, SERVICE_NAME, WebDelivery
from bots.web.hub import LiveHub
from bots.web.signing import Signer, load_key
from core.commands import ALIASES, USAGE
from core.console import threads as console_threads
from core.console.threads import ConsoleThreads, Message, UnknownThread
from core.errors import UnknownClip
from core.events import (
    ClipDeleted,
    DeliveriesPending,
    Event,
    JobCancelled,
    JobDone,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
    JobStarted,
)
from core.identity import Place
from core.ops import metrics
from core.people.accounts import PLATFORM, Account, AccountError, Accounts, Session, SigninLocked
from core.records import LineageNode
from core.service import Sorabox
from core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from core.cameos.service import Cameos

log = logging.getLogger(__name__)

SESSION_KEY: web.RequestKey[Session | None] = web.RequestKey("sorabox_web_session", Session)
SESSION_COOKIE = "sorabox_session"
PRESESSION_COOKIE = "sorabox_pre"
# How long a media link shown inside the console stays valid; pages are reloaded well within it.
PAGE_MEDIA_SECONDS = 24 * 3600.0
MAX_MESSAGE_CHARS = 2000
MAX_JSON_BYTES = 16 * 1024
# Progress events can come every few milliseconds; browsers need a few a second at most.
PROGRESS_INTERVAL = 0.2
DELIVERY_POLL_SECONDS = 5.0
KEEPALIVE_SECONDS = 15.0
# The account the first-start link signs in.
FIRST_ADMIN = "admin"
# The console is one community: every shared thread belongs to it (its Places carry this as their guild), so a
# cameo shared with "my community" here may be used in any shared thread, and in no inbox and no other platform.
COMMUNITY_ID = "console"
COMMUNITY_PLACE = Place(PLATFORM, COMMUNITY_ID, guild_id=COMMUNITY_ID)
VERBS = {"generate": "made", "remix": "remixed", "extend": "extended", "stitch": "stitched"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Everything is served from here; no inline script, so injected markup cannot run.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


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


def _sse(event: dict[str, Any]) -> bytes:
    lines = [f"event: {event['type']}"]
    if event["type"] == "message":
        # Only messages carry an id: a reconnecting EventSource sends it back as Last-Event-ID.
        lines.append(f"id: {event['message']['id']}")
    lines.append("data: " + json.dumps(event, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def _command_text(text: str, commands: Any = USAGE) -> str:
    """What the core should run for a line typed in a thread: a command as is, anything else as a prompt."""
    first = text.lstrip("/").split(maxsplit=1)[0].split("@")[0].lower() if text.strip() else ""
    if text.startswith("/") or first in commands or first in ALIASES:
        return text
    return f"sora {text}"


# The magic numbers of the containers a reference video may come in: MP4/MOV ("ftyp" box) and WebM/Matroska.
def _looks_like_video(head: bytes) -> bool:
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3"


def _tree_json(node: LineageNode, in_thread: set[str]) -> dict[str, Any]:
    return {
        "clip_id": node.clip_id,
        "kind": node.kind,
        "verb": VERBS.get(node.kind, node.kind),
        "prompt": node.prompt,
        "author": node.author,
        "created_at": node.created_at,
        "deleted": node.deleted,
        "in_thread": node.clip_id in in_thread,
        "children": [_tree_json(child, in_thread) for child in node.children],
    }


def _prom_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _counter_lines(name: str, help_text: str, label: str, counts: dict[str, int]) -> list[str]:
    """One Prometheus counter with one label, its values sorted by label."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    lines += [f'{name}{{{label}="{_prom_label(key)}"}} {count}' for key, count in sorted(counts.items())]
    return lines


class WebConsole:
    """The web console adapter: routes on the service's app, a delivery loop and an event listener."""

    def __init__(self, core: Sorabox, settings: Settings, cameos: Cameos | None = None) -> None:
        self.core = core
        self.settings = settings
        # The cameo service, when `sorabox serve` installed it (passed in, or left on the core as `core.cameos`).
        self.cameos: Cameos | None = cameos if cameos is not None else core.cameos
        self.web_settings = WebSettings.from_settings(settings)
        self.accounts = Accounts(core.db, core.now)
        self.threads = ConsoleThreads(core.db, core.now)
        self.hub = LiveHub()
        self._signer: Signer | None = None
        self._base_url = f"http://{settings.web_host}:{settings.web_port}"
        self._jobs: dict[str, dict[str, Any]] = {}
        self._progress_sent: dict[str, float] = {}
        self.deliveries = DeliveryWorker(
            core,
            PLATFORM,
            WebDelivery(self),
            backoff=Backoff(RETRY_SECONDS, RETRY_SECONDS),
            poll_seconds=DELIVERY_POLL_SECONDS,
            look_for_earlier="always",
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bots.web", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self._templates.filters["urlquote"] = lambda value: quote(str(value), safe="")

    # -- the interface `sorabox serve` uses -------------------------------------------------------

    def setup(self, app: web.Application) -> None:
        """Add every route of the console to the service's app."""
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/healthz", self.healthz)
        r.add_get("/metrics", self.metrics)
        r.add_get("/signin", self.signin_page)
        r.add_post("/signin", self.signin_password)
        r.add_get("/signin/link/{token}", self.link_page)
        r.add_post("/signin/link/{token}", self.link_signin)
        r.add_post("/signout", self.signout)
        r.add_get("/threads", self.threads_page)
        r.add_post("/threads", self.create_thread)
        r.add_get("/threads/{thread_id}", self.chat_page)
        r.add_get("/gallery", self.gallery_page)
        r.add_get("/quota", self.quota_page)
        r.add_get("/account", self.account_page)
        r.add_post("/account/password", self.set_password)
        r.add_get("/admin", self.admin_page)
        r.add_post("/admin/jobs/{job_id}/cancel", self.admin_cancel)
        r.add_post("/admin/quota", self.admin_quota)
        r.add_post("/admin/accounts", self.admin_invite)
        r.add_get("/cameos", self.cameos_page)
        r.add_post("/cameos", self.create_cameo)
        r.add_post("/cameos/clips/{clip_id}/delete", self.cameo_clip_delete)
        r.add_post("/cameos/{handle}/{action}", self.cameo_action)
        r.add_get("/media/{clip_id}", self.media)
        r.add_get("/api/threads/{thread_id}", self.api_thread)
        r.add_get("/api/threads/{thread_id}/events", self.api_events)
        r.add_get("/api/threads/{thread_id}/tree", self.api_tree)
        r.add_post("/api/threads/{thread_id}/messages", self.api_post_message)
        r.add_post("/api/threads/{thread_id}/clips/{clip_id}/{action}", self.api_clip_action)
        r.add_static("/static", str(_static_dir()), name="static", append_version=False)
        app.on_shutdown.append(self._on_shutdown)

    async def start(self) -> None:
        """Listen to the core's events and post this platform's deliveries."""
        self.hub.reopen()
        subscription = self.core.bus.subscribe()
        self._tasks = [asyncio.create_task(self._event_loop(subscription), name="web-events")]
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
        return self.base_url + self._media_path(clip_id, expires_in)

    # -- signing, sessions, CSRF ------------------------------------------------------------------

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(load_key(self.settings.data_dir / "secret.key"))
        return self._signer

    def _media_path(self, clip_id: str, expires_in: float = PAGE_MEDIA_SECONDS) -> str:
        expires = int(time.time() + expires_in)
        signature = self.signer.signature("media", f"{clip_id}:{expires}")
        return f"/media/{quote(clip_id, safe='')}?{urlencode({'exp': expires, 'sig': signature})}"

    async def _session(self, request: web.Request) -> Session | None:
        if SESSION_KEY not in request:
            session_id = self.signer.unseal("session", request.cookies.get(SESSION_COOKIE))
            request[SESSION_KEY] = await self.accounts.session(session_id) if session_id else None
        return request[SESSION_KEY]

    async def _require(self, request: web.Request, api: bool = False, admin: bool = False) -> Session:
        session = await self._session(request)
        if session is None:
            if api:
                raise web.HTTPUnauthorized(text="sign in first", headers=SECURITY_HEADERS)
            raise web.HTTPFound(f"/signin?{urlencode({'next': request.path_qs})}")
        if admin and not session.account.is_admin:
            raise web.HTTPForbidden(text="this page is for admins", headers=SECURITY_HEADERS)
        return session

    def _check_csrf(self, request: web.Request, expected: str, form: Any = None) -> None:
        """Every state-changing request carries the session's token (a header for fetch, a field for forms)."""
        given = request.headers.get("X-CSRF-Token") or (form.get("csrf") if form is not None else None)
        if not given or not isinstance(given, str) or not self.signer.verify("csrf", expected, given):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page", headers=SECURITY_HEADERS)

    def csrf_token(self, session: Session) -> str:
        # A signature of the stored token, so the token in pages differs from the one in the database.
        return self.signer.signature("csrf", session.csrf_token)

    def _set_session_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.seal("session", session.id),
            max_age=14 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=self.web_settings.secure_cookies,
            path="/",
        )
        response.del_cookie(PRESESSION_COOKIE, path="/")

    def _presession(self, request: web.Request, response_cookies: dict[str, str]) -> str:
        """A token for sign-in forms, before there is a session: the cookie and the form field must match."""
        value = self.signer.unseal("pre", request.cookies.get(PRESESSION_COOKIE))
        if value is None:
            value = secrets.token_urlsafe(24)
            response_cookies[PRESESSION_COOKIE] = self.signer.seal("pre", value)
        return value

    def _check_presession(self, request: web.Request, form: Any) -> None:
        value = self.signer.unseal("pre", request.cookies.get(PRESESSION_COOKIE))
        given = form.get("csrf")
        if value is None or not isinstance(given, str) or given != value:
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page", headers=SECURITY_HEADERS)

    # -- rendering --------------------------------------------------------------------------------

    def _render(
        self,
        template: str,
        session: Session | None,
        status: int = 200,
        cookies: dict[str, str] | None = None,
        **context: Any,
    ) -> web.Response:
        html = self._templates.get_template(template).render(
            me=session.account if session else None,
            csrf=self.csrf_token(session) if session else context.pop("csrf", ""),
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)
        for name, value in (cookies or {}).items():
            response.set_cookie(name, value, httponly=True, samesite="Lax", secure=self.web_settings.secure_cookies)
        return response

    def message_json(self, message: Message) -> dict[str, Any]:
        data = message.as_dict()
        if message.kind == "clip" and message.clip_id and not message.deleted:
            data["media_url"] = self._media_path(message.clip_id)
        return data

    # -- pages ------------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        raise web.HTTPFound("/threads" if session else "/signin")

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: the database answers, and whether the executor can generate (503 while it cannot)."""
        counts = await self.core.pending_delivery_counts()
        availability = self.core.executor.availability
        executor = {
            "kind": availability.kind,
            "reachable": availability.reachable,
            "since": availability.since.isoformat(timespec="seconds"),
            "workers": availability.workers,
            "reason": availability.reason,
        }
        # Jobs are still accepted while it cannot generate (they wait in the queue), but clips stop coming:
        # a monitor probing this must see it, not only the log.
        return web.json_response(
            {
                "ok": availability.up,
                "backend": self.core.executor.backend,
                "executor": executor,
                "deliveries_pending": counts,
            },
            status=200 if availability.up else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text format: queue depth, jobs by state, generation seconds, busy ratio, outbox, refusals."""
        now = self.core.now()
        capacity = self.core.executor.capacity
        availability = self.core.executor.availability
        snap = await self.core.db.read(lambda db: metrics.snapshot(db, now, capacity))
        kind = _prom_label(availability.kind)
        lines = [
            "# HELP sorabox_executor_up Whether the executor can generate now (1) or jobs wait for it (0).",
            "# TYPE sorabox_executor_up gauge",
            f'sorabox_executor_up{{kind="{kind}"}} {int(availability.up)}',
            "# HELP sorabox_executor_workers Jobs the executor can run at once right now.",
            "# TYPE sorabox_executor_workers gauge",
            f'sorabox_executor_workers{{kind="{kind}"}} {availability.workers}',
            "# HELP sorabox_queue_depth Jobs waiting to run.",
            "# TYPE sorabox_queue_depth gauge",
            f"sorabox_queue_depth {snap.queue_depth}",
            "# HELP sorabox_jobs Jobs by state.",
            "# TYPE sorabox_jobs gauge",
        ]
        for state in ("queued", "running", "encoding", "done", "failed", "cancelled"):
            lines.append(f'sorabox_jobs{{state="{state}"}} {snap.jobs_by_state.get(state, 0)}')
        lines += [
            "# HELP sorabox_generation_seconds Wall time of finished jobs, from start to clip.",
            "# TYPE sorabox_generation_seconds summary",
            f"sorabox_generation_seconds_sum {snap.generation_seconds_sum:.3f}",
            f"sorabox_generation_seconds_count {snap.generation_count}",
            "# HELP sorabox_gpu_busy_ratio Share of the last 5 minutes the generation workers were busy.",
            "# TYPE sorabox_gpu_busy_ratio gauge",
            f"sorabox_gpu_busy_ratio {snap.busy_ratio:.4f}",
            "# HELP sorabox_deliveries_pending Outbox rows waiting to be posted, by platform.",
            "# TYPE sorabox_deliveries_pending gauge",
        ]
        for platform, count in sorted({PLATFORM: 0, **snap.deliveries_pending}.items()):
            lines.append(f'sorabox_deliveries_pending{{platform="{_prom_label(platform)}"}} {count}')
        lines += _counter_lines(
            "sorabox_refusals_total",
            "Requests refused, by reason (policy, consent, quota, queue_full, too_many_jobs, ...).",
            "reason",
            snap.refusals,
        )
        lines += _counter_lines(
            "sorabox_policy_refusals_total",
            "Requests refused by the content policy, by its category.",
            "category",
            snap.policy_refusals,
        )
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")

    async def signin_page(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        if session is not None:
            raise web.HTTPFound("/threads")
        cookies: dict[str, str] = {}
        token = self._presession(request, cookies)
        return self._render(
            "signin.html", None, cookies=cookies, csrf=token, error="", next=request.query.get("next", "")
        )

    async def signin_password(self, request: web.Request) -> web.Response:
        form = await request.post()
        self._check_presession(request, form)
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        try:
            # The core counts wrong passwords per name in the database, so a restart does not reset them.
            account = await self.accounts.sign_in_with_password(name, password)
        except SigninLocked as exc:
            raise web.HTTPTooManyRequests(text=str(exc), headers=SECURITY_HEADERS) from None
        if account is None:
            cookies: dict[str, str] = {}
            token = self._presession(request, cookies)
            return self._render(
                "signin.html",
                None,
                status=401,
                cookies=cookies,
                csrf=token,
                error="that name and password do not match",
                next=str(form.get("next", "")),
            )
        return await self._signed_in(account, str(form.get("next", "")))

    async def _signed_in(self, account: Account, next_path: str) -> web.Response:
        session = await self.accounts.start_session(account)
        # Only a local path: a sign-in must not bounce the browser to another site.
        target = next_path if next_path.startswith("/") and not next_path.startswith("//") else "/threads"
        response = web.HTTPFound(target)
        self._set_session_cookie(response, session)
        raise response

    async def link_page(self, request: web.Request) -> web.Response:
        """Confirm before using the link: chat apps fetch links for previews, which must not spend it."""
        account = await self.accounts.peek_link_token(request.match_info["token"])
        cookies: dict[str, str] = {}
        token = self._presession(request, cookies)
        return self._render(
            "link.html", None, status=200 if account else 410, cookies=cookies, csrf=token, account=account
        )

    async def link_signin(self, request: web.Request) -> web.Response:
        form = await request.post()
        self._check_presession(request, form)
        account = await self.accounts.redeem_link_token(request.match_info["token"])
        if account is None:
            return self._render("link.html", None, status=410, csrf="", account=None)
        return await self._signed_in(account, "/threads")

    async def signout(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        self._check_csrf(request, session.csrf_token, await request.post())
        await self.accounts.end_session(session.id)
        response = web.HTTPFound("/signin")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def threads_page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        threads = await self.threads.all(session.account.id)
        if not any(t.owner_account_id is None for t in threads):
            # A newcomer lands in a thread, not in an empty list.
            thread = await self.threads.create("general", session.account.id)
            raise web.HTTPFound(f"/threads/{thread.id}")
        return self._render("threads.html", session, threads=threads)

    async def create_thread(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        thread = await self.threads.create(str(form.get("title", "")), session.account.id)
        raise web.HTTPFound(f"/threads/{thread.id}")

    async def chat_page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        thread = await self._thread(request, session)
        threads = await self.threads.all(session.account.id)
        return self._render("chat.html", session, thread=thread, threads=threads)

    async def gallery_page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        filters = {k: request.query.get(k, "").strip() for k in ("thread", "person", "cameo")}
        clips = await console_threads.recent_clips(
            self.core.db,
            thread_id=filters["thread"] or None,
            person=filters["person"] or None,
            cameo=filters["cameo"] or None,
            viewer=session.account.actor,
        )
        media = {clip.clip_id: self._media_path(clip.clip_id) for clip in clips}
        threads = await self.threads.all(session.account.id)
        return self._render(
            "gallery.html", session, clips=clips, media=media, filters=filters, threads=threads, verbs=VERBS
        )

    async def quota_page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        actor = session.account.actor
        quota = await self.core.quota_status(actor, COMMUNITY_PLACE)
        jobs = await self.core.jobs_of(actor, recent=10)
        cost = self.core.settings.quota.cost(5, 640, 360)
        return self._render("quota.html", session, quota=quota, jobs=jobs, cost=cost)

    async def account_page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        return self._render("account.html", session, notice="", error="")

    async def set_password(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        password = str(form.get("password", ""))
        if password != str(form.get("again", "")):
            return self._render("account.html", session, status=400, notice="", error="the two passwords differ")
        try:
            await self.accounts.set_password(session.account.id, password)
        except AccountError as exc:
            return self._render("account.html", session, status=400, notice="", error=str(exc))
        return self._render("account.html", session, notice="your password is set", error="")

    # -- admin ------------------------------------------------------------------------------------

    async def admin_page(self, request: web.Request, notice: str = "", link: str = "") -> web.Response:
        session = await self._require(request, admin=True)
        db = self.core.db
        queue = await self.core.queue_snapshot()
        pending = await self.core.pending_delivery_counts()
        overrides = await db.read(metrics.quota_overrides)
        refusals = await db.read(lambda d: metrics.audit_log(d, ("refusal",), 50))
        audit = await db.read(lambda d: metrics.audit_log(d, (), 100))
        accounts = await self.accounts.all()
        return self._render(
            "admin.html",
            session,
            queue=queue,
            pending=pending,
            overrides=overrides,
            refusals=refusals,
            audit=audit,
            accounts=accounts,
            notice=notice,
            link=link,
        )

    async def admin_cancel(self, request: web.Request) -> web.Response:
        session = await self._require(request, admin=True)
        self._check_csrf(request, session.csrf_token, await request.post())
        reply = await self.core.cancel(session.account.actor, Place(PLATFORM, "admin"), request.match_info["job_id"])
        return await self.admin_page(request, notice=reply.text)

    async def admin_quota(self, request: web.Request) -> web.Response:
        session = await self._require(request, admin=True)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        raw = str(form.get("daily_credits", "")).strip()
        try:
            credits = int(raw) if raw else None
        except ValueError:
            return await self.admin_page(request, notice=f"the daily allowance must be a whole number, got {raw!r}")
        reply = await self.core.set_quota_override(
            session.account.actor,
            str(form.get("platform", "")).strip() or "*",
            str(form.get("guild_id", "")).strip() or None,
            str(form.get("role", "")).strip() or None,
            credits,
        )
        return await self.admin_page(request, notice=reply.text)

    async def admin_invite(self, request: web.Request) -> web.Response:
        """Create an account (or find it) and show a one-time sign-in link to hand to that person."""
        session = await self._require(request, admin=True)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        try:
            link = await self.signin_link(str(form.get("name", "")), admin=form.get("admin") == "on")
        except AccountError as exc:
            return await self.admin_page(request, notice=str(exc))
        return await self.admin_page(request, notice="send this one-time link to that person", link=link)

    # -- cameos -----------------------------------------------------------------------------------

    @staticmethod
    def private_place(account: Account) -> Place:
        """The person's private inbox thread: where the core sends them notices (someone used their cameo)."""
        return Place(PLATFORM, account.id, is_private=True)

    @staticmethod
    def thread_place(thread: console_threads.Thread, reply_to: str | None = None) -> Place:
        """Where a line typed in `thread` is said: an inbox is a private chat, a shared thread is in the community."""
        if thread.owner_account_id is not None:
            return Place(PLATFORM, thread.id, reply_to=reply_to, is_private=True)
        return Place(PLATFORM, thread.id, guild_id=COMMUNITY_ID, reply_to=reply_to)

    async def cameos_page(self, request: web.Request, notice: str = "", ok: bool = True) -> web.Response:
        """The signed-in person's cameos: who may use each, the clips that show them, and the upload form."""
        session = await self._require(request)
        cameos: list[dict[str, Any]] = []
        if self.cameos is not None:
            actor, place = session.account.actor, self.private_place(session.account)
            listed = await self.cameos.list_cameos(actor, place)
            for handle in listed.data.get("handles", []):
                described = await self.cameos.describe(actor, place, handle)
                clips = (await self.cameos.clips(actor, place, handle)).data.get("clips", [])
                for clip in clips:
                    clip["media_url"] = self._media_path(clip["clip_id"])
                cameos.append({"handle": handle, "settings": described.text, "clips": clips})
        return self._render(
            "cameos.html",
            session,
            status=200 if ok else 400,
            enabled=self.cameos is not None,
            cameos=cameos,
            notice=notice,
            ok=ok,
            max_mb=self.web_settings.max_upload_bytes // (1024 * 1024),
        )

    async def create_cameo(self, request: web.Request) -> web.Response:
        """A reference video upload: size-limited while it streams in, and refused unless it is MP4 or WebM."""
        session = await self._require(request)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        limit = self.web_settings.max_upload_bytes
        # Room for the form's other fields on top of the video itself.
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            raise web.HTTPRequestEntityTooLarge(limit, request.content_length, headers=SECURITY_HEADERS)
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError):
            raise web.HTTPBadRequest(text="send the form as multipart/form-data") from None
        fields: dict[str, str] = {}
        video: bytes | None = None
        first = True
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise web.HTTPBadRequest(text="nested multipart is not accepted")
            name = part.name
            if first:
                # The token comes first, so nobody without it makes the server read a large body.
                first = False
                token = (await part.text()) if name == "csrf" else ""
                self._check_csrf(request, session.csrf_token, {"csrf": token})
                continue
            if name == "video":
                content_type = part.headers.get("Content-Type", "")
                if not content_type.startswith("video/"):
                    raise web.HTTPUnsupportedMediaType(text="the reference must be a video (MP4 or WebM)")
                chunks, size = [], 0
                while chunk := await part.read_chunk(256 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise web.HTTPRequestEntityTooLarge(limit, size, headers=SECURITY_HEADERS)
                    chunks.append(chunk)
                video = b"".join(chunks)
                if not _looks_like_video(video[:16]):
                    raise web.HTTPUnsupportedMediaType(text="that file is not an MP4 or WebM video")
            elif name in ("handle", "display_name"):
                fields[name] = (await part.text())[:200]
        if first:
            self._check_csrf(request, session.csrf_token, {})
        if not video:
            return await self.cameos_page(request, notice="choose a video of yourself to upload", ok=False)
        reply = await self.cameos.create(
            session.account.actor,
            self.private_place(session.account),
            fields.get("handle", ""),
            video,
            fields.get("display_name") or None,
        )
        return await self.cameos_page(request, notice=reply.text, ok=reply.ok)

    async def cameo_action(self, request: web.Request) -> web.Response:
        """Who may use a cameo (me / approved / community / everyone, allow and deny a person), revoke, delete."""
        session = await self._require(request)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        actor, handle, action = session.account.actor, request.match_info["handle"], request.match_info["action"]
        place = self.private_place(session.account)
        who = str(form.get("who", "")).strip()
        if action == "who":
            level = str(form.get("level", ""))
            # The page is not said in any thread: "community" means the console's own, its shared threads.
            where = COMMUNITY_PLACE if level == "community" else place
            reply = await self.cameos.set_visibility(actor, where, level, handle)
        elif action == "allow" and who:
            reply = await self.cameos.allow(actor, place, who, handle)
        elif action == "deny" and who:
            reply = await self.cameos.deny(actor, place, who, handle)
        elif action == "revoke":
            reply = await self.cameos.revoke(actor, place, handle)
        elif action == "delete":
            reply = await self.cameos.delete_cameo(actor, place, handle)
        else:
            raise web.HTTPBadRequest(text=f"no such cameo action {action!r}")
        return await self.cameos_page(request, notice=reply.text, ok=reply.ok)

    async def cameo_clip_delete(self, request: web.Request) -> web.Response:
        """A cameo's owner deletes a clip that shows them, whoever made it."""
        session = await self._require(request)
        form = await request.post()
        self._check_csrf(request, session.csrf_token, form)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        place = self.private_place(session.account)
        reply = await self.cameos.delete_clip(session.account.actor, place, request.match_info["clip_id"])
        return await self.cameos_page(request, notice=reply.text, ok=reply.ok)

    # -- media ------------------------------------------------------------------------------------

    async def media(self, request: web.Request) -> web.StreamResponse:
        """A clip's MP4 for a signed, unexpired link (range requests work, so video can seek)."""
        clip_id = request.match_info["clip_id"]
        expires, signature = request.query.get("exp", ""), request.query.get("sig", "")
        if not expires.isdigit() or not self.signer.verify("media", f"{clip_id}:{expires}", signature):
            raise web.HTTPForbidden(text="this media link is not valid", headers=SECURITY_HEADERS)
        if int(expires) < time.time():
            raise web.HTTPForbidden(text="this media link has expired", headers=SECURITY_HEADERS)
        try:
            clip = await self.core.clip(clip_id)
        except UnknownClip:
            raise web.HTTPNotFound(text="this clip was deleted", headers=SECURITY_HEADERS) from None
        path = self.core.media_path(clip)
        if not path.exists():
            raise web.HTTPNotFound(text="this clip's file is gone", headers=SECURITY_HEADERS)
        return web.FileResponse(
            path,
            headers={
                "Content-Type": "video/mp4",
                "Cache-Control": "private, max-age=3600",
                "Content-Disposition": f'inline; filename="{clip_id}.mp4"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    # -- the chat API -----------------------------------------------------------------------------

    async def _thread(self, request: web.Request, session: Session) -> console_threads.Thread:
        try:
            thread = await self.threads.get(request.match_info["thread_id"])
        except UnknownThread:
            thread = None
        # Someone else's inbox is answered like a thread that does not exist.
        if thread is None or not thread.visible_to(session.account.id):
            raise web.HTTPNotFound(text="there is no such thread", headers=SECURITY_HEADERS)
        return thread

    async def api_thread(self, request: web.Request) -> web.Response:
        """A thread's recent messages and its unfinished jobs, for a page that just opened."""
        session = await self._require(request, api=True)
        thread = await self._thread(request, session)
        messages = await self.threads.messages(thread.id)
        jobs = []
        for job in await self.threads.active_jobs(thread.id):
            status = self._jobs.get(job.job_id, {"type": "job", "job_id": job.job_id, "state": job.state})
            jobs.append({**status, "prompt": job.prompt, "requester": job.requester, "kind": job.kind})
        return web.json_response(
            {
                "thread": {"id": thread.id, "title": thread.title},
                "messages": [self.message_json(m) for m in messages],
                "jobs": jobs,
            }
        )

    async def api_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events for one thread: new messages, job progress, deleted clips."""
        session = await self._require(request, api=True)
        thread = await self._thread(request, session)
        raw_after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        after = int(raw_after) if raw_after.isdigit() else 0
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # Join before reading the backlog: a message posted in between arrives twice, never not at all.
        queue = self.hub.join(thread.id)
        try:
            await response.write(b"retry: 1000\n\n")
            for message in await self.threads.messages(thread.id, after=after):
                await response.write(_sse({"type": "message", "message": self.message_json(message)}))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                await response.write(_sse(event))
        except ConnectionResetError:
            pass  # the browser went away; EventSource reconnects with Last-Event-ID when it comes back
        finally:
            self.hub.leave(thread.id, queue)
        return response

    async def api_tree(self, request: web.Request) -> web.Response:
        """The remix trees of the clips posted in this thread: which clip came from which, by whom."""
        session = await self._require(request, api=True)
        thread = await self._thread(request, session)
        clip_ids = await self.threads.clip_ids(thread.id)
        in_thread = set(clip_ids)
        trees: list[dict[str, Any]] = []
        covered: set[str] = set()
        for clip_id in clip_ids[-100:]:
            if clip_id in covered:
                continue
            try:
                tree = await self.core.lineage(clip_id)
            except UnknownClip:
                continue
            covered.update(node.clip_id for _, node in tree.walk())
            if all(t["clip_id"] != tree.clip_id for t in trees):
                trees.append(_tree_json(tree, in_thread))
        return web.json_response({"trees": trees})

    async def _read_json(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_JSON_BYTES, request.content_length)
        body = await request.content.read(MAX_JSON_BYTES + 1)
        if len(body) > MAX_JSON_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_JSON_BYTES, len(body))
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return data

    async def api_post_message(self, request: web.Request) -> web.Response:
        """A line typed in a thread: shown to everyone, then run as a command (a reply to a clip remixes it)."""
        session = await self._require(request, api=True)
        self._check_csrf(request, session.csrf_token)
        thread = await self._thread(request, session)
        data = await self._read_json(request)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise web.HTTPBadRequest(text="type something first")
        if len(text) > MAX_MESSAGE_CHARS:
            raise web.HTTPBadRequest(text=f"a message has at most {MAX_MESSAGE_CHARS} characters")
        reply_to = data.get("reply_to")
        clip_id: str | None = None
        if reply_to is not None:
            if not isinstance(reply_to, int):
                raise web.HTTPBadRequest(text="reply_to must be a message id")
            clip_id = await self.core.clip_for_post(PLATFORM, thread.id, str(reply_to))
            if clip_id is None:
                raise web.HTTPBadRequest(text="you can reply only to a clip in this thread")
        text = text.strip()
        command = f"remix {clip_id} {text}" if clip_id else _command_text(text, getattr(self.core, "parsers", USAGE))
        result = await self._say(session.account, thread, text, command, reply_to)
        return web.json_response(result)

    async def api_clip_action(self, request: web.Request) -> web.Response:
        """The buttons under a clip: remix (with a prompt), extend, reroll, delete, tree."""
        session = await self._require(request, api=True)
        self._check_csrf(request, session.csrf_token)
        thread = await self._thread(request, session)
        clip_id, action = request.match_info["clip_id"], request.match_info["action"]
        data = await self._read_json(request)
        prompt = str(data.get("prompt", "")).strip()
        if action == "remix":
            if not prompt:
                raise web.HTTPBadRequest(text="a remix needs a prompt")
            command = f"remix {clip_id} {prompt}"
        elif action == "extend":
            command = f"extend {clip_id} {prompt}".strip()
        elif action in ("reroll", "delete", "tree"):
            command = f"{action} {clip_id}"
        else:
            raise web.HTTPNotFound(text=f"no such action {action!r}")
        return web.json_response(await self._say(session.account, thread, f"/{command}", command, None))

    async def _say(
        self, account: Account, thread: console_threads.Thread, shown: str, command: str, reply_to: int | None
    ) -> dict[str, Any]:
        thread_id = thread.id
        mine = await self.threads.post(
            thread_id, "text", shown, author=account.name, account_id=account.id, reply_to=reply_to
        )
        self.hub.publish(thread_id, {"type": "message", "message": self.message_json(mine)})
        # An inbox is a private chat: the core treats it like a DM (cameo creation, private clips).
        place = self.thread_place(thread, reply_to=str(mine.id))
        reply = await self.core.handle_text(account.actor, place, command)
        answer = await self.threads.post(
            thread_id, "reply", reply.text, author=SERVICE_NAME, ok=reply.ok, job_id=reply.job_id, reply_to=mine.id
        )
        self.hub.publish(thread_id, {"type": "message", "message": self.message_json(answer)})
        if reply.job_id and reply.job_id not in self._jobs:
            self._job_status(
                reply.job_id, thread_id, state="queued", position=reply.position, eta=reply.estimate_seconds
            )
        return {"ok": reply.ok, "text": reply.text, "job_id": reply.job_id, "message_id": mine.id}

    # -- events and deliveries --------------------------------------------------------------------

    def _job_status(self, job_id: str, thread_id: str, **fields: Any) -> None:
        status = {**self._jobs.get(job_id, {"type": "job", "job_id": job_id}), **fields}
        if status.get("state") in ("done", "failed", "cancelled"):
            self._jobs.pop(job_id, None)
            self._progress_sent.pop(job_id, None)
        else:
            self._jobs[job_id] = status
        self.hub.publish(thread_id, status)

    async def _event_loop(self, subscription: Any) -> None:
        try:
            async for event in subscription:
                try:
                    await self._on_event(event)
                except Exception:
                    log.exception("the web console could not handle %r", event)
        finally:
            subscription.close()

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, DeliveriesPending):
            if event.platform == PLATFORM:
                self.deliveries.wake()
            return
        if isinstance(event, ClipDeleted):
            for thread_id in await self.threads.mark_clip_deleted(event.clip_id):
                self.hub.publish(thread_id, {"type": "clip_deleted", "clip_id": event.clip_id})
            return
        if not isinstance(event, JobEvent) or event.place.platform != PLATFORM:
            return
        thread_id = event.place.channel_id
        if isinstance(event, JobQueued):
            self._job_status(
                event.job_id, thread_id, state="queued", position=event.position, eta=event.estimate_seconds
            )
        elif isinstance(event, JobStarted):
            self._job_status(event.job_id, thread_id, state="running", step=0, total=0, eta=event.estimate_seconds)
        elif isinstance(event, JobProgress):
            now = time.monotonic()
            last = self._progress_sent.get(event.job_id, 0.0)
            final = event.stage == "encoding" or event.step >= event.total
            if final or now - last >= PROGRESS_INTERVAL:
                self._progress_sent[event.job_id] = now
                state = "encoding" if event.stage == "encoding" else "running"
                self._job_status(
                    event.job_id,
                    thread_id,
                    state=state,
                    step=event.step,
                    total=event.total,
                    stage=event.stage,
                    eta=event.eta_seconds,
                )
        elif isinstance(event, JobDone):
            self._job_status(event.job_id, thread_id, state="done", clip_id=event.clip_id)
        elif isinstance(event, JobFailed | JobCancelled):
            state = "failed" if isinstance(event, JobFailed) else "cancelled"
            self._job_status(event.job_id, thread_id, state=state, reason=event.reason)
            with contextlib.suppress(UnknownThread):
                notice = await self.threads.post(
                    thread_id,
                    "notice",
                    f"job `{event.job_id}` {state}: {event.reason}",
                    author=SERVICE_NAME,
                    ok=False,
                    job_id=event.job_id,
                )
                self.hub.publish(thread_id, {"type": "message", "message": self.message_json(notice)})

    async def deliver_pending(self) -> int:
        """Post every due web delivery into its thread now; returns how many were posted."""
        return await self.deliveries.deliver_pending()


def _static_dir() -> Path:
    return Path(__file__).parent / "static"


async def admin_link(core: Sorabox, settings: Settings, name: str) -> str:
    """`sorabox admin link <name>`: make `name` an admin account (created if needed) and return a one-time URL."""
    accounts = Accounts(core.db, core.now)
    account = await accounts.ensure(name, is_admin=True)
    token = await accounts.issue_link_token(account.id, timedelta(hours=24))
    base = settings.public_url.rstrip("/") or f"http://{settings.web_host}:{settings.web_port}"
    return f"{base}/signin/link/{token}"
