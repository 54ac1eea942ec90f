"""Operational numbers for the Prometheus endpoint, read from the database in one pass."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from core.ops import counters
from core.records import iso
from storage import audit_log as audit_events
from storage import deliveries, jobs
from storage import quotas as ledger

# The busy ratio looks back this far: long enough to smooth one job, short enough to show a stall.
BUSY_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Snapshot:
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    generation_seconds_sum: float = 0.0
    generation_count: int = 0
    busy_ratio: float = 0.0
    deliveries_pending: dict[str, int] = field(default_factory=dict)
    # Refusals by reason (policy, consent, quota, queue_full, ...), and the policy's ones by category.
    refusals: dict[str, int] = field(default_factory=dict)
    policy_refusals: dict[str, int] = field(default_factory=dict)

    @property
    def queue_depth(self) -> int:
        return self.jobs_by_state.get("queued", 0)


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _busy_ratio(db: sqlite_utils.Database, now: datetime, capacity: int) -> float:
    """The share of the last BUSY_WINDOW the workers spent on jobs (jobs running or finished within it)."""
    window_start = now - BUSY_WINDOW
    busy = 0.0
    for row in jobs.work_spans(db, iso(window_start)):
        started = _parse(row["started_at"])
        finished = _parse(row["finished_at"]) or now
        if started is None:
            continue
        busy += max(0.0, (min(finished, now) - max(started, window_start)).total_seconds())
    return min(1.0, busy / (BUSY_WINDOW.total_seconds() * max(1, capacity)))


def _whole(values: dict[str, float]) -> dict[str, int]:
    return {label: int(value) for label, value in values.items()}


def snapshot(db: sqlite_utils.Database, now: datetime, capacity: int = 1) -> Snapshot:
    """Queue depth, jobs by state, generation time of finished clips, worker busy ratio, outbox, refusals.

    Jobs by state come from `job_counts` (m0004) and the totals from `counters` (m0008), both kept in
    step by the writes themselves: a scrape reads a few rows, not the jobs or the audit log.
    """
    by_state = jobs.counts_by_state(db)
    totals = counters.read_all(db)
    pending = deliveries.pending_counts(db)
    return Snapshot(
        jobs_by_state=by_state,
        generation_seconds_sum=totals.get(counters.GENERATION_SECONDS, {}).get("", 0.0),
        generation_count=int(totals.get(counters.GENERATIONS, {}).get("", 0)),
        busy_ratio=_busy_ratio(db, now, capacity),
        deliveries_pending=pending,
        refusals=_whole(totals.get(counters.REFUSALS, {})),
        policy_refusals=_whole(totals.get(counters.POLICY_REFUSALS, {})),
    )


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
    rows = audit_events.newest(db, kinds, limit)
    return [
        AuditEntry(r["at"], r["kind"], r["display_name"], r["job_id"], r["clip_id"], json.loads(r["detail"] or "{}"))
        for r in rows
    ]


def quota_overrides(db: sqlite_utils.Database) -> list[QuotaOverride]:
    return [
        QuotaOverride(r["platform"], r["guild_id"], r["role"], r["daily_credits"], r["updated_at"] or "")
        for r in ledger.overrides(db)
    ]
