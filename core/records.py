"""Typed views of the rows the core reads: jobs, clips, deliveries, lineage."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.events import PostRef
from core.identity import Actor, Place

# No 0/o, 1/l/i: ids are typed by people.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ACTIVE_STATES = ("queued", "running", "encoding")
FINAL_STATES = ("done", "failed", "cancelled")


def new_id() -> str:
    # 31 symbols: the byte -> symbol mapping is biased by under 1 %, harmless for ids that are not secrets.
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(8))


@dataclass(frozen=True)
class JobRecord:
    id: str
    user_id: str
    kind: str
    prompt: str
    params: dict[str, Any]
    origin: Place
    requester: Actor
    state: str
    cost: int
    period: str
    created_at: str
    clip_id: str | None = None
    error: str | None = None
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobRecord:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            kind=row["kind"],
            prompt=row["prompt"] or "",
            params=json.loads(row["params"] or "{}"),
            origin=Place.from_json(row["origin"]),
            requester=Actor.from_json(row["requester"]),
            state=row["state"],
            cost=row["cost"] or 0,
            period=row["period"] or "",
            created_at=row["created_at"],
            clip_id=row["clip_id"],
            error=row["error"],
            attempts=row["attempts"] or 0,
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


@dataclass(frozen=True)
class ClipRecord:
    id: str
    job_id: str | None
    user_id: str
    author: str
    parent_clip_id: str | None
    kind: str
    prompt: str
    backend: str
    media_sha256: str
    size_bytes: int
    width: int
    height: int
    fps: float
    seconds: float
    state: dict[str, Any]
    metadata: dict[str, Any]
    created_at: str
    seed: int | None = None
    private: bool = False  # made in a private chat: only its maker sees it (core/clips/visibility.py)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClipRecord:
        metadata = json.loads(row["metadata"] or "{}")
        return cls(
            id=row["id"],
            job_id=row["job_id"],
            user_id=row["user_id"],
            author=row.get("author") or "someone",
            parent_clip_id=row["parent_clip_id"],
            kind=row["kind"],
            prompt=row["prompt"] or "",
            backend=row["backend"] or "",
            media_sha256=row["media_sha256"],
            size_bytes=row["size_bytes"] or 0,
            width=row["width"],
            height=row["height"],
            fps=row["fps"],
            seconds=row["seconds"],
            state=json.loads(row["state"] or "{}"),
            metadata=metadata,
            created_at=row["created_at"],
            seed=metadata.get("seed"),
            private=bool(row.get("private") or 0),
        )


@dataclass(frozen=True)
class Delivery:
    """One message an adapter must post: a finished clip, or a notice to a person."""

    id: int
    kind: str  # clip | notice
    platform: str
    destination: Place
    payload: dict[str, Any]
    attempts: int
    job_id: str | None = None
    clip_id: str | None = None
    # An earlier attempt may have been posted without its answer reaching us (timeout, dropped connection,
    # crash): look for it, or post in a way the platform de-duplicates, rather than post the clip again.
    may_have_posted: bool = False

    @property
    def text(self) -> str:
        """The platform-neutral caption or notice text."""
        return str(self.payload.get("text", ""))


@dataclass(frozen=True)
class LineageNode:
    """One clip in a remix tree, with the messages it was posted as."""

    clip_id: str
    kind: str
    prompt: str
    author: str
    created_at: str
    posts: tuple[PostRef, ...] = ()
    children: tuple[LineageNode, ...] = ()
    deleted: bool = False

    def walk(self, depth: int = 0) -> list[tuple[int, LineageNode]]:
        rows = [(depth, self)]
        for child in self.children:
            rows.extend(child.walk(depth + 1))
        return rows

    def find(self, clip_id: str) -> LineageNode | None:
        return next((node for _, node in self.walk() if node.clip_id == clip_id), None)


@dataclass(frozen=True)
class JobSummary:
    id: str
    kind: str
    prompt: str
    state: str
    position: int
    created_at: str
    clip_id: str | None = None
    error: str | None = None
    requester: str = ""


@dataclass(frozen=True)
class Reply:
    """The core's answer to a command: `text` is ready to show; the other fields let adapters do more."""

    text: str
    ok: bool = True
    job_id: str | None = None
    clip_id: str | None = None
    position: int | None = None
    estimate_seconds: float | None = None
    tree: LineageNode | None = None
    jobs: tuple[JobSummary, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
