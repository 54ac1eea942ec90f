"""SQL for `audit_events`: what happened, to whom, when (admissions refused, clips made and deleted, grants...)."""

from __future__ import annotations

import sqlite_utils

from storage.database import insert


def add(
    db: sqlite_utils.Database,
    at: str,
    kind: str,
    user_id: str | None,
    job_id: str | None,
    clip_id: str | None,
    detail: str,
) -> None:
    """One event; `detail` is JSON."""
    insert(
        db,
        "audit_events",
        {"at": at, "kind": kind, "user_id": user_id, "job_id": job_id, "clip_id": clip_id, "detail": detail},
    )
