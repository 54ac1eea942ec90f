"""SQL for the quota ledger (append-only credit movements) and the allowance overrides. Rows in, rows out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from storage.database import insert, one


def matching_overrides(
    db: sqlite_utils.Database, platform: str, guild_id: str, roles: Sequence[str]
) -> list[dict[str, Any]]:
    """Overrides that apply to a platform (or '*'), this guild (or every guild) and any of the roles (or none)."""
    marks = ",".join("?" for _ in roles) or "NULL"
    return list(
        db.query(
            f"""SELECT guild_id, role, daily_credits FROM quota_overrides
                WHERE platform IN (?, '*') AND guild_id IN (?, '') AND (role = '' OR role IN ({marks}))""",
            [platform, guild_id, *roles],
        )
    )


def set_override(db: sqlite_utils.Database, key: Sequence[str], daily_credits: int | None, at: str) -> None:
    """Replace the override for (platform, guild_id, role); None removes it."""
    db.execute("DELETE FROM quota_overrides WHERE platform = ? AND guild_id = ? AND role = ?", list(key))
    if daily_credits is not None:
        db.execute(
            "INSERT INTO quota_overrides (platform, guild_id, role, daily_credits, updated_at) VALUES (?, ?, ?, ?, ?)",
            [*key, daily_credits, at],
        )


def account_key(db: sqlite_utils.Database) -> str:
    """The random key of this database's account digests (migration 12)."""
    row = one(db, "SELECT key FROM quota_account_key WHERE id = 1")
    assert row is not None
    return str(row["key"])


def period_totals(db: sqlite_utils.Database, user_id: str, accounts: Sequence[str], period: str) -> tuple[int, int]:
    """(spent, granted) in a period: reservations net of refunds (negative), and grants.

    Rows of the user, or spent by any of `accounts` (digests) under whichever user they had then, plus what
    forgotten users of those accounts left in the carry-over."""
    marks = ",".join("?" for _ in accounts) or "NULL"
    row = one(
        db,
        f"""SELECT COALESCE(SUM(CASE WHEN kind IN ('reserve', 'refund') THEN credits END), 0) AS spent,
                  COALESCE(SUM(CASE WHEN kind = 'grant' THEN credits END), 0) AS granted
           FROM quota_ledger WHERE period = ? AND (user_id = ? OR account_sha256 IN ({marks}))""",
        [period, user_id, *accounts],
    )
    assert row is not None
    carried = one(
        db,
        f"SELECT COALESCE(SUM(credits_used), 0) AS used FROM quota_carryover"
        f" WHERE period = ? AND account_sha256 IN ({marks})",
        [period, *accounts],
    )
    assert carried is not None
    return int(row["spent"]) - int(carried["used"]), int(row["granted"])


_CARRY = """INSERT INTO quota_carryover (account_sha256, period, credits_used)
    SELECT {account}, period, -SUM(credits) FROM quota_ledger
    WHERE user_id = ? AND period >= ? AND kind IN ('reserve', 'refund') AND {which}
    GROUP BY {group} HAVING -SUM(credits) > 0
    ON CONFLICT (account_sha256, period) DO UPDATE SET credits_used = credits_used + excluded.credits_used"""


def carry_over(db: sqlite_utils.Database, user_id: str, accounts: Sequence[str], since_period: str) -> None:
    """Before a user's ledger is erased: keep, per account digest and period from `since_period` on, the credits
    used. Each row counts for the account that spent it (one since detached included); a row spent before
    accounts were recorded counts against every one of `accounts`, the user's own."""
    db.execute(
        _CARRY.format(account="account_sha256", which="account_sha256 IS NOT NULL", group="account_sha256, period"),
        [user_id, since_period],
    )
    for account in accounts:
        db.execute(
            _CARRY.format(account="?", which="account_sha256 IS NULL", group="period"), [account, user_id, since_period]
        )


def drop_carryover_before(db: sqlite_utils.Database, period: str) -> None:
    """Carry-over of quota days that have ended: it limits nothing any more."""
    db.execute("DELETE FROM quota_carryover WHERE period < ?", [period])


def add_entry(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "quota_ledger", row)


def reservation(db: sqlite_utils.Database, job_id: str) -> dict[str, Any] | None:
    return one(
        db,
        "SELECT user_id, credits, period, account_sha256 FROM quota_ledger WHERE job_id = ? AND kind = 'reserve'",
        [job_id],
    )


def is_settled(db: sqlite_utils.Database, job_id: str) -> bool:
    settled = one(db, "SELECT kind FROM quota_ledger WHERE job_id = ? AND kind IN ('commit', 'refund')", [job_id])
    return settled is not None


def ledger_by_job(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per job: its state and cost, and how many reserve/commit/refund entries it has, with their net credits."""
    return list(
        db.query(
            """SELECT j.id, j.state,
                      SUM(l.kind = 'reserve') AS reserves, SUM(l.kind = 'commit') AS commits,
                      SUM(l.kind = 'refund') AS refunds, COALESCE(SUM(l.credits), 0) AS net, j.cost
               FROM jobs j LEFT JOIN quota_ledger l ON l.job_id = j.id GROUP BY j.id"""
        )
    )


def overrides(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM quota_overrides ORDER BY platform, guild_id, role"))
