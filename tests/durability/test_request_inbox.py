"""A platform request is kept until handled, and handling it twice makes one job and one charge."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.events import JobDone
from tests.support import actor, place, running_core, wait_for


async def test_the_same_request_admitted_twice_makes_one_job_and_one_charge(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        ana = actor("ana")
        here = replace(place(), request_key="test:chan:101")
        credits = (await core.quota_status(ana, here)).remaining
        events = core.bus.subscribe()

        first = await core.handle_text(ana, here, "sora a red ball --seconds 1 --size 160x96")
        again = await core.handle_text(ana, here, "sora a red ball --seconds 1 --size 160x96")

        assert first.ok and again.ok and again.job_id == first.job_id
        assert again.data.get("admitted_before") is True
        await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == first.job_id)
        after = await core.handle_text(ana, here, "sora a red ball --seconds 1 --size 160x96")
        assert after.job_id == first.job_id and "done" in after.text
        # One job's cost was charged, once.
        assert (await core.quota_status(ana, here)).remaining == first.data["credits_left"] < credits
        jobs = await core.db.read(lambda db: db.execute("select count(*) from jobs").fetchone()[0])
        assert jobs == 1


async def test_requests_without_a_key_or_with_different_keys_are_separate_jobs(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        ana = actor("ana")
        one = await core.handle_text(ana, place(), "sora a ball --seconds 1 --size 160x96")
        two = await core.handle_text(ana, place(), "sora a ball --seconds 1 --size 160x96")
        three = await core.handle_text(ana, replace(place(), request_key="k1"), "sora a ball --seconds 1 --size 160x96")
        four = await core.handle_text(ana, replace(place(), request_key="k2"), "sora a ball --seconds 1 --size 160x96")
        assert len({one.job_id, two.job_id, three.job_id, four.job_id}) == 4


async def test_the_inbox_keeps_requests_until_handled_and_knows_a_redelivery(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        new = await core.inbox.receive("telegram", [("update:1", '{"update_id": 1}'), ("update:2", '{"update_id": 2}')])
        assert new == ["update:1", "update:2"]
        redelivered = await core.inbox.receive("telegram", [("update:2", '{"update_id": 2}'), ("update:3", "{}")])
        assert redelivered == ["update:3"]
        await core.inbox.handled("telegram", "update:1")
        assert [i.request_key for i in await core.inbox.unhandled("telegram")] == ["update:2", "update:3"]
        assert await core.inbox.unhandled("discord") == []
    async with running_core(tmp_path) as core:  # a restart keeps them
        assert [i.request_key for i in await core.inbox.unhandled("telegram")] == ["update:2", "update:3"]
