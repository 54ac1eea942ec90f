"""The chat API the console's pages call: a thread's messages and jobs, its remix trees, a line typed, a clip's
buttons. Every line goes through the same core commands as Discord and Telegram."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bots.web.delivery import SERVICE_NAME
from bots.web.places import thread_place
from bots.web.security import SECURITY_HEADERS
from core.commands import ALIASES, USAGE
from core.console.threads import Thread, UnknownThread
from core.errors import UnknownClip
from core.people.accounts import PLATFORM, Account, Session
from core.records import LineageNode

if TYPE_CHECKING:
    from bots.web.console import WebConsole

MAX_MESSAGE_CHARS = 2000
MAX_JSON_BYTES = 16 * 1024
VERBS = {"generate": "made", "remix": "remixed", "extend": "extended", "stitch": "stitched"}


def _command_text(text: str, commands: Any = USAGE) -> str:
    """What the core should run for a line typed in a thread: a command as is, anything else as a prompt."""
    first = text.lstrip("/").split(maxsplit=1)[0].split("@")[0].lower() if text.strip() else ""
    if text.startswith("/") or first in commands or first in ALIASES:
        return text
    return f"sora {text}"


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


class ChatApi:
    """The JSON routes under /api/threads/{thread_id}."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.core = console.core
        self.auth = console.auth
        self.threads = console.threads
        self.hub = console.hub

    async def thread(self, request: web.Request, session: Session) -> Thread:
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
        session = await self.auth.require(request, api=True)
        thread = await self.thread(request, session)
        messages = await self.threads.messages(thread.id)
        jobs = []
        for job in await self.threads.active_jobs(thread.id):
            status = self.console.live.statuses.get(job.job_id) or {
                "type": "job",
                "job_id": job.job_id,
                "state": job.state,
            }
            jobs.append({**status, "prompt": job.prompt, "requester": job.requester, "kind": job.kind})
        return web.json_response(
            {
                "thread": {"id": thread.id, "title": thread.title},
                "messages": [self.console.message_json(m) for m in messages],
                "jobs": jobs,
            }
        )

    async def api_tree(self, request: web.Request) -> web.Response:
        """The remix trees of the clips posted in this thread: which clip came from which, by whom."""
        session = await self.auth.require(request, api=True)
        thread = await self.thread(request, session)
        clip_ids = await self.threads.clip_ids(thread.id)
        in_thread = set(clip_ids)
        trees: list[dict[str, Any]] = []
        covered: set[str] = set()
        for clip_id in clip_ids[-100:]:
            if clip_id in covered:
                continue
            try:
                tree = await self.core.lineage(clip_id, session.account.actor)
            except UnknownClip:
                continue
            covered.update(node.clip_id for _, node in tree.walk())
            if all(t["clip_id"] != tree.clip_id for t in trees):
                trees.append(_tree_json(tree, in_thread))
        return web.json_response({"trees": trees})

    async def read_json(self, request: web.Request) -> dict[str, Any]:
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
        session = await self.auth.require(request, api=True)
        self.auth.check_csrf(request, session.csrf_token)
        thread = await self.thread(request, session)
        data = await self.read_json(request)
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
        result = await self.say(session.account, thread, text, command, reply_to)
        return web.json_response(result)

    async def api_clip_action(self, request: web.Request) -> web.Response:
        """The buttons under a clip: remix (with a prompt), extend, reroll, delete, tree."""
        session = await self.auth.require(request, api=True)
        self.auth.check_csrf(request, session.csrf_token)
        thread = await self.thread(request, session)
        clip_id, action = request.match_info["clip_id"], request.match_info["action"]
        data = await self.read_json(request)
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
        return web.json_response(await self.say(session.account, thread, f"/{command}", command, None))

    async def say(
        self, account: Account, thread: Thread, shown: str, command: str, reply_to: int | None
    ) -> dict[str, Any]:
        thread_id = thread.id
        mine = await self.threads.post(
            thread_id, "text", shown, author=account.name, account_id=account.id, reply_to=reply_to
        )
        self.hub.publish(thread_id, {"type": "message", "message": self.console.message_json(mine)})
        # An inbox is a private chat: the core treats it like a DM (cameo creation, private clips).
        place = thread_place(thread, reply_to=str(mine.id))
        reply = await self.core.handle_text(account.actor, place, command)
        answer = await self.threads.post(
            thread_id, "reply", reply.text, author=SERVICE_NAME, ok=reply.ok, job_id=reply.job_id, reply_to=mine.id
        )
        self.hub.publish(thread_id, {"type": "message", "message": self.console.message_json(answer)})
        if reply.job_id and self.console.live.statuses.get(reply.job_id) is None:
            self.console.live.job_status(
                reply.job_id, thread_id, state="queued", position=reply.position, eta=reply.estimate_seconds
            )
        return {"ok": reply.ok, "text": reply.text, "job_id": reply.job_id, "message_id": mine.id}
