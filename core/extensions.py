"""Points where features (cameos, watermarks, signing) join a job's path without editing the service.

A JobExtension sees each job at six moments; every method has a do-nothing default, so an extension
overrides only what it needs. The service calls extensions in the order it was given them.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from core.identity import Actor, Place
from core.records import JobRecord
from model.generator import Clip, GenerationRequest


class JobExtension:
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
        """Inside the admission transaction: raise a SoraboxError to refuse; return params to add to the job."""
        return {}

    async def prepare(self, job: JobRecord, request: GenerationRequest) -> GenerationRequest:
        """Right before generation: raise a SoraboxError to cancel (and refund) with that message."""
        return request

    def finish_clip(self, clip: Clip, job: JobRecord) -> Clip:
        """In a worker thread, before encoding: change the frames or sound (a watermark)."""
        return clip

    def sign(self, data: bytes, job: JobRecord) -> bytes:
        """In a worker thread, after encoding: change the file (a signed manifest)."""
        return data

    def check_finish(self, db: sqlite_utils.Database, job: JobRecord) -> None:
        """Inside the finishing transaction, before the clip is recorded: raise a SoraboxError to cancel (and
        refund) the job instead; the encoded file is then discarded. The last word, after encoding."""

    def extra_deliveries(self, db: sqlite_utils.Database, job: JobRecord, clip_id: str) -> list[dict[str, Any]]:
        """Inside the finishing transaction: outbox rows to add (notices to people)."""
        return []
