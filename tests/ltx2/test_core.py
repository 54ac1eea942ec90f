"""The ltx2 backend behind the real core: a command becomes a stored MP4 whose sound lasts as long as its picture."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from core.events import JobDone, JobFailed
from model.ltx2 import LTX2Generator
from model.media import probe
from tests.support import actor, place, running_core, wait_for

pytestmark = pytest.mark.ltx2


async def test_sora_then_extend_through_the_core_store_playable_clips(tiny_generator: LTX2Generator, tmp_path: Path):
    async with running_core(tmp_path, generator=tiny_generator) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), "sora a drummer plays a fast fill --size 96x64 --seconds 1")
        assert reply.ok, reply.text
        done = await wait_for(events, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id, 60)
        assert isinstance(done, JobDone), done

        record = await core.clip(done.clip_id)
        info = probe(core.media_path(record))
        assert (info.width, info.height, info.frame_count) == (96, 64, 25)
        assert abs(info.audio_seconds - info.seconds) <= 2 / info.fps
        assert record.backend == "ltx2" and record.state["seed"] is not None

        reply = await core.handle_text(actor(), place(), f"extend {done.clip_id} --seconds 1 the drummer keeps going")
        assert reply.ok, reply.text
        extended = await wait_for(events, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id, 60)
        assert isinstance(extended, JobDone), extended
        longer = probe(core.media_path(await core.clip(extended.clip_id)))
        assert longer.frame_count == 25 + 24
        assert abs(longer.audio_seconds - longer.seconds) <= 2 / longer.fps


async def test_the_posted_caption_shows_the_expanded_prompt_under_details(
    tiny_generator: LTX2Generator, tmp_path: Path
):
    async with running_core(tmp_path, generator=tiny_generator) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), "sora a red ball bounces at night --size 96x64 --seconds 1")
        assert reply.ok, reply.text
        done = await wait_for(events, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id, 60)
        assert isinstance(done, JobDone), done
        [delivery] = await core.claim_deliveries("test")

    lines = delivery.text.split("\n")
    assert lines[0] == "a red ball bounces at night"
    details = next(line for line in lines if line.startswith("details: "))
    assert details.startswith("details: a red ball bounces at night. The shot shows a red ball")
    assert "Dim night lighting" in details and "Sound: a clear impact sound on every bounce" in details
    assert lines[-1].startswith("— ")
