"""The shared delivery worker against a real core (SQLite outbox, a real clip) and a scripted platform: what it
records for a post, a refusal, a lost answer and an error nobody classified, and when it tries again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bots.common.outbox import Backoff, DeliveryWorker, Failure, Final, Posted, Retry
from core.records import Delivery
from core.service import Sorabox
from tests.core.test_job_flow import one_clip_in_the_outbox
from tests.support import running_core

PLATFORM = "test"  # the platform tests.support's places are on


class Refused(Exception):
    """The platform said no for good (a chat the bot left)."""


class AnswerLost(Exception):
    """The request went out; its answer never came."""


class ScriptedPlatform:
    """A platform whose next `post()` outcomes are scripted: an exception to raise, or a message id to return."""

    def __init__(self, *outcomes: Exception | str) -> None:
        self.outcomes = list(outcomes)
        self.posts: list[int] = []
        self.looked: list[int] = []
        self.sent: list[tuple[int, str]] = []
        self.earlier: Posted | None = None

    def classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, Refused):
            return Final(f"refused: {exc}")
        if isinstance(exc, AnswerLost):
            return Retry("answer lost", after=0.2, may_have_posted=True)
        return None

    async def post(self, delivery: Delivery) -> Posted:
        self.posts.append(delivery.id)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return Posted(outcome, thread_id=f"thread-of-{outcome}")

    async def earlier_post(self, delivery: Delivery) -> Posted | None:
        self.looked.append(delivery.id)
        return self.earlier

    async def after_sent(self, delivery: Delivery, posted: Posted) -> None:
        self.sent.append((delivery.id, posted.message_id))


def worker(core: Sorabox, platform: ScriptedPlatform, **kwargs: Any) -> DeliveryWorker:
    options: dict[str, Any] = {"backoff": Backoff(30.0, 300.0), "poll_seconds": 60.0, **kwargs}
    return DeliveryWorker(core, PLATFORM, platform, **options)


async def outbox_row(core: Sorabox) -> dict[str, Any]:
    [row] = await core.db.read(
        lambda db: list(
            db.query("SELECT state, message_id, thread_id, attempts, in_doubt, error, next_attempt_at FROM deliveries")
        )
    )
    return row


async def test_a_post_is_recorded_sent_with_its_message_and_thread(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        platform = ScriptedPlatform("m-1")
        assert await worker(core, platform).deliver_pending() == 1
        row = await outbox_row(core)
        assert (row["state"], row["message_id"], row["thread_id"], row["in_doubt"]) == (
            "sent",
            "m-1",
            "thread-of-m-1",
            0,
        )
        assert platform.looked == []  # nothing was in doubt: no lookup
        assert platform.sent == [(platform.posts[0], "m-1")]


async def test_a_refused_post_fails_for_good_and_is_not_claimed_again(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        platform = ScriptedPlatform(Refused("the bot was removed"))
        assert await worker(core, platform).deliver_pending() == 0
        row = await outbox_row(core)
        assert (row["state"], row["error"]) == ("failed", "refused: the bot was removed")
        assert await core.claim_deliveries(PLATFORM) == []
        assert platform.sent == []


async def test_a_lost_answer_leaves_the_post_in_doubt_and_the_next_attempt_finds_it_instead_of_posting_again(
    tmp_path: Path,
) -> None:
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        platform = ScriptedPlatform(AnswerLost())
        # The loop runs, so the retry (due in 0.2 s) is picked up by the worker's own timer, not by a poll (60 s).
        running = worker(core, platform)
        running.start()
        try:
            await asyncio.sleep(0.05)
            row = await outbox_row(core)
            assert (row["state"], row["in_doubt"], row["attempts"]) == ("pending", 1, 1)
            platform.earlier = Posted("m-early")  # the lost post is there
            for _ in range(100):
                if (await outbox_row(core))["state"] == "sent":
                    break
                await asyncio.sleep(0.05)
        finally:
            await running.stop()
        row = await outbox_row(core)
        assert (row["state"], row["message_id"], row["in_doubt"]) == ("sent", "m-early", 1)
        assert len(platform.posts) == 1  # posted once, found the second time
        assert platform.looked == platform.posts


async def test_an_error_the_adapter_does_not_know_is_retried_after_the_backoff(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        platform = ScriptedPlatform(RuntimeError("a bug"), "m-2")
        outbox = worker(core, platform, backoff=Backoff(40.0, 300.0))
        assert await outbox.deliver_pending() == 0
        row = await outbox_row(core)
        assert (row["state"], row["in_doubt"], row["error"]) == ("pending", 0, "adapter error: RuntimeError('a bug')")
        assert await core.claim_deliveries(PLATFORM) == []  # not due before the backoff
        later = core.clock() + timedelta(seconds=41)
        core.clock = lambda: later
        assert await outbox.deliver_pending() == 1
        assert (await outbox_row(core))["message_id"] == "m-2"


def test_the_backoff_doubles_per_attempt_up_to_its_longest() -> None:
    backoff = Backoff(2.0, 10.0)
    assert [backoff.after(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


async def test_a_worker_told_to_look_always_records_an_earlier_post_the_core_did_not_doubt(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        platform = ScriptedPlatform("never-posted")
        platform.earlier = Posted("m-before-the-crash")
        assert await worker(core, platform, look_for_earlier="always").deliver_pending() == 0
        assert platform.posts == []
        assert (await outbox_row(core))["message_id"] == "m-before-the-crash"
