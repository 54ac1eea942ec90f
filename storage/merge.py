"""Merging two users into one when a person links an account that already has history.

Runs inside one write transaction (the caller's `db.write`): either every row moves or none does.
The columns that hold a `users.id` are found from the schema rather than listed by hand, so a table a
later migration adds with a `user_id` column is merged too instead of being left pointing at a user
that no longer exists (the foreign keys would then refuse the merge, which is the safe failure).
"""

from __future__ import annotations

import sqlite_utils

from storage.database import one

# Column names that hold a users.id. Other person columns hold platform account ids
# (`platform_user_id`, `account_id`), which stay valid when the user behind the account changes.
USER_ID_COLUMNS = ("user_id", "owner_user_id")
# Rows of the joining user that are dropped, not moved: its outstanding link codes, and a pending
# `forgetme` (asked about one account; confirming it must not now forget every linked account).
_DROPPED = ("link_codes", "forget_requests")


def user_columns(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(table, column) for every column in the schema that names a user by users.id."""
    found = []
    for table in db.table_names():
        if table.startswith(("_", "sqlite_")) or table == "users":
            continue
        for column in db.table(table).columns:
            if column.name in USER_ID_COLUMNS:
                found.append((table, column.name))
    return found


def merge_users(db: sqlite_utils.Database, *, into: str, source: str) -> None:
    """Move everything of `source` to `into` and delete the then empty `source` user.

    The caller has checked that `source` has no job in progress: a running job holds its user id in
    memory and would file its clip under the deleted user.
    """
    for table in _DROPPED:
        db.execute(f"DELETE FROM [{table}] WHERE user_id = ?", [source])
    for table, column in user_columns(db):
        if table in _DROPPED:
            continue
        if column in db.table(table).pks:
            # Keyed by the user (cameo grants, private places, forget requests): the same key may exist
            # for both users; the person's existing row is kept and the duplicate dropped.
            db.execute(f"UPDATE OR IGNORE [{table}] SET [{column}] = ? WHERE [{column}] = ?", [into, source])
            db.execute(f"DELETE FROM [{table}] WHERE [{column}] = ?", [source])
        else:
            # History (jobs, clips, ledger, audit...): every row moves; a conflict aborts the whole merge.
            db.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE [{column}] = ?", [into, source])
    # A grant to use one's own cameo means nothing; it appears when the owner and the grantee merge.
    db.execute(
        "DELETE FROM cameo_grants WHERE user_id = ? AND cameo_id IN (SELECT id FROM cameos WHERE owner_user_id = ?)",
        [into, into],
    )
    # Notices name their cameo's owner inside the payload; forgetme finds them by it.
    db.execute(
        "UPDATE deliveries SET payload = json_set(payload, '$.owner_user_id', ?)"
        " WHERE json_valid(payload) AND json_extract(payload, '$.owner_user_id') = ?",
        [into, source],
    )
    # Audit details name people by user id too (a cameo's grantee); forgetme finds its rows by those ids.
    # Quoted, as JSON writes strings, so a short id does not match inside another value.
    db.execute(
        "UPDATE audit_events SET detail = replace(detail, ?, ?) WHERE detail LIKE ?",
        [f'"{source}"', f'"{into}"', f'%"{source}"%'],
    )
    row = one(db, "SELECT is_admin FROM users WHERE id = ?", [source])
    if row is not None and row["is_admin"]:
        db.execute("UPDATE users SET is_admin = 1 WHERE id = ?", [into])
    db.execute("DELETE FROM users WHERE id = ?", [source])
