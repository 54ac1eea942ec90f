"""SQL for the `jobs` table. Rows in, rows out; what a job's states mean is in core/jobs/store.py."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import one

ACTIVE = ("queued", "running", "encoding")
FINISHED = ("done", "failed", "cancelled")


def origin(db: sqlite_utils.Database, job_id: str) -> str | None:
    """The Place (JSON) the job was asked from."""
    row = one(db, "SELECT origin FROM jobs WHERE id = ?", [job_id])
    return None if row is None else str(row["origin"])


def active_of_user(db: sqlite_utils.Database, user_id: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT * FROM jobs WHERE user_id = ? AND state IN ('queued','running','encoding') ORDER BY created_at",
            [user_id],
        )
    )


def recent_finished_of_user(db: sqlite_utils.Database, user_id: str, limit: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            """SELECT * FROM jobs WHERE user_id = ? AND state IN ('done','failed','cancelled')
               ORDER BY finished_at DESC LIMIT ?""",
            [user_id, limit],
        )
    )


def all_active(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM jobs WHERE state IN ('queued','running','encoding')"))
