import asyncio
import threading
from datetime import timedelta

from core.events import JobCancelled, JobDone, JobFailed, JobProgress, JobQueued, JobStarted
from core.jobs.quotas import unbalanced_jobs
from core.service import DELIVERY_LEASE_SECONDS
from model.generator import GenerationError
from model.media import probe
from storage.database import one
from tests.support import ToneGenerator, actor, place, running_core, wait_for


async def rows(core, sql, params=()):
    return await core.db.read(lambda d: list(d.query(sql, params)))


async def test_a_clip_is_made_encoded_stored_and_waits_in_the_outbox(tmp_path):
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), "sora a red ball --seconds 2 --size 160x96 --seed 3")
        assert reply.ok and reply.position == 1 and reply.data["credits_left"] == 58
        done = await wait_for(events, lambda e: isinstance(e, JobDone))

        clip = await core.clip(done.clip_id)
        assert (clip.width, clip.height, clip.seed, clip.prompt) == (160, 96, 3, "a red ball")
        info = probe(core.media_path(clip))
        assert (info.video_codec, info.audio_codec, info.frame_count) == ("h264", "aac", 48)

        deliveries = await core.claim_deliveries("test")
        assert len(deliveries) == 1
        assert deliveries[0].clip_id == clip.id and deliveries[0].destination == place()
        assert "a red ball" in deliveries[0].text and "58 credits left" in deliveries[0].text
        assert await core.db.read(unbalanced_jobs) == []


async def test_progress_is_reported_step_by_step_then_encoding(tmp_path):
    async with running_core(tmp_path, ToneGenerator(steps=3)) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), "sora a cube --seconds 1")
        seen = []
        await wait_for(events, lambda e: seen.append(e) or isinstance(e, JobDone))
        kinds = [type(e).__name__ for e in seen]
        assert kinds[0] == "JobQueued" and "JobStarted" in kinds
        steps = [(e.step, e.total, e.stage) for e in seen if isinstance(e, JobProgress)]
        assert steps == [(1, 3, "generating"), (2, 3, "generating"), (3, 3, "generating"), (3, 3, "encoding")]


async def test_a_claimed_delivery_is_not_offered_twice_until_its_lease_ends(tmp_path):
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), "sora a cube --seconds 1")
        await wait_for(events, lambda e: isinstance(e, JobDone))
        first = await core.claim_deliveries("test")
        assert len(first) == 1
        assert await core.claim_deliveries("test") == []
        await core.delivery_failed(first[0].id, "429", retry_in=0)
        again = await core.claim_deliveries("test")
        assert [d.id for d in again] == [first[0].id] and again[0].attempts == 2
        await core.delivery_sent(again[0].id, "msg-1")
        assert await core.claim_deliveries("test") == []
        assert await core.clip_for_post("test", "chan", "msg-1") == again[0].clip_id
        assert await core.clip_for_post("test", "chan", "msg-2") is None


async def one_clip_in_the_outbox(core):
    events = core.bus.subscribe()
    await core.handle_text(actor(), place(), "sora a cube --seconds 1")
    await wait_for(events, lambda e: isinstance(e, JobDone))
    events.close()


async def test_a_post_that_may_have_landed_is_flagged_to_the_next_claim_until_it_is_sent(tmp_path):
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        [first] = await core.claim_deliveries("test")
        assert not first.may_have_posted
        await core.delivery_posting(first.id)
        await core.delivery_failed(first.id, "connection refused", retry_in=0)  # surely not sent
        [second] = await core.claim_deliveries("test")
        assert not second.may_have_posted
        await core.delivery_posting(second.id)
        await core.delivery_failed(second.id, "read timeout", retry_in=0, may_have_posted=True)
        [third] = await core.claim_deliveries("test")
        assert third.may_have_posted
        await core.delivery_posting(third.id)
        # A later failure that surely sent nothing does not clear the doubt the earlier attempt left.
        await core.delivery_failed(third.id, "connection refused", retry_in=0)
        [fourth] = await core.claim_deliveries("test")
        assert fourth.may_have_posted and fourth.attempts == 4
        await core.delivery_sent(fourth.id, "msg-1")
        assert await core.claim_deliveries("test") == []


