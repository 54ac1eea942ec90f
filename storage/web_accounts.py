"""SQL for the web console's accounts (m0002, m0007): `web_accounts`, `web_sessions`, `web_signin_links` and
`login_failures`. Rows in, rows out; secrets arrive already hashed (core/people/accounts.py)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from storage.database import insert, one

# -- accounts ---------------------------------------------------------------------------------------------------------


def add(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "web_accounts", row)


def active(db: sqlite_utils.Database, account_id: str) -> dict[str, Any] | None:
    """The account unless it is disabled."""
    return one(db, "SELECT * FROM web_accounts WHERE id = ? AND disabled_at IS NULL", [account_id])


def active_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """The account with this name (any case) unless it is disabled."""
    return one(db, "SELECT * FROM web_accounts WHERE name = ? COLLATE NOCASE AND disabled_at IS NULL", [name])


def count(db: sqlite_utils.Database) -> int:
    row = one(db, "SELECT COUNT(*) AS n FROM web_accounts")
    return int(row["n"]) if row else 0


def all_active(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM web_accounts WHERE disabled_at IS NULL ORDER BY name COLLATE NOCASE"))


def promote(db: sqlite_utils.Database, account_id: str) -> None:
    db.execute("UPDATE web_accounts SET is_admin = 1 WHERE id = ?", [account_id])


def password_hash(db: sqlite_utils.Database, account_id: str) -> str | None:
    row = one(db, "SELECT password_hash FROM web_accounts WHERE id = ?", [account_id])
    return None if row is None or not row["password_hash"] else str(row["password_hash"])


def set_password(db: sqlite_utils.Database, account_id: str, password_hash: str) -> None:
    db.execute("UPDATE web_accounts SET password_hash = ? WHERE id = ?", [password_hash, account_id])


# -- failed sign-ins --------------------------------------------------------------------------------------------------


def prune_failures(db: sqlite_utils.Database, before: str) -> None:
    db.execute("DELETE FROM login_failures WHERE failed_at <= ?", [before])


def failures(db: sqlite_utils.Database, client_sha256: str, name_sha256: str | None = None) -> int:
    """Failures kept for a client (and one name, when given)."""
    sql = "SELECT COUNT(*) AS n FROM login_failures WHERE client_sha256 = ?"
    params = [client_sha256]
    if name_sha256 is not None:
        sql += " AND name_sha256 = ?"
        params.append(name_sha256)
    row = one(db, sql, params)
    return int(row["n"]) if row else 0


def add_failure(db: sqlite_utils.Database, name_sha256: str, client_sha256: str, at: str) -> None:
    insert(db, "login_failures", {"name_sha256": name_sha256, "client_sha256": client_sha256, "failed_at": at})


def clear_failures(db: sqlite_utils.Database, name_sha256: str, client_sha256: str) -> None:
    db.execute("DELETE FROM login_failures WHERE name_sha256 = ? AND client_sha256 = ?", [name_sha256, client_sha256])


# -- one-time sign-in links -------------------------------------------------------------------------------------------


def add_link(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "web_signin_links", row)


def admin_link_valid_until(db: sqlite_utils.Database, now: str) -> str | None:
    """When the last unused, unexpired sign-in link of an enabled admin account runs out."""
    row = one(
        db,
        """SELECT MAX(l.expires_at) AS until FROM web_signin_links l JOIN web_accounts a ON a.id = l.account_id
           WHERE a.is_admin = 1 AND a.disabled_at IS NULL AND l.used_at IS NULL AND l.expires_at > ?""",
        [now],
    )
    return None if row is None or row["until"] is None else str(row["until"])


def link_account(db: sqlite_utils.Database, token_sha256: str, now: str) -> str | None:
    """The account of an unused link that has not expired."""
    row = one(
        db,
        "SELECT account_id FROM web_signin_links WHERE token_sha256 = ? AND used_at IS NULL AND expires_at > ?",
        [token_sha256, now],
    )
    return None if row is None else str(row["account_id"])


def use_link(db: sqlite_utils.Database, token_sha256: str, now: str) -> str | None:
    """Mark an unused, unexpired link used and return its account; None if it was not. The conditional UPDATE is
    what makes a link single-use, even for two requests at once."""
    cursor = db.execute(
        "UPDATE web_signin_links SET used_at = ? WHERE token_sha256 = ? AND used_at IS NULL AND expires_at > ?",
        [now, token_sha256, now],
    )
    if cursor.rowcount != 1:
        return None
    row = one(db, "SELECT account_id FROM web_signin_links WHERE token_sha256 = ?", [token_sha256])
    return None if row is None else str(row["account_id"])


# -- sessions ---------------------------------------------------------------------------------------------------------


def any_session(db: sqlite_utils.Database) -> bool:
    return one(db, "SELECT 1 AS x FROM web_sessions LIMIT 1") is not None


def add_session(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "web_sessions", row)


def live_session(db: sqlite_utils.Database, id_sha256: str, now: str) -> dict[str, Any] | None:
    return one(
        db, "SELECT * FROM web_sessions WHERE id_sha256 = ? AND ended_at IS NULL AND expires_at > ?", [id_sha256, now]
    )


def end_session(db: sqlite_utils.Database, id_sha256: str, at: str) -> None:
    db.execute("UPDATE web_sessions SET ended_at = ? WHERE id_sha256 = ?", [at, id_sha256])


def end_other_sessions(db: sqlite_utils.Database, account_id: str, keep_sha256: str, at: str) -> None:
    """End every live session of the account except the one kept (its hash; "" keeps none)."""
    db.execute(
        "UPDATE web_sessions SET ended_at = ? WHERE account_id = ? AND ended_at IS NULL AND id_sha256 != ?",
        [at, account_id, keep_sha256],
    )
