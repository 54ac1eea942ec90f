"""No single command can push the process past the memory one job may take: it is refused at admission, for free."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from core.events import JobDone
from core.jobs.resources import job_memory_bytes
from tests.support import actor, place, running_core, wait_for


async def test_a_job_estimated_over_the_memory_ceiling_is_refused_and_costs_nothing(tmp_path: Path) -> None:
    async with running_core(tmp_path, job_memory_mb=5) as core:
        before = (await core.quota_status(actor("ana"), place())).remaining
        small = await core.handle_text(actor("ana"), place(), "sora a red ball --seconds 1 --size 96x64")
        big = await core.handle_text(actor("ana"), place(), "sora a red ball --seconds 2 --size 160x96")
        assert small.ok, small.text
        assert not big.ok and big.text.startswith("this would need about 0.0 GB of memory and one job may use 0.0 GB")
        assert "fewer seconds or a smaller size" in big.text
        assert (await core.quota_status(actor("ana"), place())).remaining == small.data["credits_left"] < before


async def test_the_estimate_covers_what_a_stitch_really_holds(tmp_path: Path) -> None:
    """tracemalloc sees numpy's allocations: the frames a stitch holds at its peak stay under the estimate."""
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        made = []
        for colour in ("red", "blue"):
            reply = await core.handle_text(actor("ana"), place(), f"sora a {colour} ball --seconds 2 --size 640x360")
            made.append(await wait_for(events, lambda e, r=reply: isinstance(e, JobDone) and e.job_id == r.job_id))
        tracemalloc.start()
        try:
            reply = await core.handle_text(actor("ana"), place(), f"stitch {made[0].clip_id} {made[1].clip_id}")
            await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    estimate = job_memory_bytes(4.0, 640, 360, [(2.0, 640, 360), (2.0, 640, 360)])
    assert peak <= estimate, f"peak {peak / 2**20:.0f} MB over the estimate {estimate / 2**20:.0f} MB"
    assert peak >= estimate / 8, "the estimate should be near what a job really holds, not a blind margin"