async def test_a_post_cut_off_by_a_crash_is_flagged_when_its_lease_runs_out(tmp_path):
    async with running_core(tmp_path) as core:
        await one_clip_in_the_outbox(core)
        [claimed] = await core.claim_deliveries("test")
        await core.delivery_posting(claimed.id)  # ...and the process dies
        later = core.clock() + timedelta(seconds=DELIVERY_LEASE_SECONDS + 1)
        core.clock = lambda: later
        [again] = await core.claim_deliveries("test")
        assert again.id == claimed.id and again.may_have_posted


async def test_running_out_of_credits_refuses_without_spending(tmp_path):
    async with running_core(tmp_path, daily_credits=6) as core:
        events = core.bus.subscribe()
        assert (await core.handle_text(actor(), place(), "sora a ball --seconds 5")).ok
        refused = await core.handle_text(actor(), place(), "sora a ball --seconds 2")
        assert not refused.ok and "needs 2 credits and you have 1 left" in refused.text
        await wait_for(events, lambda e: isinstance(e, JobDone))
        status = await core.quota_status(actor(), place())
        assert (status.remaining, status.used) == (1, 5)
        # Someone else still has their own allowance.
        assert (await core.handle_text(actor("bob"), place(), "sora a ball --seconds 2")).ok


async def test_per_user_cap_and_global_queue_bound(tmp_path):
    gate = threading.Event()
    async with running_core(tmp_path, ToneGenerator(gate=gate), max_jobs_per_user=2, max_queue=3) as core:
        events = core.bus.subscribe()
        assert (await core.handle_text(actor(), place(), "sora a ball --seconds 1")).ok
        await wait_for(events, lambda e: isinstance(e, JobStarted))
        # Running jobs count towards a person's cap, not towards the queue's bound.
        assert (await core.handle_text(actor(), place(), "sora a ball --seconds 1")).ok
        capped = await core.handle_text(actor(), place(), "sora a ball --seconds 1")
        assert not capped.ok and "already have 2 jobs" in capped.text
        assert (await core.handle_text(actor("bob"), place(), "sora a ball --seconds 1")).ok
        assert (await core.handle_text(actor("cy"), place(), "sora a ball --seconds 1")).ok
        full = await core.handle_text(actor("dee"), place(), "sora a ball --seconds 1")
        assert not full.ok and "the queue is full" in full.text
        gate.set()


async def test_users_are_served_in_turn(tmp_path):
    gate = threading.Event()
    generator = ToneGenerator(gate=gate)
    async with running_core(tmp_path, generator, max_jobs_per_user=5) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor("alice"), place(), "sora alice one --seconds 1")
        await wait_for(events, lambda e: isinstance(e, JobStarted))
        for prompt in ("alice two", "alice three"):
            await core.handle_text(actor("alice"), place(), f"sora {prompt} --seconds 1")
        await core.handle_text(actor("bob"), place(), "sora bob one --seconds 1")
        await core.handle_text(actor("cy"), place(), "sora cy one --seconds 1")
        gate.set()
        for _ in range(5):
            await wait_for(events, lambda e: isinstance(e, JobDone))
        order = [request.prompt for request in generator.calls]
        assert order == ["alice one", "bob one", "cy one", "alice two", "alice three"]


async def test_cancelling_a_queued_job_refunds_it_and_it_never_runs(tmp_path):
    gate = threading.Event()
    generator = ToneGenerator(gate=gate)
    async with running_core(tmp_path, generator) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), "sora first --seconds 1")
        second = await core.handle_text(actor(), place(), "sora second --seconds 1")
        other = await core.handle_text(actor("bob"), place(), f"cancel {second.job_id}")
        assert not other.ok and "only your own" in other.text
        reply = await core.handle_text(actor(), place(), f"cancel {second.job_id}")
        assert reply.ok and "refunded" in reply.text
        await wait_for(events, lambda e: isinstance(e, JobCancelled) and e.job_id == second.job_id)
        gate.set()
        await wait_for(events, lambda e: isinstance(e, JobDone))
        await asyncio.sleep(0.1)
        assert [r.prompt for r in generator.calls] == ["first"]
        assert (await core.quota_status(actor(), place())).used == 1
        assert await core.db.read(unbalanced_jobs) == []


