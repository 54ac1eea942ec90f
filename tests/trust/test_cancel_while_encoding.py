"""A cancel that arrives while the clip is being encoded really cancels it, or honestly says it is too late (#16
finding 8): never "refunded" and then a charged, posted clip."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from core.events import JobCancelled, JobDone
from core.extensions import JobExtension
from core.records import JobRecord
from model.generator import Clip
from tests.support import actor, place, running_core, wait_for

PROMPT = "sora a red ball bounces --seconds 1 --size 96x64"


class HeldEncoding(JobExtension):
    """Holds each clip at the start of its encoding (in the encoder's thread) until the test lets it go."""

    def __init__(self) -> None:
        self.encoding = threading.Event()
        self.release = threading.Event()

    def finish_clip(self, clip: Clip, job: JobRecord) -> Clip:
        self.encoding.set()
        assert self.release.wait(20), "the test never released the encoding"
        return clip


async def _rows(core: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return await core.db.read(lambda db: [dict(r) for r in db.query(sql, params)])


async def test_a_cancel_during_encoding_stores_posts_and_charges_nothing(tmp_path: Path) -> None:
    held = HeldEncoding()
    async with running_core(tmp_path, features=lambda settings, backend: (None, [held])) as core:
        events = core.bus.subscribe()
        ana = actor("ana")
        reply = await core.handle_text(ana, place(), PROMPT)
        assert reply.ok, reply.text
        assert await asyncio.to_thread(held.encoding.wait, 20)
        assert (await _rows(core, "SELECT state FROM jobs WHERE id = ?", [reply.job_id]))[0]["state"] == "encoding"

        cancelled = await core.handle_text(ana, place(), f"cancel {reply.job_id}")
        held.release.set()
        ended = await wait_for(events, lambda e: isinstance(e, JobCancelled | JobDone) and e.job_id == reply.job_id)

        assert cancelled.ok and "refunded" in cancelled.text, cancelled.text
        assert isinstance(ended, JobCancelled)
        assert (await _rows(core, "SELECT state FROM jobs WHERE id = ?", [reply.job_id]))[0]["state"] == "cancelled"
        assert await _rows(core, "SELECT id FROM clips", []) == []
        assert await _rows(core, "SELECT id FROM deliveries WHERE job_id = ?", [reply.job_id]) == []
        assert [p for p in core.media.root.rglob("*") if p.is_file()] == []
        assert (await core.quota_status(ana, place())).used == 0


class HeldRecording(JobExtension):
    """Holds the write that records the clip (in the database's writer thread) until the test lets it go."""

    def __init__(self) -> None:
        self.recording = threading.Event()
        self.release = threading.Event()

    def check_finish(self, db: Any, job: JobRecord) -> None:
        self.recording.set()
        assert self.release.wait(20), "the test never released the recording"


async def test_a_cancel_racing_the_recording_of_the_clip_says_it_is_too_late(tmp_path: Path) -> None:
    held = HeldRecording()
    async with running_core(tmp_path, features=lambda settings, backend: (None, [held])) as core:
        events = core.bus.subscribe()
        ana = actor("ana")
        reply = await core.handle_text(ana, place(), PROMPT)
        assert await asyncio.to_thread(held.recording.wait, 20)

        # The cancel reads the job as still encoding; its own write queues behind the one recording the clip.
        cancelling = asyncio.create_task(core.handle_text(ana, place(), f"cancel {reply.job_id}"))
        await asyncio.sleep(1.0)
        held.release.set()
        late = await cancelling
        done = await wait_for(events, lambda e: isinstance(e, JobCancelled | JobDone) and e.job_id == reply.job_id)

        assert isinstance(done, JobDone)
        assert not late.ok and "refunded" not in late.text, late.text
        assert late.text.startswith(("too late", f"job `{reply.job_id}` is already done")), late.text
        assert (await core.quota_status(ana, place())).used > 0
