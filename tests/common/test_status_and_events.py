"""The shared job-status tracker (claims, latest events, adoption after a grace) and the event dispatcher."""

from __future__ import annotations

import asyncio

from bots.common.events import EventDispatch
from bots.common.status import JobStatuses
from core.events import ClipDeleted, DeliveriesPending, EventBus, JobDone, JobEvent, JobProgress, JobQueued, PostRef
from core.identity import Place

HERE = Place("test", "chan", "guild")
ELSEWHERE = Place("other", "chan", "guild")


def progress(job_id: str, step: int, place: Place = HERE) -> JobProgress:
    return JobProgress(
        job_id=job_id, place=place, requester_id="ana", step=step, total=10, stage="generating", eta_seconds=5.0
    )


async def test_a_job_nobody_claims_is_adopted_after_the_grace_with_its_latest_event() -> None:
    adopted: list[JobEvent] = []

    async def adopt(event: JobEvent) -> None:
        adopted.append(event)

    statuses: JobStatuses[str] = JobStatuses(grace=0.1, adopt=adopt)
    assert statuses.seen(progress("job1", 1)) is None
    assert statuses.seen(progress("job1", 2)) is None  # one adoption per job, however many events
    await asyncio.sleep(0.3)
    assert adopted == [progress("job1", 2)]
    assert statuses.latest("job1") == progress("job1", 2)


async def test_a_job_claimed_within_the_grace_or_ended_in_it_is_not_adopted() -> None:
    adopted: list[str] = []

    async def adopt(event: JobEvent) -> None:
        adopted.append(event.job_id)

    statuses: JobStatuses[str] = JobStatuses(grace=0.1, adopt=adopt)
    statuses.seen(progress("claimed", 1))
    statuses.claim("claimed", "the answer to /sora")
    statuses.seen(progress("ended", 1))
    statuses.seen(JobDone(job_id="ended", place=HERE, requester_id="ana", clip_id="c1"))
    statuses.seen(JobDone(job_id="done-at-once", place=HERE, requester_id="ana", clip_id="c2"))
    await asyncio.sleep(0.3)
    assert adopted == []
    assert statuses.seen(progress("claimed", 2)) == "the answer to /sora"
    statuses.release("claimed", "another status")  # not the one claimed: kept
    assert statuses.get("claimed") == "the answer to /sora"
    statuses.release("claimed")
    assert statuses.get("claimed") is None


async def test_events_reach_the_hook_of_their_type_and_only_this_platforms_jobs() -> None:
    seen: list[str] = []
    woken: list[bool] = []

    async def any_job(event: JobEvent) -> None:
        seen.append(f"job {event.job_id}")

    async def queued(event: JobEvent) -> None:
        seen.append(f"queued {event.job_id}")

    async def deleted(event: ClipDeleted) -> None:
        seen.append(f"deleted {event.clip_id}")

    dispatch = EventDispatch(
        "test",
        deliveries_pending=lambda: woken.append(True),
        clip_deleted=deleted,
        job_hooks={JobEvent: any_job, JobQueued: queued},
    )
    bus = EventBus()
    subscription = bus.subscribe()
    task = asyncio.create_task(dispatch.run(subscription))
    bus.publish(JobQueued(job_id="j1", place=HERE, requester_id="ana", position=1, estimate_seconds=3.0))
    bus.publish(progress("j1", 1))
    bus.publish(progress("j2", 1, ELSEWHERE))
    bus.publish(DeliveriesPending(platform="other"))
    bus.publish(DeliveriesPending(platform="test"))
    bus.publish(ClipDeleted(clip_id="c1", posts=(PostRef("other", "chan", "m1"),)))
    await asyncio.sleep(0.1)
    task.cancel()
    assert seen == ["queued j1", "job j1", "deleted c1"]
    assert woken == [True]
