"""SQL for `audit_events`: what happened, to whom, when (admissions refused, clips made and deleted, grants...)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert


def add(
    db: sqlite_utils.Database,
    at: str,
    kind: str,
    user_id: str | None,
    job_id: str | None,
    clip_id: str | None,
    detail: str,
) -> None:
    """One event; `detail` is JSON."""
    insert(
        db,
        "audit_events",
        {"at": at, "kind": kind, "user_id": user_id, "job_id": job_id, "clip_id": clip_id, "detail": detail},
    )


def newest(db: sqlite_utils.Database, kinds: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """The newest events (of `kinds`, or all when empty), each with the person's display name."""
    where = f"WHERE a.kind IN ({','.join('?' for _ in kinds)})" if kinds else ""
    return list(
        db.query(
            f"""SELECT a.*, u.display_name FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
                {where} ORDER BY a.id DESC LIMIT ?""",
            [*kinds, limit],
        )
    )
