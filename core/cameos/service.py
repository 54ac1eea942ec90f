"""Cameos: a person's face and voice, usable in clips by the people they allow, revocable at any moment.

`cameo_features(settings, backend)` builds the `Cameos` object and the provenance extensions; the composition
root passes both to `Sorabox(cameos=..., extensions=...)`, which registers the `cameo ...`, `forgetme` and
cameo-aware `delete` commands and puts `cameos.extension` first in the job's path. That extension checks consent at
admission, again right before generation and again before encoding, hands the face and voice to the generator,
records each use and writes a notice to the cameo's owner. Adapters reach the service as `core.cameos` and upload
reference videos through `await cameos.create(...)`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from core.cameos.consent import (
    Cameo,
    CameoError,
    UnknownCameo,
    cameos_of,
    community_key,
    describe,
    get_cameo,
    normalise_handle,
)
from core.commands import PARSERS, Delete
from core.errors import NotAllowed, Refused, SoraboxError, UnknownClip
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.jobs import store as jobstore
from core.people.forget import ForgetReport, forget_user, mark_clips_deleted, settle_removal
from core.provenance.c2pa import provenance_extensions
from core.records import Reply, iso, new_id
from core.texts import short
from model.likeness import (
    Likeness,
    LikenessChecker,
    LikenessError,
    LikenessPolicy,
    face_png,
    voice_wav,
)
from storage import cameos as cameo_rows

if TYPE_CHECKING:
    from core.service import Sorabox
    from core.settings import Settings

from core.cameos.commands import (
    CAMEO_USAGE,
    FORGET_USAGE,
    CameoCommand,
    ForgetMe,
    parse_cameo,
    parse_forget,
    resolve_user,
)
from core.cameos.extension import CameoExtension
from core.cameos.rules import CameoRules, approved_names, remember_private_place

# How long `forgetme confirm` may follow `forgetme`.
FORGET_CONFIRM_WINDOW = timedelta(minutes=10)
HONESTY = (
    "These checks show that a face and a voice are present; they do not prove who you are. "
    "Your account is what makes this cameo yours."
)

# -- the service object -------------------------------------------------------------------------------


class Cameos:
    """Cameo records and commands over one Sorabox (the one it is passed to: `Sorabox(cameos=...)`)."""

    def __init__(
        self,
        checker: LikenessChecker | None = None,
        policy: LikenessPolicy | None = None,
        service_name: str = "sorabox",
    ) -> None:
        self._core: Sorabox | None = None
        self._checker = checker
        self.policy = policy or LikenessPolicy()
        self.service_name = service_name
        self.extension = CameoExtension(self)
        self.rules = CameoRules(self)

    @classmethod
    def from_settings(cls, settings: Settings, checker: LikenessChecker | None = None) -> Cameos:
        policy = LikenessPolicy(max_bytes=settings.cameo_max_bytes)
        return cls(checker, policy, service_name=settings.service_name)

    def attach(self, core: Sorabox) -> None:
        """Called once by the Sorabox this is passed to, while it is built: add the cameo commands to its grammar."""
        if self._core is not None:
            raise RuntimeError("these cameos already belong to a core")
        self._core = core
        core.register_command("cameo", parse_cameo, CameoCommand, self.handle, CAMEO_USAGE)
        core.register_command("forgetme", parse_forget, ForgetMe, self.forget, FORGET_USAGE)
        # Deleting a clip also deletes the notices its cameos' owners were sent.
        core.register_command("delete", PARSERS["delete"], Delete, lambda a, p, c: self.delete_clip(a, p, c.clip_id))

    @property
    def core(self) -> Sorabox:
        if self._core is None:
            raise RuntimeError("cameos work once passed to a core: Sorabox(cameos=...)")
        return self._core

    @property
    def checker(self) -> LikenessChecker:
        # Built on first use: the cascade and VAD model cost a second to load, and most commands need neither.
        if self._checker is None:
            self._checker = LikenessChecker(self.policy)
        return self._checker

    def now(self) -> datetime:
        return self.core.now()

    async def _write(self, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
        return await self.core.db.write(fn)

    # -- commands -----------------------------------------------------------------------------------

    async def handle(self, actor: Actor, place: Place, command: CameoCommand) -> Reply:
        """Run a parsed `cameo ...` command."""
        try:
            if command.action == "create":
                return Reply(
                    f"send your reference video (3–15 s, your face in view, saying a sentence or two) with the "
                    f"caption `cameo create {command.handle}`",
                    ok=False,
                    data={"needs_video": True, "handle": command.handle},
                )
            if command.action == "list":
                return await self.list_cameos(actor, place)
            if command.action == "settings":
                return await self.describe(actor, place, command.handle)
            if command.action == "who":
                assert command.level is not None
                return await self.set_visibility(actor, place, command.level, command.handle)
            if command.action == "prefs":
                return await self.set_preferences(actor, place, command.text, command.handle)
            if command.action in ("allow", "deny"):
                assert command.target is not None
                change = self.allow if command.action == "allow" else self.deny
                return await change(actor, place, command.target, command.handle)
            if command.action == "revoke":
                return await self.revoke(actor, place, command.handle)
            if command.action == "clips":
                return await self.clips(actor, place, command.handle)
            if command.action == "delete":
                assert command.handle is not None
                return await self.delete_cameo(actor, place, command.handle)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        return Reply(f"usage: {CAMEO_USAGE}", ok=False)

    # -- creating -----------------------------------------------------------------------------------

    async def create(
        self, actor: Actor, place: Place, handle: str, video: bytes, display_name: str | None = None
    ) -> Reply:
        """Create a cameo from a reference video the adapter downloaded; never raises for bad input."""
        try:
            handle = normalise_handle(handle)
            self._require_private(place)
            await self._ensure_free(actor, place, handle, display_name)
            likeness = await asyncio.to_thread(self.checker.check, video)
        except LikenessError as exc:
            await self._audit(actor, "cameo_refused", stage="create", handle=handle, reason=str(exc))
            return Reply(f"I can't make cameo @{handle} from that video: {exc}", ok=False)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        return await self.create_from_likeness(actor, place, handle, likeness, video, display_name)

    async def create_from_likeness(
        self,
        actor: Actor,
        place: Place,
        handle: str,
        likeness: Likeness,
        reference: bytes | None = None,
        display_name: str | None = None,
    ) -> Reply:
        """Store a checked likeness as a new cameo (owner: the actor; usable by them and people they approve)."""
        try:
            handle = normalise_handle(handle)
            self._require_private(place)
            await self._ensure_free(actor, place, handle, display_name)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        media = self.core.media
        face = await asyncio.to_thread(media.put, face_png(likeness.face), ".png")
        voice = await asyncio.to_thread(media.put, voice_wav(likeness.voice, likeness.sample_rate), ".wav")
        ref = await asyncio.to_thread(media.put, reference, ".ref.mp4") if reference else None
        name = (display_name or actor.display_name or handle)[:64]

        def insert_cameo(db: sqlite_utils.Database) -> str:
            now = self.now()
            user_id = jobstore.user_for(db, actor, now)
            if get_cameo(db, handle) is not None:
                raise CameoError(f"the handle @{handle} is taken; pick another")
            cameo_id = new_id()
            cameo_rows.add(
                db,
                {
                    "id": cameo_id,
                    "owner_user_id": user_id,
                    "handle": handle,
                    "display_name": name,
                    "preferences": "",
                    "visibility": "approved",
                    "face_sha256": face,
                    "voice_sha256": voice,
                    "reference_sha256": ref,
                    "voice_sample_rate": likeness.sample_rate,
                    "checks": json.dumps(likeness.checks),
                    "created_at": iso(now),
                    "updated_at": iso(now),
                },
            )
            remember_private_place(db, user_id, actor, place, now)
            jobstore.audit(db, "cameo_created", now, user_id=user_id, cameo_id=cameo_id, handle=handle)
            return cameo_id

        try:
            await self._write(insert_cameo)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        checks = likeness.checks
        seen = (
            f"a face in {checks['frames_with_face']} of {checks['frames_sampled']} sampled frames and "
            f"{checks['speech_seconds']:.1f} s of speech"
            if "frames_with_face" in checks
            else "a face and a voice"
        )
        return Reply(
            f"created cameo @{handle}: I found {seen}. {HONESTY} For now only you can use it; "
            f"let a friend in with `cameo allow @friend`, or see `cameo settings`.",
            data={"handle": handle, "checks": checks},
        )

    def _require_private(self, place: Place) -> None:
        # A reference video is personal: not posted into a group. The web console and CLI are one person's view.
        if not place.is_private and place.platform not in ("web", "cli"):
            raise CameoError("create cameos in a private chat with me, not in a group")

    async def _ensure_free(self, actor: Actor, place: Place, handle: str, display_name: str | None) -> None:
        texts = [handle.replace("_", " "), display_name or ""]
        for text in texts:
            refusal = self.core.moderation.check(text, community_key(place))
            if refusal is not None:
                raise Refused(refusal.category, "cameo name")
        if await self.core.db.read(lambda db: get_cameo(db, handle)) is not None:
            raise CameoError(f"the handle @{handle} is taken; pick another")

    # -- changing who may use it ------------------------------------------------------------------

    def _owned(self, db: sqlite_utils.Database, actor: Actor, handle: str | None) -> tuple[str, list[Cameo]]:
        """The actor's user id and the cameos a command is about: the named one, or all of theirs."""
        user_id = jobstore.user_for(db, actor, self.now())
        if handle is not None:
            cameo = get_cameo(db, handle)
            if cameo is None:
                raise UnknownCameo(handle)
            if cameo.owner_user_id != user_id:
                raise NotAllowed(f"@{handle} is not your cameo")
            return user_id, [cameo]
        mine = cameos_of(db, user_id)
        if not mine:
            raise CameoError("you have no cameo yet; create one with `cameo create <handle>` and a video of yourself")
        return user_id, mine

    def _one_owned(self, db: sqlite_utils.Database, actor: Actor, handle: str | None) -> tuple[str, Cameo]:
        user_id, mine = self._owned(db, actor, handle)
        if len(mine) > 1:
            names = ", ".join(f"@{c.handle}" for c in mine)
            raise CameoError(f"you have several cameos ({names}); add --cameo <handle>")
        return user_id, mine[0]

    # -- who may use a cameo (core/cameos/rules.py) --------------------------------------------------------

    async def allow(self, actor: Actor, place: Place, who: Actor | str, handle: str | None = None) -> Reply:
        return await self.rules.allow(actor, place, who, handle)

    async def deny(self, actor: Actor, place: Place, who: Actor | str, handle: str | None = None) -> Reply:
        return await self.rules.deny(actor, place, who, handle)

    async def set_visibility(self, actor: Actor, place: Place, level: str, handle: str | None = None) -> Reply:
        return await self.rules.set_visibility(actor, place, level, handle)

    async def set_preferences(self, actor: Actor, place: Place, text: str, handle: str | None = None) -> Reply:
        return await self.rules.set_preferences(actor, place, text, handle)

    async def revoke(self, actor: Actor, place: Place, handle: str | None = None) -> Reply:
        return await self.rules.revoke(actor, place, handle)

    async def describe(self, actor: Actor, place: Place, handle: str | None = None) -> Reply:
        def load(db: sqlite_utils.Database) -> str:
            _, mine = self._owned(db, actor, handle)
            return "\n".join(describe(c, approved_names(db, c.id)) for c in mine)

        try:
            return Reply(await self._write(load))
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)

    async def handle_of(self, platform: str, platform_user_id: str) -> str | None:
        """The handle of the cameo a platform account owns (its first one still on), for pickers like
        Discord's `cameo:<user>` option; None when that person has none."""

        def load(db: sqlite_utils.Database) -> str | None:
            return cameo_rows.first_live_handle_of_account(db, platform, platform_user_id)

        return await self.core.db.read(load)

    async def sole_handle_of(self, platform: str, platform_user_id: str) -> str | None:
        """The handle of the one cameo a platform account owns (on or off), for a prompt that names the person
        (a Telegram mention) instead of the cameo; None when they own none, or several (picking one would be a
        guess). An off cameo still counts, so the prompt is refused with the reason rather than "no cameo"."""

        def load(db: sqlite_utils.Database) -> str | None:
            handles = cameo_rows.handles_of_account(db, platform, platform_user_id, limit=2)
            return handles[0] if len(handles) == 1 else None

        return await self.core.db.read(load)

    async def list_cameos(self, actor: Actor, place: Place) -> Reply:
        def load(db: sqlite_utils.Database) -> list[Cameo]:
            return cameos_of(db, jobstore.user_for(db, actor, self.now()))

        mine = await self._write(load)
        if not mine:
            return Reply("you have no cameo yet; `cameo create <handle>` with a short video of yourself makes one")
        lines = [f"@{c.handle} — {c.display_name}" + (" (off)" if c.revoked_at else f" ({c.visibility})") for c in mine]
        return Reply("your cameos:\n" + "\n".join(lines), data={"handles": [c.handle for c in mine]})

    # -- the owner's view of clips ----------------------------------------------------------------

    async def clips(self, actor: Actor, place: Place, handle: str | None = None) -> Reply:
        """Every clip, made by anyone anywhere, that shows one of the actor's cameos."""

        def load(db: sqlite_utils.Database) -> list[dict[str, Any]]:
            _, mine = self._owned(db, actor, handle)
            ids = [c.id for c in mine]
            return cameo_rows.clips_showing(db, ids)

        try:
            rows = await self.core.db.write(load)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        if not rows:
            return Reply("no clip shows your cameo", data={"clips": []})
        lines = [f"`{r['clip_id']}` @{r['handle']} by {r['author']}: {short(r['prompt'], 60)}" for r in rows]
        return Reply(
            "clips with your cameo (delete one with `delete <clip>`):\n" + "\n".join(lines), data={"clips": rows}
        )

    async def delete_clip(self, actor: Actor, place: Place, clip_id: str) -> Reply:
        """`delete <clip>`: a cameo's owner may delete any clip that shows them; anyone else goes through the core."""

        def check(db: sqlite_utils.Database) -> str | None:
            user_id = jobstore.existing_user(db, actor)
            if user_id is None:
                return None
            return None if cameo_rows.owner_handle_in_clip(db, clip_id, user_id) is None else user_id

        owner = await self.core.db.read(check)
        if owner is None:
            return await self.core.delete_clip(actor, place, clip_id)
        if await self.core.db.read(lambda db: jobstore.get_clip(db, clip_id)) is None:
            return Reply(str(UnknownClip(clip_id)), ok=False)
        now_iso = iso(self.now())
        removal = await self._write(
            lambda db: mark_clips_deleted(
                db, [clip_id], by_user_id=owner, reason="deleted by the cameo's owner", now_iso=now_iso
            )
        )
        await settle_removal(self.core, removal)
        return Reply(f"deleted clip `{clip_id}`", clip_id=clip_id)

    async def delete_cameo(self, actor: Actor, place: Place, handle: str) -> Reply:
        """Remove a cameo and its face, voice and reference video; clips already made stay until deleted."""

        def apply(db: sqlite_utils.Database) -> Cameo:
            now = self.now()
            owner, cameo = self._one_owned(db, actor, handle)
            # The uses stay: a remix of a clip that shows this cameo must find it gone and refuse.
            cameo_rows.delete(db, cameo.id)
            jobstore.audit(db, "cameo_deleted", now, user_id=owner, handle=cameo.handle)
            return cameo

        try:
            cameo = await self._write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        for sha, suffix in (
            (cameo.face_sha256, ".png"),
            (cameo.voice_sha256, ".wav"),
            (cameo.reference_sha256, ".ref.mp4"),
        ):
            if sha:
                await asyncio.to_thread(self.core.media.delete, sha, suffix)
        return Reply(f"deleted cameo @{cameo.handle} with its face, voice and reference video")

    # -- forgetting a person ----------------------------------------------------------------------

    async def forget(self, actor: Actor, place: Place, command: ForgetMe) -> Reply:
        """`forgetme` asks, `forgetme confirm` deletes everything of the actor (or, for an admin, of a named user)."""

        def resolve(db: sqlite_utils.Database) -> tuple[str, str, str | None]:
            now = self.now()
            me = jobstore.user_for(db, actor, now)
            if command.target is None:
                return me, me, None
            if not jobstore.is_service_admin(db, me):
                raise NotAllowed("only a service admin can delete someone else's data")
            target, label = resolve_user(db, actor, command.target, now)
            return me, target, label

        try:
            me, target, label = await self._write(resolve)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        whose = "your" if label is None else f"{label}'s"
        if not command.confirm:

            def ask(db: sqlite_utils.Database) -> None:
                cameo_rows.ask_forget(db, target, me, iso(self.now()))

            await self._write(ask)
            again = "forgetme confirm" if label is None else f"forgetme {command.target} confirm"
            return Reply(
                f"this deletes {whose} accounts, cameos, reference videos and clips everywhere I posted them "
                f"(clips others remixed stay, without {whose} name). It cannot be undone. "
                f"Send `{again}` within {int(FORGET_CONFIRM_WINDOW.total_seconds() // 60)} minutes to go ahead.",
                data={"needs_confirmation": True},
            )
        request = await self.core.db.read(lambda db: cameo_rows.forget_request(db, target, me))
        if request is None or self.now() - datetime.fromisoformat(request["requested_at"]) > FORGET_CONFIRM_WINDOW:
            return Reply("send `forgetme` first; then confirm within 10 minutes", ok=False)
        report = await self.forget_user(target, by="self" if label is None else me)
        return Reply(
            f"done: deleted {whose} data — {report.clips_deleted} clip(s), {report.cameos_deleted} cameo(s); "
            f"{report.placeholders} clip(s) that others built on stay without a name; "
            f"{report.jobs_cancelled} waiting job(s) cancelled. "
            "I keep only an anonymous count of the credits used today on each account (no name or id), "
            f"until the quota day ends at {self.core.settings.quota.resets_at(self.now()):%H:%M} UTC, "
            "so forgetting does not reset the daily limit.",
            data={"report": dataclasses.asdict(report)},
        )

    async def forget_user(self, user_id: str, *, by: str) -> ForgetReport:
        """Delete one user's data now, no questions asked (the CLI's admin command and `forgetme confirm`)."""
        return await forget_user(self.core, user_id, by=by)

    async def _audit(self, actor: Actor, kind: str, **detail: Any) -> None:
        await self._write(
            lambda db: jobstore.audit(db, kind, self.now(), user_id=jobstore.user_for(db, actor, self.now()), **detail)
        )


# -- wiring -------------------------------------------------------------------------------------------


def cameo_features(
    settings: Settings, backend: str, checker: LikenessChecker | None = None, provenance: bool = True
) -> tuple[Cameos, list[JobExtension]]:
    """The cameo service and, with `provenance`, the watermark and (when SORABOX_C2PA_CERT and SORABOX_C2PA_KEY are
    set) C2PA signing, for `Sorabox(cameos=..., extensions=...)`. The core puts the consent extension first (a
    refused cameo stops a job before anything else spends work on it); provenance goes last, so the signature covers
    the watermarked pixels."""
    cameos = Cameos.from_settings(settings, checker)
    return cameos, provenance_extensions(settings, backend) if provenance else []


__all__ = [
    "CameoCommand",
    "CameoExtension",
    "Cameos",
    "ForgetMe",
    "cameo_features",
    "parse_cameo",
    "parse_forget",
    "resolve_user",
]
