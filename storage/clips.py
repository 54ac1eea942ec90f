"""SQL for the `clips` table: lookups by id, parent and media file, and deletion marks. Rows in, rows out."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert, one

# Every clip read carries its author's current display name, and whether it was made in a private chat (the rule
# for who may see such a clip is core/clips/visibility.py).
CLIP_SELECT = """SELECT c.*, COALESCE(u.display_name, 'someone') AS author,
                 COALESCE(json_extract(j.origin, '$.is_private'), 0) AS private FROM clips c
                 LEFT JOIN users u ON u.id = c.user_id LEFT JOIN jobs j ON j.id = c.job_id"""


def add(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "clips", row)


def get(db: sqlite_utils.Database, clip_id: str, include_deleted: bool = False) -> dict[str, Any] | None:
    live = "" if include_deleted else " AND c.deleted_at IS NULL"
    return one(db, f"{CLIP_SELECT} WHERE c.id = ?{live}", [clip_id])


def children(db: sqlite_utils.Database, clip_id: str) -> list[dict[str, Any]]:
    """Clips made from this one (deleted ones too), oldest first."""
    return list(db.query(f"{CLIP_SELECT} WHERE c.parent_clip_id = ? ORDER BY c.created_at", [clip_id]))


def is_deleted(db: sqlite_utils.Database, clip_id: str) -> bool:
    row = one(db, "SELECT deleted_at FROM clips WHERE id = ?", [clip_id])
    return bool(row and row["deleted_at"])


def mark_deleted(db: sqlite_utils.Database, clip_id: str, at: str) -> None:
    db.execute("UPDATE clips SET deleted_at = ? WHERE id = ?", [at, clip_id])


def media_in_use(db: sqlite_utils.Database, sha: str) -> bool:
    """Whether any clip (deleted or not) still names this file."""
    return one(db, "SELECT 1 AS used FROM clips WHERE media_sha256 = ?", [sha]) is not None


def live_media_users(db: sqlite_utils.Database, sha: str) -> int:
    """How many clips not deleted show this file (a reroll with the same seed shares it)."""
    row = one(db, "SELECT COUNT(*) AS n FROM clips WHERE media_sha256 = ? AND deleted_at IS NULL", [sha])
    return int(row["n"]) if row else 0


def posts(db: sqlite_utils.Database, clip_id: str) -> list[dict[str, Any]]:
    """The sent deliveries of a clip: platform, destination (JSON), message_id, thread_id."""
    return list(
        db.query(
            """SELECT platform, destination, message_id, thread_id FROM deliveries
               WHERE clip_id = ? AND state = 'sent' AND message_id IS NOT NULL ORDER BY id""",
            [clip_id],
        )
    )


def media_referenced(db: sqlite_utils.Database) -> set[str]:
    """Every stored file a row refers to: clips' videos, cameos' face, voice and reference video."""
    rows = db.execute(
        "SELECT media_sha256 FROM clips UNION SELECT face_sha256 FROM cameos UNION SELECT voice_sha256 FROM cameos"
        " UNION SELECT reference_sha256 FROM cameos"
    ).fetchall()
    return {r[0] for r in rows if r[0]}
