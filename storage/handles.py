"""SQL for `platform_handles` (migration m0006): which account showed which @handle last."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import one


def claim(db: sqlite_utils.Database, platform: str, handle: str, platform_user_id: str, seen_at: str) -> None:
    """`handle` is now this account's, and its only one on the platform."""
    db.execute(
        "DELETE FROM platform_handles WHERE platform = ? AND platform_user_id = ? AND handle != ?",
        [platform, platform_user_id, handle],
    )
    db.execute(
        "INSERT INTO platform_handles (platform, handle, platform_user_id, seen_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (platform, handle) DO UPDATE SET platform_user_id = excluded.platform_user_id,"
        " seen_at = excluded.seen_at",
        [platform, handle, platform_user_id, seen_at],
    )


def holder(db: sqlite_utils.Database, platform: str, handle: str) -> dict[str, Any] | None:
    return one(
        db,
        "SELECT platform, handle, platform_user_id, seen_at FROM platform_handles WHERE platform = ? AND handle = ?",
        [platform, handle],
    )


def of_account(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> str | None:
    """The handle the account showed last, if any."""
    row = one(
        db,
        "SELECT handle FROM platform_handles WHERE platform = ? AND platform_user_id = ? ORDER BY seen_at DESC",
        [platform, platform_user_id],
    )
    return None if row is None else str(row["handle"])


def drop_account(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> None:
    db.execute("DELETE FROM platform_handles WHERE platform = ? AND platform_user_id = ?", [platform, platform_user_id])
