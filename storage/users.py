"""SQL for people: `users` and the platform accounts (`identities`) that map onto them. Rows in, rows out."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert, one


def identity(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> dict[str, Any] | None:
    """The identity row (user_id, display_name) of a platform account, or None."""
    return one(
        db,
        "SELECT user_id, display_name FROM identities WHERE platform = ? AND platform_user_id = ?",
        [platform, platform_user_id],
    )


def rename_identity(db: sqlite_utils.Database, platform: str, platform_user_id: str, display_name: str) -> None:
    db.execute(
        "UPDATE identities SET display_name = ? WHERE platform = ? AND platform_user_id = ?",
        [display_name, platform, platform_user_id],
    )


def add_user(db: sqlite_utils.Database, user_id: str, display_name: str, created_at: str) -> None:
    insert(db, "users", {"id": user_id, "display_name": display_name, "created_at": created_at})


def add_identity(
    db: sqlite_utils.Database, platform: str, platform_user_id: str, user_id: str, display_name: str, created_at: str
) -> None:
    insert(
        db,
        "identities",
        {
            "platform": platform,
            "platform_user_id": platform_user_id,
            "user_id": user_id,
            "display_name": display_name,
            "created_at": created_at,
        },
    )


def is_admin(db: sqlite_utils.Database, user_id: str) -> bool:
    row = one(db, "SELECT is_admin FROM users WHERE id = ?", [user_id])
    return bool(row and row["is_admin"])


def set_admin(db: sqlite_utils.Database, user_id: str) -> None:
    db.execute("UPDATE users SET is_admin = 1 WHERE id = ?", [user_id])
