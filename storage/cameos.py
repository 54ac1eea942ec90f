"""SQL for cameos (m0003): `cameos`, `cameo_grants`, `cameo_uses`, `private_places` and `forget_requests`.
Rows in, rows out; what consent means is in core/cameos/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from storage.database import insert, one


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values)


# -- cameos -----------------------------------------------------------------------------------------------------------


def add(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "cameos", row)


def by_handle(db: sqlite_utils.Database, handle: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM cameos WHERE handle = ?", [handle])


def by_id(db: sqlite_utils.Database, cameo_id: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM cameos WHERE id = ?", [cameo_id])


def of_owner(db: sqlite_utils.Database, owner_user_id: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM cameos WHERE owner_user_id = ? ORDER BY created_at, handle", [owner_user_id]))


def set_visibility(db: sqlite_utils.Database, cameo_id: str, level: str, community: str | None, at: str) -> None:
    """A new visibility level turns a revoked cameo back on."""
    db.execute(
        "UPDATE cameos SET visibility = ?, community = ?, revoked_at = NULL, updated_at = ? WHERE id = ?",
        [level, community, at, cameo_id],
    )


def set_preferences(db: sqlite_utils.Database, cameo_id: str, text: str, at: str) -> None:
    db.execute("UPDATE cameos SET preferences = ?, updated_at = ? WHERE id = ?", [text, at, cameo_id])


def revoke(db: sqlite_utils.Database, cameo_id: str, at: str) -> None:
    db.execute("UPDATE cameos SET revoked_at = ?, updated_at = ? WHERE id = ?", [at, at, cameo_id])


def delete(db: sqlite_utils.Database, cameo_id: str) -> None:
    """The cameo and its approvals; its uses stay (a remix of a clip that shows it must find it gone)."""
    db.execute("DELETE FROM cameo_grants WHERE cameo_id = ?", [cameo_id])
    db.execute("DELETE FROM cameos WHERE id = ?", [cameo_id])


def first_live_handle_of_account(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> str | None:
    """The oldest cameo not revoked of the person behind a platform account."""
    row = one(
        db,
        """SELECT c.handle FROM cameos c JOIN identities i ON i.user_id = c.owner_user_id
           WHERE i.platform = ? AND i.platform_user_id = ? AND c.revoked_at IS NULL
           ORDER BY c.created_at LIMIT 1""",
        [platform, platform_user_id],
    )
    return None if row is None else str(row["handle"])


def handles_of_account(db: sqlite_utils.Database, platform: str, platform_user_id: str, limit: int) -> list[str]:
    rows = db.query(
        """SELECT c.handle FROM cameos c JOIN identities i ON i.user_id = c.owner_user_id
           WHERE i.platform = ? AND i.platform_user_id = ? LIMIT ?""",
        [platform, platform_user_id, limit],
    )
    return [str(r["handle"]) for r in rows]


# -- approvals --------------------------------------------------------------------------------------------------------


def grant(db: sqlite_utils.Database, cameo_id: str, user_id: str, at: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO cameo_grants (cameo_id, user_id, created_at) VALUES (?, ?, ?)", [cameo_id, user_id, at]
    )


def ungrant(db: sqlite_utils.Database, user_id: str, cameo_ids: Sequence[str]) -> None:
    db.execute(
        f"DELETE FROM cameo_grants WHERE user_id = ? AND cameo_id IN ({_marks(cameo_ids)})", [user_id, *cameo_ids]
    )


def is_approved(db: sqlite_utils.Database, cameo_id: str, user_id: str) -> bool:
    return (
        one(db, "SELECT 1 AS x FROM cameo_grants WHERE cameo_id = ? AND user_id = ?", [cameo_id, user_id]) is not None
    )


def approved_users(db: sqlite_utils.Database, cameo_id: str) -> list[str]:
    """The users approved for a cameo, in the order they were approved."""
    rows = db.query("SELECT user_id FROM cameo_grants WHERE cameo_id = ? ORDER BY created_at", [cameo_id])
    return [str(r["user_id"]) for r in rows]


# -- uses -------------------------------------------------------------------------------------------------------------


def add_use(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "cameo_uses", row)


def cameo_ids_in_clip(db: sqlite_utils.Database, clip_id: str) -> list[str]:
    return [
        str(r["cameo_id"]) for r in db.query("SELECT cameo_id FROM cameo_uses WHERE clip_id = ? ORDER BY id", [clip_id])
    ]


def clips_showing(db: sqlite_utils.Database, cameo_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Clips not deleted that show any of the cameos, newest first: clip_id, prompt, created_at, handle, author."""
    rows = db.query(
        f"""SELECT u.clip_id, c.prompt, c.created_at, cam.handle, COALESCE(usr.display_name, 'someone') AS author
            FROM cameo_uses u JOIN clips c ON c.id = u.clip_id JOIN cameos cam ON cam.id = u.cameo_id
            LEFT JOIN users usr ON usr.id = c.user_id
            WHERE u.cameo_id IN ({_marks(cameo_ids)}) AND c.deleted_at IS NULL
            ORDER BY c.created_at DESC""",
        list(cameo_ids),
    )
    return [dict(r) for r in rows]


def owner_handle_in_clip(db: sqlite_utils.Database, clip_id: str, owner_user_id: str) -> str | None:
    """The handle of a cameo of this owner that the clip shows, if any."""
    row = one(
        db,
        """SELECT cam.handle FROM cameo_uses u JOIN cameos cam ON cam.id = u.cameo_id
           WHERE u.clip_id = ? AND cam.owner_user_id = ?""",
        [clip_id, owner_user_id],
    )
    return None if row is None else str(row["handle"])


# -- where to tell an owner, and forgetting ---------------------------------------------------------------------------


def remember_private_place(
    db: sqlite_utils.Database, user_id: str, platform: str, place: str, platform_user_id: str, at: str
) -> None:
    db.execute(
        """INSERT INTO private_places (user_id, platform, place, platform_user_id, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id, platform) DO UPDATE SET place = excluded.place, updated_at = excluded.updated_at""",
        [user_id, platform, place, platform_user_id, at],
    )


def latest_private_place(db: sqlite_utils.Database, user_id: str) -> str | None:
    """The Place (JSON) of the private chat the person spoke to us in last."""
    row = one(db, "SELECT place FROM private_places WHERE user_id = ? ORDER BY updated_at DESC", [user_id])
    return None if row is None else str(row["place"])


def ask_forget(db: sqlite_utils.Database, user_id: str, requested_by: str, at: str) -> None:
    db.execute(
        "INSERT OR REPLACE INTO forget_requests (user_id, requested_by, requested_at) VALUES (?, ?, ?)",
        [user_id, requested_by, at],
    )


def forget_request(db: sqlite_utils.Database, user_id: str, requested_by: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM forget_requests WHERE user_id = ? AND requested_by = ?", [user_id, requested_by])
