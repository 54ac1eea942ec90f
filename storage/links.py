"""SQL for linking accounts (m0009): one-time `link_codes` (stored hashed) and recent wrong tries (`link_failures`)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert, one


def wrong_tries_since(db: sqlite_utils.Database, platform: str, platform_user_id: str, since: str) -> int:
    row = one(
        db,
        "SELECT COUNT(*) AS n FROM link_failures WHERE platform = ? AND platform_user_id = ? AND failed_at > ?",
        [platform, platform_user_id, since],
    )
    return int(row["n"]) if row else 0


def add_wrong_try(db: sqlite_utils.Database, platform: str, platform_user_id: str, at: str, forget_before: str) -> None:
    """Count a wrong try; tries at or before `forget_before` no longer count and are pruned (no background job)."""
    insert(db, "link_failures", {"platform": platform, "platform_user_id": platform_user_id, "failed_at": at})
    db.execute("DELETE FROM link_failures WHERE failed_at <= ?", [forget_before])


def replace_code(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    """A new code for a user; their earlier unused codes stop working."""
    db.execute("DELETE FROM link_codes WHERE user_id = ? AND used_at IS NULL", [row["user_id"]])
    insert(db, "link_codes", row)


def code(db: sqlite_utils.Database, code_sha256: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM link_codes WHERE code_sha256 = ?", [code_sha256])


def use_code(db: sqlite_utils.Database, code_sha256: str, at: str) -> None:
    db.execute("UPDATE link_codes SET used_at = ? WHERE code_sha256 = ?", [at, code_sha256])
