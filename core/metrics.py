"""Operational numbers for the Prometheus endpoint, read from the database in one pass."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from core.records import iso

# The busy ratio looks back this far: long enough to smooth one job, short enough to show a stall.
BUSY_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Snapshot:
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    generation_seconds_sum: float = 0.0
    generation_count: int = 0
    busy_ratio: float = 0.0
    deliveries_pending: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def queue_depth(self) -> int:
        return self.jobs_by_state.get("queued", 0)


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def snapshot(db: sqlite_utils.Database, now: datetime, capacity: int = 1) -> Snapshot:
    """Queue depth, jobs by state, generation time of finished clips, worker busy ratio, outbox, refusals."""
    by_state = {r["state"]: r["n"] for r in db.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")}
    total, count = 0.0, 0
    for row in db.query("SELECT started_at, finished_at FROM jobs WHERE state = 'done' AND started_at IS NOT NULL"):
        started, finished = _parse(row["started_at"]), _parse(row["finished_at"])
        if started and finished:
            total += max(0.0, (finished - started).total_seconds())
            count += 1
    window_start = now - BUSY_WINDOW
    busy = 0.0
    for row in db.query(
        """SELECT started_at, finished_at FROM jobs
           WHERE started_at IS NOT NULL AND (finished_at IS NULL OR finished_at > ?)""",
        [iso(window_start)],
    ):
        started = _parse(row["started_at"])
        finished = _parse(row["finished_at"]) or now
        if started is None:
            continue
        busy += max(0.0, (min(finished, now) - max(started, window_start)).total_seconds())
    ratio = min(1.0, busy / (BUSY_WINDOW.total_seconds() * max(1, capacity)))
    pending = {
        r["platform"]: r["n"]
        for r in db.query("SELECT platform, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY platform")
    }
    refusals: dict[str, int] = {}
    for row in db.query("SELECT detail FROM audit_events WHERE kind = 'refusal'"):
        reason = str(json.loads(row["detail"] or "{}").get("category", "unknown"))
        refusals[reason] = refusals.get(reason, 0) + 1
    return Snapshot(by_state, total, count, ratio, pending, refusals)


# -- what the operator's pages list ----------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    at: str
    kind: str
    user: str | None
    job_id: str | None
    clip_id: str | None
    detail: dict[str, object]


@dataclass(frozen=True)
class QuotaOverride:
    platform: str
    guild_id: str
    role: str
    daily_credits: int
    updated_at: str


def audit_log(db: sqlite_utils.Database, kinds: tuple[str, ...] = (), limit: int = 100) -> list[AuditEntry]:
    """The newest audit events (of the given kinds, or all), with the person's display name."""
    where = f"WHERE a.kind IN ({','.join('?' for _ in kinds)})" if kinds else ""
    rows = db.query(
        f"""SELECT a.*, u.display_name FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
            {where} ORDER BY a.id DESC LIMIT ?""",
        [*kinds, limit],
    )
    return [
        AuditEntry(r["at"], r["kind"], r["display_name"], r["job_id"], r["clip_id"], json.loads(r["detail"] or "{}"))
        for r in rows
    ]


def quota_overrides(db: sqlite_utils.Database) -> list[QuotaOverride]:
    return [
        QuotaOverride(r["platform"], r["guild_id"], r["role"], r["daily_credits"], r["updated_at"] or "")
        for r in db.query("SELECT * FROM quota_overrides ORDER BY platform, guild_id, role")
    ]
