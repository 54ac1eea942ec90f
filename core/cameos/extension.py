"""The cameo extension: consent checked at admission, right before generation and before encoding; the face and
voice handed to the generator; each use recorded, and a notice written to each cameo's owner."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlite_utils

from core.cameos.consent import (
    Cameo,
    ConsentRefused,
    PreferenceRefused,
    check_consent,
    check_preferences,
    job_cameos,
    refusal_reason,
    wishes,
)
from core.commands import cameo_handles
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.jobs import store as jobstore
from core.people import names as people_names
from core.records import JobRecord, iso
from core.texts import short
from model.generator import CameoRef, Clip, GenerationRequest
from model.likeness import (
    face_from_png,
    voice_from_wav,
)
from storage import cameos as cameo_rows
from storage import users

if TYPE_CHECKING:
    from core.cameos.service import Cameos


def notice_place(db: sqlite_utils.Database, user_id: str) -> Place | None:
    """The owner's private chat: the one they last used with us, else a direct message to their first account."""
    private = cameo_rows.latest_private_place(db, user_id)
    if private is not None:
        return Place.from_json(private)
    identity = users.first_identity(db, user_id)
    if identity is None:
        return None
    # Telegram's private chat id is the user id; Discord adapters open a DM to the user id.
    return Place(identity["platform"], identity["platform_user_id"], is_private=True)


# -- the extension ------------------------------------------------------------------------------------


