"""Numbered schema migrations, applied in order at start-up.

Each module here named `mNNNN_<what>.py` defines `apply(db)`; the number is its place in the order.
A migration never changes once released: schema changes are new modules.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

_NAME = re.compile(r"^m(\d{4})_(\w+)$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _NAME.match(info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(int(match.group(1)), match.group(2), module.apply))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


def applied(db: sqlite_utils.Database) -> set[int]:
    if "_migrations" not in db.table_names():
        return set()
    return {row["number"] for row in db.query("SELECT number FROM _migrations")}


def apply_migrations(db: sqlite_utils.Database, upto: int | None = None) -> list[int]:
    """Apply every migration not yet applied (up to `upto`), each in its own transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (number INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    done = applied(db)
    ran = []
    for migration in all_migrations():
        if migration.number in done or (upto is not None and migration.number > upto):
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(db)
            db.execute(
                "INSERT INTO _migrations (number, name, applied_at) VALUES (?, ?, ?)",
                [migration.number, migration.name, datetime.now(UTC).isoformat()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        ran.append(migration.number)
    return ran
