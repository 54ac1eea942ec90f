"""Counters behind `/metrics` that only go up, kept in the `counters` table (migration m0008).

Each is bumped in the transaction that records what it counts, so it is exact, and it lives apart
from the audit rows and jobs that `forgetme` deletes: a Prometheus counter must never go down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

from core.errors import QueueFull, QuotaExceeded, SoraboxError, TooManyJobs
from storage import counters as counter_rows

# Requests refused, labelled by reason (see `audited_refusal` and ADMISSION_REFUSALS).
REFUSALS = "refusals"
# Content-policy refusals, labelled by the policy's category ("sexual content", ...).
POLICY_REFUSALS = "policy_refusals"
# Finished jobs (no label), and their seconds from start to recorded clip.
GENERATIONS = "generations"
GENERATION_SECONDS = "generation_seconds"

# Refusals decided while admitting a job: the admission transaction rolls back, so they leave no audit row.
ADMISSION_REFUSALS: dict[type[SoraboxError], str] = {
    QuotaExceeded: "quota",
    QueueFull: "queue_full",
    TooManyJobs: "too_many_jobs",
}


def bump(db: sqlite_utils.Database, name: str, label: str = "", by: float = 1.0) -> None:
    """Add `by` to one counter, inside the caller's transaction."""
    counter_rows.add(db, name, label, by)


def read_all(db: sqlite_utils.Database) -> dict[str, dict[str, float]]:
    """Every counter, by name then label: a handful of rows, so a scrape stays cheap."""
    found: dict[str, dict[str, float]] = {}
    for name, label, value in counter_rows.all_rows(db):
        found.setdefault(name, {})[label] = value
    return found


def audited_refusal(kind: str, detail: Mapping[str, Any]) -> str | None:
    """The refusal reason an audit row records, or None when the row records no refusal."""
    if kind == "refusal":
        # A prompt touching a topic a cameo's owner ruled out is refused by the owner's wishes, not by the policy.
        return "cameo_preferences" if detail.get("where") == "prompt" else "policy"
    if kind == "cameo_refused":
        # At creation the reference video failed the face/voice checks; at any later stage consent was missing.
        return "cameo_check" if detail.get("stage") == "create" else "consent"
    return None


def count_audited(db: sqlite_utils.Database, kind: str, detail: Mapping[str, Any]) -> None:
    """Count the refusal an audit row records (if it records one), in the transaction that writes the row."""
    reason = audited_refusal(kind, detail)
    if reason is None:
        return
    bump(db, REFUSALS, reason)
    if reason == "policy":
        bump(db, POLICY_REFUSALS, str(detail.get("category", "unknown")))


def admission_refusal(exc: SoraboxError) -> str | None:
    """The refusal reason of an error raised while admitting a job, or None when it is no refusal."""
    return ADMISSION_REFUSALS.get(type(exc))
