"""SQL for `counters` (migration m0008): monotonic counters by name and label."""

from __future__ import annotations

import sqlite_utils


def add(db: sqlite_utils.Database, name: str, label: str, by: float) -> None:
    """Add `by` to one counter, creating it at `by`."""
    db.execute(
        """INSERT INTO counters (name, label, value) VALUES (?, ?, ?)
           ON CONFLICT (name, label) DO UPDATE SET value = value + excluded.value""",
        [name, label, by],
    )


def all_rows(db: sqlite_utils.Database) -> list[tuple[str, str, float]]:
    """(name, label, value) of every counter: a handful of rows."""
    return [(str(r[0]), str(r[1]), float(r[2])) for r in db.conn.execute("SELECT name, label, value FROM counters")]
