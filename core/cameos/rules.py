"""Who may use a cameo: approvals, the visibility level, the owner's preferences, and revoking it; each takes effect
at once (consent is checked again right before generation and before encoding)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from core.cameos.commands import resolve_user
from core.cameos.consent import (
    VISIBILITY,
    CameoError,
    community_key,
    describe,
    get_cameo,
)
from core.errors import Refused, SoraboxError
from core.identity import Actor, Place
from core.jobs import store as jobstore
from core.people import names
from core.records import Reply, iso
from storage import cameos as cameo_rows

if TYPE_CHECKING:
    from core.cameos.service import Cameos


class CameoRules:
    def __init__(self, cameos: Cameos) -> None:
        self.cameos = cameos

    async def _reply(self, apply: Callable[[sqlite_utils.Database], str]) -> Reply:
        """Run one rule change in a write transaction; a refusal becomes a short answer."""
        try:
            return Reply(await self.cameos._write(apply))
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)

    async def allow(self, actor: Actor, place: Place, who: Actor | str, handle: str | None = None) -> Reply:
        """Approve a person for one of the actor's cameos (`who`: an Actor, or a mention / name)."""

        def apply(db: sqlite_utils.Database) -> str:
            now = self.cameos.now()
            owner, cameo = self.cameos._one_owned(db, actor, handle)
            remember_private_place(db, owner, actor, place, now)
            friend, label = _target(db, actor, who, now)
            if friend == owner:
                raise CameoError("you can always use your own cameo")
            cameo_rows.grant(db, cameo.id, friend, iso(now))
            jobstore.audit(db, "cameo_allowed", now, user_id=owner, cameo_id=cameo.id, grantee=friend)
            hint = "" if cameo.visibility != "me" else " (it is set to `me` only: `cameo who approved` lets them in)"
            return f"{label} may now use @{cameo.handle}{hint}"

        return await self._reply(apply)

    async def deny(self, actor: Actor, place: Place, who: Actor | str, handle: str | None = None) -> Reply:
        """Remove a person's approval (for the named cameo, or for all of the actor's cameos); takes effect at once."""

        def apply(db: sqlite_utils.Database) -> str:
            now = self.cameos.now()
            owner, mine = self.cameos._owned(db, actor, handle)
            friend, label = _target(db, actor, who, now)
            if friend == owner:
                raise CameoError("you can always use your own cameo; `cameo revoke` turns it off for everyone")
            ids = [c.id for c in mine]
            cameo_rows.ungrant(db, friend, ids)
            for cameo in mine:
                jobstore.audit(db, "cameo_denied", now, user_id=owner, cameo_id=cameo.id, grantee=friend)
            handles = ", ".join(f"@{c.handle}" for c in mine)
            return f"{label} may no longer use {handles}; their waiting clips with it will be cancelled"

        return await self._reply(apply)

    async def set_visibility(self, actor: Actor, place: Place, level: str, handle: str | None = None) -> Reply:
        """Who may use the cameo: me | approved | community (the community this is said in) | everyone."""
        if level not in VISIBILITY:
            return Reply("choose me, approved, community or everyone", ok=False)
        if level == "community" and place.is_private:
            return Reply("say `cameo who community` in the group whose members may use your cameo", ok=False)

        def apply(db: sqlite_utils.Database) -> str:
            now = self.cameos.now()
            owner, cameo = self.cameos._one_owned(db, actor, handle)
            scope = place.to_json() if level == "community" else None
            cameo_rows.set_visibility(db, cameo.id, level, scope, iso(now))
            jobstore.audit(db, "cameo_visibility", now, user_id=owner, cameo_id=cameo.id, level=level)
            return _described(db, cameo.handle)

        return await self._reply(apply)

    async def set_preferences(self, actor: Actor, place: Place, text: str, handle: str | None = None) -> Reply:
        """The owner's preferences: attached to every prompt that uses the cameo; `no X` clauses are refused topics."""
        refusal = self.cameos.core.moderation.check(text, community_key(place)) if text else None
        if refusal is not None:
            await self.cameos._audit(
                actor, "refusal", category=refusal.category, term=refusal.term, where="preferences"
            )
            return Reply(str(Refused(refusal.category, "preference text")), ok=False)

        def apply(db: sqlite_utils.Database) -> str:
            now = self.cameos.now()
            owner, cameo = self.cameos._one_owned(db, actor, handle)
            cameo_rows.set_preferences(db, cameo.id, text, iso(now))
            jobstore.audit(db, "cameo_preferences", now, user_id=owner, cameo_id=cameo.id)
            return _described(db, cameo.handle)

        return await self._reply(apply)

    async def revoke(self, actor: Actor, place: Place, handle: str | None = None) -> Reply:
        """Nobody may use the cameo from now on; waiting clips with it are cancelled and refunded when they come up."""

        def apply(db: sqlite_utils.Database) -> list[str]:
            now = self.cameos.now()
            owner, mine = self.cameos._owned(db, actor, handle)
            for cameo in mine:
                cameo_rows.revoke(db, cameo.id, iso(now))
                jobstore.audit(db, "cameo_revoked", now, user_id=owner, cameo_id=cameo.id)
            return [c.handle for c in mine]

        try:
            handles = await self.cameos._write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        names = ", ".join(f"@{h}" for h in handles)
        return Reply(
            f"{names}: turned off. Nobody can use it now; clips waiting with it will be cancelled and refunded. "
            "`cameo who approved` turns it back on."
        )


def approved_names(db: sqlite_utils.Database, cameo_id: str) -> list[str]:
    # By handle, or display name with its platform (core/people/names.py): a bare display name can be anyone's.
    return [names.user_label(db, user_id) for user_id in cameo_rows.approved_users(db, cameo_id)]


def _target(db: sqlite_utils.Database, actor: Actor, who: Actor | str, now: datetime) -> tuple[str, str]:
    if isinstance(who, Actor):  # the adapter resolved a mention or a picked member to the account
        return jobstore.user_for(db, who, now), names.account_label(db, who.platform, who.user_id, who.display_name)
    return resolve_user(db, actor, who, now)


def remember_private_place(db: sqlite_utils.Database, user_id: str, actor: Actor, place: Place, now: datetime) -> None:
    """Where to send this person notices about their cameo: the private chat they talk to us in."""
    if not place.is_private:
        return
    private = Place(place.platform, place.channel_id, is_private=True)
    cameo_rows.remember_private_place(db, user_id, place.platform, private.to_json(), actor.user_id, iso(now))


def _described(db: sqlite_utils.Database, handle: str) -> str:
    """The cameo as its owner sees it after a change (its settings and who may use it)."""
    updated = get_cameo(db, handle)
    assert updated is not None
    return describe(updated, approved_names(db, updated.id))
