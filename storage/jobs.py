"""SQL for the `jobs` table. Rows in, rows out; what a job's states mean is in core/jobs/store.py."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert, one

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


def add(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "jobs", row)


def get(db: sqlite_utils.Database, job_id: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM jobs WHERE id = ?", [job_id])


def by_request_key(db: sqlite_utils.Database, request_key: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM jobs WHERE request_key = ?", [request_key])


def count_active_of_user(db: sqlite_utils.Database, user_id: str, states: tuple[str, ...]) -> int:
    marks = ",".join("?" for _ in states)
    row = one(db, f"SELECT COUNT(*) AS n FROM jobs WHERE user_id = ? AND state IN ({marks})", [user_id, *states])
    return int(row["n"]) if row else 0


def count_queued(db: sqlite_utils.Database) -> int:
    """Jobs waiting, from the trigger-kept counts (see migration 4)."""
    row = one(db, "SELECT n FROM job_counts WHERE state = 'queued'")
    return int(row["n"]) if row else 0


def move(
    db: sqlite_utils.Database, job_id: str, from_states: tuple[str, ...], to_state: str, fields: dict[str, Any]
) -> bool:
    """Set the state (and `fields`) only if the job is in one of `from_states`; whether it moved."""
    sets = ", ".join(["state = ?", *(f"[{k}] = ?" for k in fields)])
    marks = ",".join("?" for _ in from_states)
    cursor = db.execute(
        f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({marks})",
        [to_state, *fields.values(), job_id, *from_states],
    )
    return cursor.rowcount == 1


def start(db: sqlite_utils.Database, job_id: str, at: str) -> bool:
    """queued -> running, counting the attempt; whether the job was still queued."""
    cursor = db.execute(
        "UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'queued'",
        [at, job_id],
    )
    return cursor.rowcount == 1


def ids_in_states(db: sqlite_utils.Database, states: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" for _ in states)
    return [str(r["id"]) for r in db.query(f"SELECT id FROM jobs WHERE state IN ({marks})", list(states))]


def queued(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every queued job, oldest first."""
    return list(db.query("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at, rowid"))


def started_at(db: sqlite_utils.Database, job_id: str) -> str | None:
    row = one(db, "SELECT started_at FROM jobs WHERE id = ?", [job_id])
    return None if row is None or not row["started_at"] else str(row["started_at"])


def counts_by_state(db: sqlite_utils.Database) -> dict[str, int]:
    """Jobs per state, from the trigger-kept `job_counts` (m0004)."""
    return {str(r["state"]): int(r["n"]) for r in db.query("SELECT state, n FROM job_counts")}


def work_spans(db: sqlite_utils.Database, finished_after: str) -> list[dict[str, Any]]:
    """started_at/finished_at of jobs running now or finished after `finished_after`.

    Two indexed reads (by state, by finish time; m0001, m0008) rather than a scan of every job ever run."""
    return list(
        db.query(
            """SELECT started_at, finished_at FROM jobs
               WHERE state IN ('running', 'encoding') AND started_at IS NOT NULL
               UNION ALL
               SELECT started_at, finished_at FROM jobs
               WHERE finished_at > ? AND state NOT IN ('running', 'encoding') AND started_at IS NOT NULL""",
            [finished_after],
        )
    )


def has_active(db: sqlite_utils.Database, user_id: str) -> bool:
    """Whether the user has a job queued, running or encoding."""
    row = one(db, f"SELECT 1 AS x FROM jobs WHERE user_id = ? AND state IN {ACTIVE}", [user_id])
    return row is not None


def ids_of_user_in_states(db: sqlite_utils.Database, user_id: str, states: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" for _ in states)
    rows = db.query(f"SELECT id FROM jobs WHERE user_id = ? AND state IN ({marks})", [user_id, *states])
    return [str(r["id"]) for r in rows]
