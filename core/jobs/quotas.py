"""Daily credit allowances and the append-only ledger that spends them.

A job reserves its cost at admission (a negative row), and later either commits it (a zero row that
marks the reservation spent) or refunds it (a positive row). Credits left in a quota day are the
allowance plus the sum of that day's rows, so the ledger is the only truth and never updated in place.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from core.identity import Actor, Place
from storage import quotas as ledger
from storage import users


@dataclass(frozen=True)
class QuotaPolicy:
    """Credits: a 5 s clip at 640x360 costs 5. Larger frames cost in proportion to their pixels."""

    daily_credits: int = 60
    base_pixels: int = 640 * 360
    # The hour (UTC) a new quota day begins.
    reset_hour_utc: int = 0
    # The largest daily allowance a chat admin (Discord Manage Server, Telegram group admin) may set in their own
    # server or group: anyone can create one, so without a ceiling anyone could give themselves any amount.
    # Service admins are not bound by it.
    chat_admin_max_credits: int = 300

    def cost(self, seconds: float, width: int, height: int) -> int:
        factor = max(1.0, (width * height) / self.base_pixels)
        return max(1, math.ceil(round(seconds * factor, 6)))

    def period(self, now: datetime) -> str:
        """The quota day `now` falls in, as an ISO date."""
        return (now.astimezone(UTC) - timedelta(hours=self.reset_hour_utc)).date().isoformat()

    def resets_at(self, now: datetime) -> datetime:
        start = datetime.fromisoformat(self.period(now)).replace(tzinfo=UTC) + timedelta(hours=self.reset_hour_utc)
        return start + timedelta(days=1)


@dataclass(frozen=True)
class QuotaStatus:
    allowance: int
    used: int
    granted: int
    remaining: int
    resets_at: datetime


def allowance(db: sqlite_utils.Database, policy: QuotaPolicy, actor: Actor, place: Place) -> int:
    """The daily allowance for this person here: the most specific override wins.

    Specificity: a guild-and-role override beats a guild one, which beats a platform-wide role one,
    which beats a platform-wide one. Among several matching roles at the same level, the largest wins.
    """
    guild = place.guild_id or ""
    rows = ledger.matching_overrides(db, actor.platform, guild, list(actor.roles))
    best: tuple[int, int] | None = None
    for row in rows:
        rank = (2 if row["guild_id"] else 0) + (1 if row["role"] else 0)
        candidate = (rank, row["daily_credits"])
        if best is None or candidate > best:
            best = candidate
    return policy.daily_credits if best is None else best[1]


def account_digest(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> str:
    """A platform account, as the ledger and the carry-over name it: keyed, so it reveals no account id."""
    key = ledger.account_key(db).encode()
    return hmac.new(key, f"{platform}\0{platform_user_id}".encode(), hashlib.sha256).hexdigest()


def accounts_of(db: sqlite_utils.Database, user_id: str, actor: Actor | None = None) -> list[str]:
    """Digests of the user's platform accounts, and the actor's (who may not have a user yet)."""
    found = [account_digest(db, i["platform"], i["platform_user_id"]) for i in users.identities_of(db, user_id)]
    if actor is not None:
        found.append(account_digest(db, actor.platform, actor.user_id))
    return sorted(set(found))


def status(
    db: sqlite_utils.Database, policy: QuotaPolicy, user_id: str, actor: Actor, place: Place, now: datetime
) -> QuotaStatus:
    """Daily use follows the platform accounts (#16 finding 3): what the user spent, what any of their accounts spent
    under another user (before an `unlink`), and what a forgotten user of theirs left in the carry-over."""
    period = policy.period(now)
    spent, granted = ledger.period_totals(db, user_id, accounts_of(db, user_id, actor), period)
    daily = allowance(db, policy, actor, place)
    used = -spent
    return QuotaStatus(daily, used, granted, daily + granted - used, policy.resets_at(now))


def record(
    db: sqlite_utils.Database,
    *,
    user_id: str,
    kind: str,
    credits: int,
    period: str,
    now: datetime,
    job_id: str | None = None,
    note: str = "",
    account: str | None = None,
) -> None:
    """One ledger row; `account` is the digest of the platform account that spent or received it."""
    ledger.add_entry(
        db,
        {
            "user_id": user_id,
            "job_id": job_id,
            "kind": kind,
            "credits": credits,
            "period": period,
            "created_at": now.isoformat(),
            "note": note,
            "account_sha256": account,
        },
    )


def keep_anonymous_usage(db: sqlite_utils.Database, policy: QuotaPolicy, user_id: str, now: datetime) -> None:
    """Before `forgetme` erases a user's ledger: only per-account digests with today's credits used stay, until the
    quota day ends, so coming back does not bring a fresh allowance."""
    period = policy.period(now)
    drop_ended_carryover(db, period)
    ledger.carry_over(db, user_id, accounts_of(db, user_id), period)


def drop_ended_carryover(db: sqlite_utils.Database, period: str) -> None:
    """The carry-over of quota days before `period` limits nothing any more; it goes."""
    ledger.drop_carryover_before(db, period)


def settle(db: sqlite_utils.Database, job_id: str, outcome: str, now: datetime) -> None:
    """Commit or refund a job's reservation, once: the unique index refuses a second settlement."""
    reserve = ledger.reservation(db, job_id)
    if reserve is None or ledger.is_settled(db, job_id):
        return
    credits = 0 if outcome == "commit" else -int(reserve["credits"])
    record(
        db,
        user_id=reserve["user_id"],
        kind=outcome,
        credits=credits,
        period=reserve["period"],
        now=now,
        job_id=job_id,
        account=reserve["account_sha256"],
    )


def unbalanced_jobs(db: sqlite_utils.Database) -> list[str]:
    """Jobs whose ledger does not match their state; empty when the ledger balances.

    A finished job has exactly one reserve and one settlement (commit when done, refund when failed or
    cancelled); an active job has a reserve and no settlement.
    """
    bad = []
    for r in ledger.ledger_by_job(db):
        expected = {
            "done": (1, 1, 0, -r["cost"]),
            "failed": (1, 0, 1, 0),
            "cancelled": (1, 0, 1, 0),
        }.get(r["state"], (1, 0, 0, -r["cost"]))
        if (r["reserves"], r["commits"], r["refunds"], r["net"]) != expected:
            bad.append(r["id"])
    return bad
