"""Credits and rights: a person's quota, allowance overrides, grants, and making a service admin."""

from __future__ import annotations

import sqlite_utils

from core.errors import NotAllowed, SoraboxError
from core.identity import Actor, Place
from core.jobs import quotas
from core.jobs import store as jobstore
from core.kernel import Kernel
from core.records import Reply, iso
from core.texts import duration
from storage import quotas as ledger
from storage import users

MAX_GRANT = 100_000  # credits one grant may give: a typo should not hand out millions


class Admin:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def quota_status(self, actor: Actor, place: Place) -> quotas.QuotaStatus:
        def load(db: sqlite_utils.Database) -> quotas.QuotaStatus:
            user_id = jobstore.existing_user(db, actor) or ""
            return quotas.status(db, self.k.settings.quota, user_id, actor, place, self.k.now())

        return await self.k.db.read(load)

    async def quota(self, actor: Actor, place: Place) -> Reply:
        """The `quota` command: what is left today, when it resets, and what a short clip costs."""
        status = await self.quota_status(actor, place)
        left = status.resets_at - self.k.now()
        text = (
            f"{max(0, status.remaining)} of {status.allowance + status.granted} credits left today; "
            f"they reset at {status.resets_at:%H:%M} UTC (in {duration(left.total_seconds())}). "
            f"A 5 s clip at 640x360 costs {self.k.settings.quota.cost(5, 640, 360)}."
        )
        return Reply(text, data={"remaining": status.remaining, "allowance": status.allowance})

    async def set_quota_override(
        self, actor: Actor, platform: str, guild_id: str | None, role: str | None, daily_credits: int | None
    ) -> Reply:
        """Set (or with None, remove) a daily allowance for a platform, a guild/chat and optionally a role."""
        if daily_credits is not None and not 0 <= daily_credits <= 1_000_000:
            return Reply("the daily allowance must be between 0 and 1000000 credits", ok=False)
        k = self.k

        def apply(db: sqlite_utils.Database) -> None:
            user_id = jobstore.user_for(db, actor, k.now())
            guild_admin = actor.is_admin and actor.platform == platform and guild_id is not None
            service_admin = jobstore.is_service_admin(db, user_id)
            if not (guild_admin or service_admin):
                raise NotAllowed("only an admin can change quotas")
            # Anyone can make a server or group and be its admin: what they may give it is the service admin's call.
            ceiling = k.settings.quota.chat_admin_max_credits
            if not service_admin and daily_credits is not None and daily_credits > ceiling:
                raise NotAllowed(
                    f"a chat admin can set at most {ceiling} credits a day; "
                    "the service's admin chooses that ceiling (SORABOX_CHAT_ADMIN_MAX_CREDITS)"
                )
            key = [platform, guild_id or "", role or ""]
            ledger.set_override(db, key, daily_credits, iso(k.now()))
            jobstore.audit(db, "quota_override", k.now(), user_id=user_id, key=key, daily_credits=daily_credits)

        try:
            await k.db.write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        where = f"{platform}" + (f" guild {guild_id}" if guild_id else "") + (f" role {role}" if role else "")
        if daily_credits is None:
            return Reply(f"removed the daily allowance override for {where}")
        return Reply(f"daily allowance for {where} is now {daily_credits} credits")

    async def grant_credits(self, to: Actor, credits: int, *, by: Actor | None = None, note: str = "") -> Reply:
        """Give a person extra credits for today. `by` must be a service admin; None is the operator at the
        machine (`sorabox quota USER --grant N`)."""
        if not 1 <= credits <= MAX_GRANT:
            return Reply(f"a grant is 1 to {MAX_GRANT} credits, got {credits}", ok=False)
        k = self.k

        def apply(db: sqlite_utils.Database) -> None:
            now = k.now()
            admin_id = jobstore.user_for(db, by, now) if by is not None else None
            if admin_id is not None and not jobstore.is_service_admin(db, admin_id):
                raise NotAllowed("only a service admin can grant credits")
            user_id = jobstore.user_for(db, to, now)
            quotas.record(
                db,
                user_id=user_id,
                kind="grant",
                credits=credits,
                period=k.settings.quota.period(now),
                now=now,
                note=note,
                account=quotas.account_digest(db, to.platform, to.user_id),
            )
            jobstore.audit(db, "grant", now, user_id=user_id, credits=credits, by=admin_id or "operator", note=note)

        try:
            await k.db.write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        return Reply(f"granted {credits} credits to {to.display_name} for today")

    async def make_admin(self, actor: Actor) -> str:
        """Mark a person as a service admin (the CLI and the console's first start use this)."""

        def apply(db: sqlite_utils.Database) -> str:
            user_id = jobstore.user_for(db, actor, self.k.now())
            users.set_admin(db, user_id)
            jobstore.audit(db, "admin_granted", self.k.now(), user_id=user_id)
            return user_id

        return await self.k.db.write(apply)
