"""Chat threads of the web console and the messages posted in them.

A web thread is a Place(platform="web", channel_id=<thread id>). People's messages, the service's
replies and delivered clips are rows here; the web adapter pushes each new row to the browsers
watching the thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from core.errors import SoraboxError
from core.identity import Actor
from core.records import ACTIVE_STATES, iso, new_id
from storage import web_threads
from storage.database import Database

MAX_TITLE = 80


class UnknownThread(SoraboxError):
    """No web thread has that id."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"there is no thread `{thread_id}`")
        self.thread_id = thread_id


@dataclass(frozen=True)
class Thread:
    id: str
    title: str
    created_by: str | None
    created_at: str
    messages: int = 0
    last_at: str | None = None
    owner_account_id: str | None = None  # set: a private inbox only that account sees

    def visible_to(self, account_id: str) -> bool:
        return self.owner_account_id is None or self.owner_account_id == account_id

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Thread:
        return cls(
            row["id"],
            row["title"],
            row["created_by"],
            row["created_at"],
            row.get("n") or 0,
            row.get("last_at"),
            row.get("owner_account_id"),
        )


@dataclass(frozen=True)
class Message:
    id: int
    thread_id: str
    kind: str  # text | reply | clip | notice
    author: str
    text: str
    created_at: str
    account_id: str | None = None
    ok: bool = True
    job_id: str | None = None
    clip_id: str | None = None
    reply_to: int | None = None
    payload: dict[str, Any] | None = None
    deleted: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        return cls(
            id=row["id"],
            thread_id=row["thread_id"],
            kind=row["kind"],
            author=row["author"] or "",
            text=row["text"] or "",
            created_at=row["created_at"],
            account_id=row["account_id"],
            ok=bool(row["ok"]),
            job_id=row["job_id"],
            clip_id=row["clip_id"],
            reply_to=row["reply_to"],
            payload=json.loads(row["payload"]) if row["payload"] else None,
            deleted=bool(row["deleted_at"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ActiveJob:
    """A job requested in a thread that has not finished yet (to show on a fresh page load)."""

    job_id: str
    kind: str
    prompt: str
    state: str
    requester: str


def _thread(db: sqlite_utils.Database, thread_id: str) -> Thread | None:
    row = web_threads.thread(db, thread_id)
    return None if row is None else Thread.from_row(row)


class ConsoleThreads:
    """Threads and their message history."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock

    async def create(self, title: str, created_by: str | None) -> Thread:
        title = " ".join(title.split())[:MAX_TITLE] or "a new thread"
        thread = Thread(new_id(), title, created_by, iso(self.clock()))
        await self.db.write(
            lambda db: web_threads.add_thread(
                db,
                {"id": thread.id, "title": thread.title, "created_by": created_by, "created_at": thread.created_at},
            )
        )
        return thread

    async def get(self, thread_id: str) -> Thread:
        thread = await self.db.read(lambda db: _thread(db, thread_id))
        if thread is None:
            raise UnknownThread(thread_id)
        return thread

    async def all(self, viewer: str | None = None, limit: int = 100) -> list[Thread]:
        """Shared threads, and the viewer's own inbox when it has one; the most recently active first."""

        def load(db: sqlite_utils.Database) -> list[Thread]:
            return [Thread.from_row(r) for r in web_threads.threads_visible_to(db, viewer, limit)]

        return await self.db.read(load)

    async def inbox(self, account_id: str) -> Thread | None:
        """The account's private thread (created on first use), or None when there is no such account."""
        now = iso(self.clock())

        def apply(db: sqlite_utils.Database) -> Thread | None:
            existing = _thread(db, account_id)
            if existing is not None:
                return existing if existing.owner_account_id == account_id else None
            if not web_threads.account_exists(db, account_id):
                return None
            web_threads.add_thread(
                db,
                {
                    "id": account_id,
                    "title": "your notices",
                    "created_by": account_id,
                    "created_at": now,
                    "owner_account_id": account_id,
                },
            )
            return _thread(db, account_id)

        return await self.db.write(apply)

    async def post(
        self,
        thread_id: str,
        kind: str,
        text: str,
        *,
        author: str,
        account_id: str | None = None,
        ok: bool = True,
        job_id: str | None = None,
        clip_id: str | None = None,
        reply_to: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Message:
        """Append a message to a thread; raises UnknownThread."""
        row = {
            "thread_id": thread_id,
            "kind": kind,
            "account_id": account_id,
            "author": author,
            "text": text,
            "ok": int(ok),
            "job_id": job_id,
            "clip_id": clip_id,
            "reply_to": reply_to,
            "payload": json.dumps(payload) if payload is not None else None,
            "created_at": iso(self.clock()),
        }

        def apply(db: sqlite_utils.Database) -> Message:
            if _thread(db, thread_id) is None:
                raise UnknownThread(thread_id)
            return Message.from_row(web_threads.add_message(db, row))

        return await self.db.write(apply)

    async def messages(self, thread_id: str, after: int = 0, limit: int = 200) -> list[Message]:
        """Messages after id `after`, oldest first (the newest `limit` when there are more)."""

        def load(db: sqlite_utils.Database) -> list[Message]:
            return [Message.from_row(r) for r in web_threads.messages_after(db, thread_id, after, limit)]

        return await self.db.read(load)

    async def message(self, message_id: int) -> Message | None:
        row = await self.db.read(lambda db: web_threads.message(db, message_id))
        return None if row is None else Message.from_row(row)

    async def clip_message(self, clip_id: str) -> Message | None:
        """The message a clip was delivered as (the first, if it was posted twice)."""
        row = await self.db.read(lambda db: web_threads.first_clip_message(db, clip_id))
        return None if row is None else Message.from_row(row)

    async def clip_ids(self, thread_id: str) -> list[str]:
        """Clips delivered into a thread that are not deleted, oldest first."""
        return await self.db.read(lambda db: web_threads.live_clip_ids(db, thread_id))

    async def mark_clip_deleted(self, clip_id: str) -> list[str]:
        """A clip was deleted: mark its messages, and return the threads that showed it."""
        now = iso(self.clock())

        return await self.db.write(lambda db: web_threads.mark_clip_deleted(db, clip_id, now))

    async def active_jobs(self, thread_id: str) -> list[ActiveJob]:
        """Jobs requested in this thread that are still queued or running."""

        def load(db: sqlite_utils.Database) -> list[ActiveJob]:
            rows = web_threads.jobs_asked_in(db, thread_id, ACTIVE_STATES)
            return [ActiveJob(r["id"], r["kind"], r["prompt"] or "", r["state"], r["requester"] or "") for r in rows]

        return await self.db.read(load)


@dataclass(frozen=True)
class GalleryClip:
    clip_id: str
    kind: str
    prompt: str
    author: str
    parent_clip_id: str | None
    created_at: str
    seconds: float
    width: int
    height: int
    thread_id: str | None
    cameos: tuple[str, ...] = ()


async def recent_clips(
    db: Database,
    *,
    thread_id: str | None = None,
    person: str | None = None,
    cameo: str | None = None,
    viewer: Actor | None = None,
    limit: int = 60,
) -> list[GalleryClip]:
    """Recent clips that are not deleted, newest first; filters by web thread, author name, cameo handle.

    Clips made in a private chat (a Telegram DM, a web inbox) are shown only to the person who made them.
    """

    def load(db: sqlite_utils.Database) -> list[GalleryClip]:
        rows = web_threads.gallery(
            db,
            viewer_platform=viewer.platform if viewer else "",
            viewer_account=viewer.user_id if viewer else "",
            thread_id=thread_id or None,
            person=person.strip() if person else None,
            cameo=cameo.strip().lstrip("@").lower() if cameo else None,
            limit=limit,
        )
        return [
            GalleryClip(
                r["id"],
                r["kind"],
                r["prompt"] or "",
                r["author"],
                r["parent_clip_id"],
                r["created_at"],
                r["seconds"],
                r["width"],
                r["height"],
                r["thread_id"],
                tuple(json.loads(r["params"] or "{}").get("cameos", []) or ()),
            )
            for r in rows
        ]

    return await db.read(load)
