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


def period_totals(db: sqlite_utils.Database, user_id: str, period: str) -> tuple[int, int]:
    """(spent, granted) in a period: reservations net of refunds (negative), and grants."""
    row = one(
        db,
        """SELECT COALESCE(SUM(CASE WHEN kind IN ('reserve', 'refund') THEN credits END), 0) AS spent,
                  COALESCE(SUM(CASE WHEN kind = 'grant' THEN credits END), 0) AS granted
           FROM quota_ledger WHERE user_id = ? AND period = ?""",
        [user_id, period],
    )
    assert row is not None
    return int(row["spent"]), int(row["granted"])


def add_entry(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    insert(db, "quota_ledger", row)


def reservation(db: sqlite_utils.Database, job_id: str) -> dict[str, Any] | None:
    return one(db, "SELECT user_id, credits, period FROM quota_ledger WHERE job_id = ? AND kind = 'reserve'", [job_id])


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
