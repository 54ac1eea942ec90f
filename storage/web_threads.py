"""SQL for the web console's chat threads (m0002): `web_threads`, `web_messages`, and the gallery's clip query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from storage.database import insert, one


def thread(db: sqlite_utils.Database, thread_id: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM web_threads WHERE id = ?", [thread_id])


def add_thread(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "web_threads", row)


def threads_visible_to(db: sqlite_utils.Database, viewer: str | None, limit: int) -> list[dict[str, Any]]:
    """Shared threads and the viewer's own, with their message count `n` and `last_at`, most recently active first."""
    return list(
        db.query(
            """SELECT t.*, COUNT(m.id) AS n, MAX(m.created_at) AS last_at FROM web_threads t
               LEFT JOIN web_messages m ON m.thread_id = t.id
               WHERE t.owner_account_id IS NULL OR t.owner_account_id = ? GROUP BY t.id
               ORDER BY COALESCE(MAX(m.created_at), t.created_at) DESC LIMIT ?""",
            [viewer, limit],
        )
    )


def account_exists(db: sqlite_utils.Database, account_id: str) -> bool:
    return one(db, "SELECT id FROM web_accounts WHERE id = ?", [account_id]) is not None


def add_message(db: sqlite_utils.Database, row: dict[str, Any]) -> dict[str, Any]:
    """Append a message; returns the row as stored (with its id)."""
    message_id = insert(db, "web_messages", row)
    found = one(db, "SELECT * FROM web_messages WHERE id = ?", [message_id])
    assert found is not None
    return found


def messages_after(db: sqlite_utils.Database, thread_id: str, after: int, limit: int) -> list[dict[str, Any]]:
    """Messages with id above `after`, oldest first (the newest `limit` when there are more)."""
    rows = db.query(
        "SELECT * FROM web_messages WHERE thread_id = ? AND id > ? ORDER BY id DESC LIMIT ?", [thread_id, after, limit]
    )
    return list(reversed(list(rows)))


def message(db: sqlite_utils.Database, message_id: int) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM web_messages WHERE id = ?", [message_id])


def first_clip_message(db: sqlite_utils.Database, clip_id: str) -> dict[str, Any] | None:
    return one(db, "SELECT * FROM web_messages WHERE clip_id = ? AND kind = 'clip' ORDER BY id", [clip_id])


def live_clip_ids(db: sqlite_utils.Database, thread_id: str) -> list[str]:
    rows = db.query(
        """SELECT clip_id FROM web_messages WHERE thread_id = ? AND kind = 'clip'
           AND clip_id IS NOT NULL AND deleted_at IS NULL ORDER BY id""",
        [thread_id],
    )
    return [str(r["clip_id"]) for r in rows]


def mark_clip_deleted(db: sqlite_utils.Database, clip_id: str, at: str) -> list[str]:
    """Mark the clip's messages deleted; returns every thread that showed it."""
    threads = [
        str(r["thread_id"])
        for r in db.query("SELECT DISTINCT thread_id FROM web_messages WHERE clip_id = ?", [clip_id])
    ]
    db.execute(
        "UPDATE web_messages SET deleted_at = ? WHERE clip_id = ? AND kind = 'clip' AND deleted_at IS NULL",
        [at, clip_id],
    )
    return threads


def jobs_asked_in(db: sqlite_utils.Database, thread_id: str, states: Sequence[str]) -> list[dict[str, Any]]:
    """Jobs asked in a web thread that are in `states`, oldest first: id, kind, prompt, state, requester (name)."""
    marks = ",".join("?" for _ in states)
    return list(
        db.query(
            f"""SELECT id, kind, prompt, state, json_extract(requester, '$.display_name') AS requester FROM jobs
                WHERE json_extract(origin, '$.platform') = 'web' AND json_extract(origin, '$.channel_id') = ?
                AND state IN ({marks}) ORDER BY created_at""",
            [thread_id, *states],
        )
    )


def gallery(
    db: sqlite_utils.Database,
    *,
    viewer_platform: str,
    viewer_account: str,
    thread_id: str | None,
    person: str | None,
    cameo: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Recent clips not deleted, newest first, filtered by web thread, author name (any case) and cameo handle.

    Clips made in a private chat are shown only to the person who made them (the viewer's account)."""
    where = [
        "c.deleted_at IS NULL",
        """(COALESCE(json_extract(j.origin, '$.is_private'), 0) = 0 OR c.user_id =
            (SELECT user_id FROM identities WHERE platform = ? AND platform_user_id = ?))""",
    ]
    params: list[Any] = [viewer_platform, viewer_account]
    if thread_id:
        where.append("c.id IN (SELECT clip_id FROM web_messages WHERE thread_id = ? AND kind = 'clip')")
        params.append(thread_id)
    if person is not None:
        where.append("u.display_name = ? COLLATE NOCASE")
        params.append(person)
    if cameo is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(j.params, '$.cameos') WHERE lower(value) = ?)")
        params.append(cameo)
    return list(
        db.query(
            f"""SELECT c.id, c.kind, c.prompt, COALESCE(u.display_name, 'someone') AS author, c.parent_clip_id,
                       c.created_at, c.seconds, c.width, c.height, j.params,
                       (SELECT thread_id FROM web_messages m WHERE m.clip_id = c.id ORDER BY m.id LIMIT 1) AS thread_id
                FROM clips c LEFT JOIN users u ON u.id = c.user_id LEFT JOIN jobs j ON j.id = c.job_id
                WHERE {" AND ".join(where)} ORDER BY c.created_at DESC LIMIT ?""",
            [*params, limit],
        )
    )
