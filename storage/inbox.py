"""SQL for the `inbox` table: platform requests kept from their arrival until they are handled. Rows in, rows out."""

from __future__ import annotations

from typing import Any

import sqlite_utils


def add_new(db: sqlite_utils.Database, platform: str, rows: list[tuple[str, str]], received_at: str) -> list[str]:
    """Insert the (request_key, payload) rows not seen before; returns the keys that were new, in order."""
    new = []
    for key, payload in rows:
        cursor = db.execute(
            "INSERT OR IGNORE INTO inbox (platform, request_key, payload, received_at) VALUES (?, ?, ?, ?)",
            [platform, key, payload, received_at],
        )
        if cursor.rowcount:
            new.append(key)
    return new


def unhandled(db: sqlite_utils.Database, platform: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT request_key, payload, received_at FROM inbox WHERE platform = ? AND handled_at IS NULL"
            " ORDER BY received_at, rowid",
            [platform],
        )
    )


def mark_handled(db: sqlite_utils.Database, platform: str, key: str, handled_at: str) -> None:
    db.execute(
        "UPDATE inbox SET handled_at = ? WHERE platform = ? AND request_key = ? AND handled_at IS NULL",
        [handled_at, platform, key],
    )


def forget_handled_before(db: sqlite_utils.Database, before: str) -> int:
    """Drop handled rows older than `before`: a platform re-delivers only recent requests."""
    return db.execute("DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", [before]).rowcount
