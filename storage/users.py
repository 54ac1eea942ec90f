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


def display_name(db: sqlite_utils.Database, user_id: str) -> str | None:
    row = one(db, "SELECT display_name FROM users WHERE id = ?", [user_id])
    return None if row is None else str(row["display_name"])


def first_identity(db: sqlite_utils.Database, user_id: str) -> dict[str, Any] | None:
    """The person's oldest platform account: platform, platform_user_id."""
    return one(db, "SELECT platform, platform_user_id FROM identities WHERE user_id = ? ORDER BY id", [user_id])


def identities_of(db: sqlite_utils.Database, user_id: str) -> list[dict[str, Any]]:
    """The person's platform accounts, oldest first: platform, platform_user_id, display_name, created_at."""
    return list(
        db.query(
            "SELECT platform, platform_user_id, display_name, created_at FROM identities WHERE user_id = ? ORDER BY id",
            [user_id],
        )
    )


def detach_identity(db: sqlite_utils.Database, user_id: str, platform: str) -> None:
    """The user's account on `platform` is no longer theirs, nor is the private chat notices went to there."""
    db.execute("DELETE FROM identities WHERE user_id = ? AND platform = ?", [user_id, platform])
    db.execute("DELETE FROM private_places WHERE user_id = ? AND platform = ?", [user_id, platform])