class CameoExtension(JobExtension):
    """Consent at admission, before generation, before encoding and when the clip is recorded; likeness to the
    generator; uses and notices."""

    def __init__(self, cameos: Cameos) -> None:
        self.cameos = cameos

    def check_admission(
        self,
        db: sqlite_utils.Database,
        *,
        user_id: str,
        actor: Actor,
        place: Place,
        kind: str,
        prompt: str,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        handles = list(dict.fromkeys([*params.get("cameos", []), *cameo_handles(prompt)]))
        found = job_cameos(db, handles, params.get("sources", []))
        if not found:
            return {}
        for cameo in found:
            reason = refusal_reason(db, cameo, user_id, place)
            if reason is not None:
                # `job_kind`, not `kind`: that is audit()'s own argument, and the clash lost this row.
                self._audit_after(
                    "cameo_refused", user_id, cameo_id=cameo.id, stage="admission", reason=reason, job_kind=kind
                )
                raise ConsentRefused(cameo.handle, reason)
            refusal = check_preferences(prompt, cameo)
            if refusal is not None:
                self._audit_after(
                    "refusal", user_id, category=refusal.category, term=refusal.term, cameo_id=cameo.id, where="prompt"
                )
                raise PreferenceRefused(cameo.handle, refusal.term)
        return {"cameos": [c.handle for c in found], "cameo_ids": [c.id for c in found]}

    def _audit_after(self, event: str, user_id: str, **detail: Any) -> None:
        # A refusal rolls the admission transaction back, audit row included: record it in a write of its own.
        now = self.cameos.now()
        self.cameos.core.db.submit_write(lambda db: jobstore.audit(db, event, now, user_id=user_id, **detail))

    async def prepare(self, job: JobRecord, request: GenerationRequest) -> GenerationRequest:
        ids = job.params.get("cameo_ids") or []
        if not ids:
            return request
        db = self.cameos.core.db
        try:
            found = await db.read(lambda rdb: check_consent(rdb, ids, job.user_id, job.origin))
        except ConsentRefused as exc:
            await db.write(partial(self._refused, job=job, stage="generation", reason=str(exc)))
            raise
        refs = [await asyncio.to_thread(self._ref, cameo) for cameo in found]
        extra = "; ".join(f"@{c.handle}: {w}" for c in found if (w := wishes(c.preferences)))
        prompt = f"{request.prompt} ({extra})" if extra else request.prompt
        return dataclasses.replace(request, prompt=prompt, cameos=tuple(refs))

    def _refused(self, db: sqlite_utils.Database, *, job: JobRecord, stage: str, reason: str) -> None:
        jobstore.audit(
            db, "cameo_refused", self.cameos.now(), user_id=job.user_id, job_id=job.id, stage=stage, reason=reason
        )

    def _ref(self, cameo: Cameo) -> CameoRef:
        media = self.cameos.core.media
        face = face_from_png(media.read(cameo.face_sha256, ".png")) if cameo.face_sha256 else None
        voice, rate = voice_from_wav(media.read(cameo.voice_sha256, ".wav")) if cameo.voice_sha256 else (None, 16_000)
        return CameoRef(cameo.handle, cameo.display_name, face, voice, rate, cameo.preferences)

    def finish_clip(self, clip: Clip, job: JobRecord) -> Clip:
        ids = job.params.get("cameo_ids") or []
        if ids:
            # Generation takes a while: a revocation that arrived meanwhile still wins, before anything is stored.
            try:
                self.cameos.core.db.read_sync(lambda rdb: check_consent(rdb, ids, job.user_id, job.origin))
            except ConsentRefused as exc:
                self.cameos.core.db.write_sync(partial(self._refused, job=job, stage="encoding", reason=str(exc)))
                raise
        return clip

    def check_finish(self, db: sqlite_utils.Database, job: JobRecord) -> None:
        ids = job.params.get("cameo_ids") or []
        if ids:
            # In the transaction that records the clip: a revocation during encoding wins too.
            try:
                check_consent(db, ids, job.user_id, job.origin)
            except ConsentRefused as exc:
                self._audit_after("cameo_refused", job.user_id, job_id=job.id, stage="recording", reason=str(exc))
                raise

    def extra_deliveries(self, db: sqlite_utils.Database, job: JobRecord, clip_id: str) -> list[dict[str, Any]]:
        ids = job.params.get("cameo_ids") or []
        now = self.cameos.now()
        by_owner: dict[str, list[Cameo]] = {}
        for cameo_id in ids:
            row = cameo_rows.by_id(db, cameo_id)
            if row is None:
                continue
            cameo = Cameo.from_row(row)
            cameo_rows.add_use(
                db,
                {
                    "cameo_id": cameo.id,
                    "owner_user_id": cameo.owner_user_id,
                    "job_id": job.id,
                    "clip_id": clip_id,
                    "user_id": job.user_id,
                    "created_at": iso(now),
                },
            )
            jobstore.audit(
                db, "cameo_used", now, user_id=job.user_id, job_id=job.id, clip_id=clip_id, cameo_id=cameo.id
            )
            if cameo.owner_user_id != job.user_id:
                by_owner.setdefault(cameo.owner_user_id, []).append(cameo)
        rows = []
        for owner, used in by_owner.items():
            place = notice_place(db, owner)
            if place is None:
                continue
            names = ", ".join(f"@{c.handle}" for c in used)
            text = (
                f"{_requester(db, job.requester)} used your cameo {names} in clip `{clip_id}`: "
                f"“{short(job.prompt, 120)}”. "
                f"Delete it everywhere with `delete {clip_id}` (or the Delete button); `cameo clips` lists every clip "
                "with you in it; `cameo revoke` turns your cameo off."
            )
            payload = {
                "text": text,
                "clip_id": clip_id,
                "handles": [c.handle for c in used],
                "requester": job.requester.display_name,
                "prompt": job.prompt,
                "owner_user_id": owner,
                "buttons": ["delete"],
            }
            rows.append(
                {
                    "job_id": job.id,
                    "clip_id": clip_id,
                    "kind": "notice",
                    "platform": place.platform,
                    "destination": place.to_json(),
                    "payload": json.dumps(payload),
                    "state": "pending",
                    "created_at": iso(now),
                }
            )
        return rows


def _requester(db: sqlite_utils.Database, requester: Actor) -> str:
    """The display name with its platform, as the owner knows them from the chat (core/people/names.py)."""
    if requester.display_name and requester.display_name != requester.user_id:
        return people_names.by_name(requester.platform, requester.display_name)
    return people_names.account_label(db, requester.platform, requester.user_id)
