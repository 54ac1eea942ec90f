"""SQL for erasing a person (`forgetme`): their rows in every table, children first so foreign keys hold at every
statement. What to keep (placeholders for clips others built on) is decided in core/people/forget.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from storage.database import insert, one


def marks(items: Iterable[object]) -> str:
    """`?` placeholders for a list (`NULL` for an empty one, so `IN (NULL)` matches nothing)."""
    return ",".join("?" for _ in items) or "NULL"


def table_exists(db: sqlite_utils.Database, name: str) -> bool:
    return one(db, "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) is not None


def clip_file(db: sqlite_utils.Database, clip_id: str) -> dict[str, Any] | None:
    """media_sha256 and deleted_at of a clip."""
    return one(db, "SELECT id, media_sha256, deleted_at FROM clips WHERE id = ?", [clip_id])


def file_in_use(db: sqlite_utils.Database, sha: str, clip_file: bool) -> bool:
    """Whether a live row points at the file: a clip not deleted (for a clip's MP4), or any cameo."""
    if clip_file and one(db, "SELECT 1 AS x FROM clips WHERE media_sha256 = ? AND deleted_at IS NULL", [sha]):
        return True
    return (
        one(
            db,
            "SELECT 1 AS x FROM cameos WHERE face_sha256 = ? OR voice_sha256 = ? OR reference_sha256 = ?",
            [sha, sha, sha],
        )
        is not None
    )


def clip_ids_of_user(db: sqlite_utils.Database, user_id: str) -> list[str]:
    return [str(r["id"]) for r in db.query("SELECT id FROM clips WHERE user_id = ?", [user_id])]


def clips_using(db: sqlite_utils.Database, cameo_ids: Sequence[str]) -> list[str]:
    rows = db.query(f"SELECT DISTINCT clip_id FROM cameo_uses WHERE cameo_id IN ({marks(cameo_ids)})", list(cameo_ids))
    return [str(r["clip_id"]) for r in rows]


def built_on_by_others(db: sqlite_utils.Database, clip_ids: Sequence[str], user_id: str) -> set[str]:
    """Which of the clips someone else remixed or extended."""
    rows = db.query(
        f"SELECT parent_clip_id FROM clips WHERE parent_clip_id IN ({marks(clip_ids)}) AND user_id != ?",
        [*clip_ids, user_id],
    )
    return {str(r["parent_clip_id"]) for r in rows}


def make_placeholders(
    db: sqlite_utils.Database, clip_ids: Sequence[str], owner: str, owner_name: str, now: str
) -> None:
    """Keep the clips as deleted, anonymous rows owned by `owner` (created if missing), for others' lineage."""
    db.execute(
        "INSERT OR IGNORE INTO users (id, display_name, is_admin, created_at) VALUES (?, ?, 0, ?)",
        [owner, owner_name, now],
    )
    db.execute(
        f"""UPDATE clips SET user_id = ?, job_id = NULL, prompt = '', state = '{{}}', metadata = '{{}}',
            media_sha256 = NULL, deleted_at = COALESCE(deleted_at, ?) WHERE id IN ({marks(clip_ids)})""",
        [owner, now, *clip_ids],
    )


def job_ids_of_user(db: sqlite_utils.Database, user_id: str) -> list[str]:
    return [str(r["id"]) for r in db.query("SELECT id FROM jobs WHERE user_id = ?", [user_id])]


def delete_history(
    db: sqlite_utils.Database,
    user_id: str,
    *,
    cameo_ids: Sequence[str],
    own_clips: Sequence[str],
    gone: Sequence[str],
    job_ids: Sequence[str],
) -> None:
    """The user's uses, deliveries, clips (`gone`), jobs, ledger, grants, cameos, private places, forget requests."""
    db.execute(
        f"DELETE FROM cameo_uses WHERE cameo_id IN ({marks(cameo_ids)}) OR user_id = ? OR owner_user_id = ?"
        f" OR clip_id IN ({marks(gone)})",
        [*cameo_ids, user_id, user_id, *gone],
    )
    db.execute(
        f"DELETE FROM deliveries WHERE job_id IN ({marks(job_ids)}) OR clip_id IN ({marks(own_clips)})"
        " OR json_extract(payload, '$.owner_user_id') = ?",
        [*job_ids, *own_clips, user_id],
    )
    db.execute(f"UPDATE clips SET parent_clip_id = NULL WHERE id IN ({marks(gone)})", list(gone))
    db.execute(f"DELETE FROM clips WHERE id IN ({marks(gone)})", list(gone))
    db.execute(f"DELETE FROM jobs WHERE id IN ({marks(job_ids)})", list(job_ids))
    db.execute("DELETE FROM quota_ledger WHERE user_id = ?", [user_id])
    db.execute(f"DELETE FROM cameo_grants WHERE user_id = ? OR cameo_id IN ({marks(cameo_ids)})", [user_id, *cameo_ids])
    db.execute("DELETE FROM cameos WHERE owner_user_id = ?", [user_id])
    db.execute("DELETE FROM private_places WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM forget_requests WHERE user_id = ?", [user_id])


def unname_cameo(
    db: sqlite_utils.Database, handle: str, cameo_ids: Sequence[str], mentions: Sequence[tuple[str, str]]
) -> None:
    """Other people's jobs keep working params without the cameo; `@handle` in the text columns becomes `@someone`."""
    for row in db.query("SELECT id, params FROM jobs WHERE params LIKE ?", [f"%{handle}%"]):
        params = json.loads(row["params"] or "{}")
        params["cameos"] = [h for h in params.get("cameos", []) if h != handle]
        params["cameo_ids"] = [c for c in params.get("cameo_ids", []) if c not in cameo_ids]
        db.execute("UPDATE jobs SET params = ? WHERE id = ?", [json.dumps(params), row["id"]])
    for table, column in mentions:
        if table_exists(db, table):
            db.execute(
                f"UPDATE [{table}] SET [{column}] = replace([{column}], ?, '@someone') WHERE [{column}] LIKE ?",
                [f"@{handle}", f"%@{handle}%"],
            )


def erase_web_account(db: sqlite_utils.Database, account_ids: Sequence[str], clip_ids: Sequence[str]) -> None:
    """The web console's accounts, sessions and chat lines of this person, when the console's tables exist."""
    if not table_exists(db, "web_accounts"):
        return
    account_marks = marks(account_ids)
    if table_exists(db, "web_messages"):
        db.execute(
            f"DELETE FROM web_messages WHERE account_id IN ({account_marks}) OR clip_id IN ({marks(clip_ids)})",
            [*account_ids, *clip_ids],
        )
    for table in ("web_sessions", "web_signin_links"):
        if table_exists(db, table):
            db.execute(f"DELETE FROM {table} WHERE account_id IN ({account_marks})", list(account_ids))
    if table_exists(db, "web_threads"):
        db.execute(f"UPDATE web_threads SET created_by = NULL WHERE created_by IN ({account_marks})", list(account_ids))
    db.execute(f"DELETE FROM web_accounts WHERE id IN ({account_marks})", list(account_ids))


def delete_link_rows(db: sqlite_utils.Database, user_id: str, accounts: Sequence[tuple[str, str]]) -> None:
    """Link codes the user asked for, and wrong link codes typed on their (platform, account) pairs."""
    db.execute("DELETE FROM link_codes WHERE user_id = ?", [user_id])
    for platform, platform_user_id in accounts:
        db.execute(
            "DELETE FROM link_failures WHERE platform = ? AND platform_user_id = ?", [platform, platform_user_id]
        )


def delete_audit(db: sqlite_utils.Database, user_id: str, needles: Sequence[str]) -> None:
    """Audit rows of the user, and rows whose detail names any of `needles` (ids, handles)."""
    db.execute("DELETE FROM audit_events WHERE user_id = ?", [user_id])
    for needle in needles:
        # Quoted, as JSON writes strings: a short id must not match inside an unrelated number.
        db.execute("DELETE FROM audit_events WHERE detail LIKE ?", [f'%"{needle}"%'])


def delete_user(db: sqlite_utils.Database, user_id: str) -> None:
    db.execute("DELETE FROM identities WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM users WHERE id = ?", [user_id])


def note_forgotten(db: sqlite_utils.Database, at: str, detail: dict[str, Any]) -> None:
    """The one audit row a forgotten person leaves: who asked and how much went, no name."""
    insert(db, "audit_events", {"at": at, "kind": "user_forgotten", "detail": json.dumps(detail)})
