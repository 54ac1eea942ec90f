"""The console's HTML pages: threads, the gallery, quota and account pages, the admin page, cameos, and media."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bots.web.api import VERBS
from bots.web.places import COMMUNITY_PLACE, private_place
from bots.web.security import SECURITY_HEADERS
from core.errors import UnknownClip
from core.identity import Place
from core.people.accounts import PLATFORM, AccountError

if TYPE_CHECKING:
    from bots.web.console import WebConsole


# The magic numbers of the containers a reference video may come in: MP4/MOV ("ftyp" box) and WebM/Matroska.
def _looks_like_video(head: bytes) -> bool:
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3"


class Pages:
    """The routes that answer with a page (or a redirect to one), and the media route."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.core = console.core
        self.auth = console.auth
        self.threads = console.threads
        self.accounts = console.accounts
        self.cameos = console.cameos

    async def index(self, request: web.Request) -> web.Response:
        session = await self.auth.session(request)
        raise web.HTTPFound("/threads" if session else "/signin")

    async def threads_page(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        threads = await self.threads.all(session.account.id)
        if not any(t.owner_account_id is None for t in threads):
            # A newcomer lands in a thread, not in an empty list.
            thread = await self.threads.create("general", session.account.id)
            raise web.HTTPFound(f"/threads/{thread.id}")
        return self.console.render("threads.html", session, threads=threads)

    async def create_thread(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
        thread = await self.threads.create(str(form.get("title", "")), session.account.id)
        raise web.HTTPFound(f"/threads/{thread.id}")

    async def chat_page(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        thread = await self.console.api.thread(request, session)
        threads = await self.threads.all(session.account.id)
        return self.console.render("chat.html", session, thread=thread, threads=threads)

    async def gallery_page(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        filters = {k: request.query.get(k, "").strip() for k in ("thread", "person", "cameo")}
        clips = await self.console.queries.recent_clips(
            thread_id=filters["thread"] or None,
            person=filters["person"] or None,
            cameo=filters["cameo"] or None,
            viewer=session.account.actor,
        )
        media = {clip.clip_id: self.console.media_path(clip.clip_id) for clip in clips}
        threads = await self.threads.all(session.account.id)
        return self.console.render(
            "gallery.html", session, clips=clips, media=media, filters=filters, threads=threads, verbs=VERBS
        )

    async def quota_page(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        actor = session.account.actor
        quota = await self.core.quota_status(actor, COMMUNITY_PLACE)
        jobs = await self.core.jobs_of(actor, recent=10)
        cost = self.core.settings.quota.cost(5, 640, 360)
        return self.console.render("quota.html", session, quota=quota, jobs=jobs, cost=cost)

    async def account_page(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        return self.console.render("account.html", session, notice="", error="")

    async def set_password(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
        password = str(form.get("password", ""))
        if password != str(form.get("again", "")):
            return self.console.render("account.html", session, status=400, notice="", error="the two passwords differ")
        try:
            await self.accounts.set_password(
                session.account.id,
                password,
                current=str(form.get("current", "")),
                keep_session=session.id,
            )
        except AccountError as exc:
            return self.console.render("account.html", session, status=400, notice="", error=str(exc))
        notice = "your password is set; you are signed out everywhere else"
        return self.console.render("account.html", session, notice=notice, error="")

    async def admin_page(self, request: web.Request, notice: str = "", link: str = "") -> web.Response:
        session = await self.auth.require(request, admin=True)
        queries = self.console.queries
        queue = await self.core.queue_snapshot()
        pending = await self.core.pending_delivery_counts()
        overrides = await queries.quota_overrides()
        refusals = await queries.audit_log(("refusal",), 50)
        audit = await queries.audit_log((), 100)
        accounts = await self.accounts.all()
        return self.console.render(
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
        session = await self.auth.require(request, admin=True)
        self.auth.check_csrf(request, session.csrf_token, await request.post())
        reply = await self.core.cancel(session.account.actor, Place(PLATFORM, "admin"), request.match_info["job_id"])
        return await self.admin_page(request, notice=reply.text)

    async def admin_quota(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request, admin=True)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
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
        session = await self.auth.require(request, admin=True)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
        try:
            link = await self.console.signin_link(str(form.get("name", "")), admin=form.get("admin") == "on")
        except AccountError as exc:
            return await self.admin_page(request, notice=str(exc))
        return await self.admin_page(request, notice="send this one-time link to that person", link=link)

    async def cameos_page(self, request: web.Request, notice: str = "", ok: bool = True) -> web.Response:
        """The signed-in person's cameos: who may use each, the clips that show them, and the upload form."""
        session = await self.auth.require(request)
        cameos: list[dict[str, Any]] = []
        if self.cameos is not None:
            actor, place = session.account.actor, private_place(session.account)
            listed = await self.cameos.list_cameos(actor, place)
            for handle in listed.data.get("handles", []):
                described = await self.cameos.describe(actor, place, handle)
                clips = (await self.cameos.clips(actor, place, handle)).data.get("clips", [])
                for clip in clips:
                    clip["media_url"] = self.console.media_path(clip["clip_id"])
                cameos.append({"handle": handle, "settings": described.text, "clips": clips})
        return self.console.render(
            "cameos.html",
            session,
            status=200 if ok else 400,
            enabled=self.cameos is not None,
            cameos=cameos,
            notice=notice,
            ok=ok,
            max_mb=self.console.web_settings.max_upload_bytes // (1024 * 1024),
        )

    async def create_cameo(self, request: web.Request) -> web.Response:
        """A reference video upload: size-limited while it streams in, and refused unless it is MP4 or WebM."""
        session = await self.auth.require(request)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        limit = self.console.web_settings.max_upload_bytes
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
                self.auth.check_csrf(request, session.csrf_token, {"csrf": token})
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
            self.auth.check_csrf(request, session.csrf_token, {})
        if not video:
            return await self.cameos_page(request, notice="choose a video of yourself to upload", ok=False)
        reply = await self.cameos.create(
            session.account.actor,
            private_place(session.account),
            fields.get("handle", ""),
            video,
            fields.get("display_name") or None,
        )
        return await self.cameos_page(request, notice=reply.text, ok=reply.ok)

    async def cameo_action(self, request: web.Request) -> web.Response:
        """Who may use a cameo (me / approved / community / everyone, allow and deny a person), revoke, delete."""
        session = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        actor, handle, action = session.account.actor, request.match_info["handle"], request.match_info["action"]
        place = private_place(session.account)
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
        session = await self.auth.require(request)
        form = await request.post()
        self.auth.check_csrf(request, session.csrf_token, form)
        if self.cameos is None:
            raise web.HTTPNotFound(text="cameos are not enabled on this service", headers=SECURITY_HEADERS)
        place = private_place(session.account)
        reply = await self.cameos.delete_clip(session.account.actor, place, request.match_info["clip_id"])
        return await self.cameos_page(request, notice=reply.text, ok=reply.ok)

    async def media(self, request: web.Request) -> web.StreamResponse:
        """A clip's MP4 for a signed, unexpired link (range requests work, so video can seek)."""
        clip_id = request.match_info["clip_id"]
        expires, signature = request.query.get("exp", ""), request.query.get("sig", "")
        if not expires.isdigit() or not self.console.signer.verify("media", f"{clip_id}:{expires}", signature):
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
