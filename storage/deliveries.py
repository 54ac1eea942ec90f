"""SQL for the `deliveries` table (the outbox): claims, posting marks and results. Rows in, rows out."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert


def add(db: sqlite_utils.Database, row: dict[str, Any]) -> int:
    return insert(db, "deliveries", row)


def due(db: sqlite_utils.Database, platform: str, now: str, limit: int) -> list[dict[str, Any]]:
    """Pending rows of a platform whose next attempt is due, oldest first."""
    return list(
        db.query(
            """SELECT * FROM deliveries WHERE platform = ? AND state = 'pending'
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?""",
            [platform, now, limit],
        )
    )


def lease(db: sqlite_utils.Database, delivery_id: int, until: str, in_doubt: bool) -> None:
    """Count an attempt and hide the row from other claims until `until`."""
    db.execute(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, posting = 0, in_doubt = ? WHERE id = ?",
        [until, int(in_doubt), delivery_id],
    )


def mark_posting(db: sqlite_utils.Database, delivery_id: int) -> None:
    db.execute("UPDATE deliveries SET posting = 1 WHERE id = ?", [delivery_id])


def mark_sent(
    db: sqlite_utils.Database,
    delivery_id: int,
    message_id: str,
    thread_id: str | None,
    sent_at: str,
    destination: str | None,
) -> None:
    """Sent as `message_id`; `destination` (JSON), when given, replaces where the row said it would go."""
    db.execute(
        "UPDATE deliveries SET state = 'sent', message_id = ?, thread_id = ?, sent_at = ?, error = NULL,"
        " posting = 0, destination = COALESCE(?, destination) WHERE id = ?",
        [message_id, thread_id, sent_at, destination, delivery_id],
    )


def mark_failed(db: sqlite_utils.Database, delivery_id: int, error: str, retry_at: str | None, in_doubt: bool) -> None:
    """Try again at `retry_at`, or give up (state 'failed') when it is None; `in_doubt` sticks until sent."""
    doubt = ", in_doubt = 1" if in_doubt else ""
    if retry_at is None:
        sql = f"UPDATE deliveries SET state = 'failed', error = ?, posting = 0{doubt} WHERE id = ?"
        params: list[object] = [error, delivery_id]
    else:
        sql = f"UPDATE deliveries SET next_attempt_at = ?, error = ?, posting = 0{doubt} WHERE id = ?"
        params = [retry_at, error, delivery_id]
    db.execute(sql, params)


def withdraw_pending(db: sqlite_utils.Database, clip_id: str) -> None:
    """A deleted clip's deliveries that were not posted yet are never posted."""
    db.execute("UPDATE deliveries SET state = 'withdrawn' WHERE clip_id = ? AND state = 'pending'", [clip_id])


def pending_counts(db: sqlite_utils.Database) -> dict[str, int]:
    rows = db.query("SELECT platform, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY platform")
    return {r["platform"]: r["n"] for r in rows}


def pending_platforms(db: sqlite_utils.Database) -> list[str]:
    return [r["platform"] for r in db.query("SELECT DISTINCT platform FROM deliveries WHERE state = 'pending'")]


def clip_of_post(db: sqlite_utils.Database, platform: str, channel_id: str, message_id: str) -> str | None:
    """The (not deleted) clip a sent message of ours shows, found by its channel or the thread it opened."""
    row = db.conn.execute(
        """SELECT d.clip_id FROM deliveries d JOIN clips c ON c.id = d.clip_id
           WHERE d.platform = ? AND d.message_id = ? AND d.state = 'sent' AND c.deleted_at IS NULL
           AND (json_extract(d.destination, '$.channel_id') = ? OR d.thread_id = ?)""",
        [platform, message_id, channel_id, channel_id],
    ).fetchone()
    return None if row is None else str(row[0])
