"""One member cannot grow a clip without bound: every kind of job is capped in length and priced by length and size."""

from __future__ import annotations

from pathlib import Path

from core.events import JobDone
from tests.support import actor, place, running_core, wait_for

SHORT = "--seconds 2 --size 160x96"  # the test generator makes clips of 2 s at most


async def _clip(core, events, text: str) -> str:
    reply = await core.handle_text(actor("ana"), place(), text)
    assert reply.ok, reply.text
    done = await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
    return done.clip_id


async def test_a_stitch_longer_than_the_longest_clip_is_refused_and_costs_nothing(tmp_path: Path) -> None:
    async with running_core(tmp_path, max_seconds=5) as core:
        events = core.bus.subscribe()
        clip = await _clip(core, events, f"sora a red ball {SHORT}")
        before = (await core.quota_status(actor("ana"), place())).remaining

        refused = await core.handle_text(actor("ana"), place(), f"stitch {clip} {clip} {clip}")

        assert not refused.ok and refused.text == "a clip can be at most 5 s long; this one would be 6 s"
        assert (await core.quota_status(actor("ana"), place())).remaining == before


async def test_a_stitch_is_priced_by_its_length_and_size_like_any_clip(tmp_path: Path) -> None:
    async with running_core(tmp_path, max_seconds=5) as core:
        events = core.bus.subscribe()
        clip = await _clip(core, events, f"sora a red ball {SHORT}")
        before = (await core.quota_status(actor("ana"), place())).remaining
        joined = await core.handle_text(actor("ana"), place(), f"stitch {clip} {clip}")
        assert joined.ok, joined.text
        generate_cost = core.settings.quota.cost(4, 160, 96)
        assert before - joined.data["credits_left"] == generate_cost == 4  # was 1 credit at any length


async def test_a_chain_of_extensions_stops_at_the_longest_clip(tmp_path: Path) -> None:
    async with running_core(tmp_path, max_seconds=5) as core:
        events = core.bus.subscribe()
        clip = await _clip(core, events, f"sora a red ball {SHORT}")
        # The extended clip plays its 2 s source and then the new seconds.
        refused = await core.handle_text(actor("ana"), place(), f"extend {clip} --seconds 4")
        assert not refused.ok and "at most 5 s" in refused.text and "would be 6 s" in refused.text
        allowed = await core.handle_text(actor("ana"), place(), f"extend {clip} --seconds 3")
        assert allowed.ok, allowed.text