async def test_cancelling_a_running_job_stops_it_between_steps(tmp_path):
    gate = threading.Event()
    async with running_core(tmp_path, ToneGenerator(gate=gate)) as core:
        events = core.bus.subscribe()
        job = await core.handle_text(actor(), place(), "sora slow --seconds 1")
        await wait_for(events, lambda e: isinstance(e, JobStarted))
        reply = await core.handle_text(actor(), place(), f"cancel {job.job_id}")
        assert reply.ok and "cancelling" in reply.text
        cancelled = await wait_for(events, lambda e: isinstance(e, JobCancelled))
        assert "cancelled by Ana" in cancelled.reason
        assert (await core.job(job.job_id)).state == "cancelled"
        assert (await core.quota_status(actor(), place())).used == 0
        assert await core.claim_deliveries("test") == []


async def test_a_platform_admin_may_cancel_jobs_in_their_own_community_only(tmp_path):
    gate = threading.Event()
    async with running_core(tmp_path, ToneGenerator(gate=gate)) as core:
        await core.handle_text(actor(), place(), "sora first --seconds 1")
        job = await core.handle_text(actor(), place(), "sora mine --seconds 1")
        stranger_admin = actor("mod", is_admin=True)
        elsewhere = await core.handle_text(stranger_admin, place(guild="other"), f"cancel {job.job_id}")
        assert not elsewhere.ok
        assert (await core.handle_text(stranger_admin, place(), f"cancel {job.job_id}")).ok
        gate.set()


class FailingGenerator(ToneGenerator):
    def generate(self, request, progress, cancel):
        raise GenerationError("the model ran out of memory")


async def test_a_failed_generation_is_refunded_with_the_reason(tmp_path):
    async with running_core(tmp_path, FailingGenerator()) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), "sora a ball --seconds 1")
        failed = await wait_for(events, lambda e: isinstance(e, JobFailed))
        assert failed.reason.startswith("the model ran out of memory") and "refunded" in failed.reason
        assert (await core.quota_status(actor(), place())).used == 0
        assert await core.db.read(unbalanced_jobs) == []


class CrashingGenerator(ToneGenerator):
    def generate(self, request, progress, cancel):
        raise RuntimeError("Traceback: secret internals")


async def test_an_unexpected_error_shows_no_internals(tmp_path):
    async with running_core(tmp_path, CrashingGenerator()) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), "sora a ball --seconds 1")
        failed = await wait_for(events, lambda e: isinstance(e, JobFailed))
        assert "secret" not in failed.reason and "went wrong" in failed.reason


async def test_queue_positions_are_announced_when_the_queue_moves(tmp_path):
    gate = threading.Event()
    async with running_core(tmp_path, ToneGenerator(gate=gate)) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor("a"), place(), "sora one --seconds 1")
        await core.handle_text(actor("b"), place(), "sora two --seconds 1")
        third = await core.handle_text(actor("c"), place(), "sora three --seconds 1")
        assert third.position == 2
        gate.set()
        moved = await wait_for(
            events, lambda e: isinstance(e, JobQueued) and e.job_id == third.job_id and e.position == 1
        )
        assert moved.estimate_seconds > 0


async def test_moderation_refuses_for_free_and_is_audited(tmp_path):
    async with running_core(tmp_path) as core:
        reply = await core.handle_text(actor(), place(), "sora a portrait of Taylor Swift dancing")
        assert not reply.ok and "public figures" in reply.text
        assert (await core.quota_status(actor(), place())).used == 0
        audit = await rows(core, "SELECT kind, detail FROM audit_events WHERE kind = 'refusal'")
        assert len(audit) == 1 and "public figures" in audit[0]["detail"]
        count = await core.db.read(lambda d: one(d, "SELECT COUNT(*) AS n FROM jobs"))
        assert count["n"] == 0


async def test_a_database_error_while_starting_a_job_does_not_stop_the_scheduler(tmp_path, monkeypatch):
    import core.jobs.runner
    import core.jobs.store

    real_start = core.jobs.store.start
    failures = []

    def flaky_start(db, job_id, now):
        if not failures:
            failures.append(job_id)
            raise OSError("disk I/O error")
        return real_start(db, job_id, now)

    monkeypatch.setattr(core.jobs.store, "start", flaky_start)
    monkeypatch.setattr(core.jobs.runner, "SCHEDULER_RETRY_SECONDS", 0.05)
    async with running_core(tmp_path) as core_service:
        events = core_service.bus.subscribe()
        job = await core_service.handle_text(actor(), place(), "sora a ball --seconds 1")
        done = await wait_for(events, lambda e: isinstance(e, JobDone))
        assert failures == [job.job_id] and done.job_id == job.job_id
