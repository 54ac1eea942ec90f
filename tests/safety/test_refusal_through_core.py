"""The output check inside a running core, with the real detector on real pixels: a refused clip is never stored or
posted, its credits come back, and the admins' page lists the reason."""

from __future__ import annotations

from core.events import JobCancelled, JobDone
from core.jobs.quotas import unbalanced_jobs
from core.ops import metrics
from tests.safety.support import AstronautGenerator
from tests.support import actor, place, running_core, wait_for

ASK = "sora a portrait of an astronaut --seconds 1 --size 256x256"
# The astronaut at 256x256 scores ~0.03 on open_nsfw: a threshold of 0.01 makes the real detector refuse it.
STRICT = "nsfw=0.01"


async def rows(core, sql, params=()):
    return await core.db.read(lambda d: list(d.query(sql, params)))


async def test_a_refused_clip_is_not_stored_nor_posted_and_is_refunded_with_the_reason_for_admins(tmp_path):
    async with running_core(tmp_path, AstronautGenerator(), output_check="on", output_check_thresholds=STRICT) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), ASK)
        assert reply.ok
        ended = await wait_for(events, lambda e: isinstance(e, (JobCancelled, JobDone)))

        assert isinstance(ended, JobCancelled)
        assert "not posted: the output check found nudity or sexual content" in ended.reason
        assert "refunded" in ended.reason
        assert (await core.job(reply.job_id)).state == "cancelled"
        # Not stored, not posted, not charged.
        assert await rows(core, "SELECT id FROM clips") == []
        assert [p for p in core.settings.media_dir.rglob("*") if p.is_file()] == []
        assert await core.claim_deliveries("test") == []
        assert (await core.quota_status(actor(), place())).used == 0
        assert await core.db.read(unbalanced_jobs) == []
        # What the console's admin page lists under "Moderation refusals".
        [entry] = await core.db.read(lambda d: metrics.audit_log(d, ("refusal",), 50))
        assert entry.job_id == reply.job_id and entry.user == "Ana"
        assert entry.detail["where"] == "output" and entry.detail["category"] == "output: nudity or sexual content"
        assert entry.detail["detector"] == "open_nsfw" and entry.detail["threshold"] == 0.01
        assert 0.01 <= entry.detail["score"] < 0.1 and 0 <= entry.detail["frame"] < 24
        assert entry.detail["prompt"] == "a portrait of an astronaut" and entry.detail["platform"] == "test"


async def test_the_same_clip_passes_the_default_thresholds_and_is_posted(tmp_path):
    async with running_core(tmp_path, AstronautGenerator(), output_check="on") as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), ASK)
        done = await wait_for(events, lambda e: isinstance(e, (JobCancelled, JobDone)))
        assert isinstance(done, JobDone)
        [delivery] = await core.claim_deliveries("test")
        assert delivery.clip_id == done.clip_id
        assert await core.db.read(lambda d: metrics.audit_log(d, ("refusal",), 50)) == []


async def test_auto_checks_a_generative_backend(tmp_path):
    generator = AstronautGenerator(name="ltx2")
    async with running_core(tmp_path, generator, output_check="auto", output_check_thresholds=STRICT) as core:
        events = core.bus.subscribe()
        await core.handle_text(actor(), place(), ASK)
        assert isinstance(await wait_for(events, lambda e: isinstance(e, (JobCancelled, JobDone))), JobCancelled)


async def test_auto_leaves_the_procedural_backend_unchecked_and_off_checks_nothing(tmp_path):
    for mode, name in (("auto", "procedural"), ("off", "ltx2")):
        generator = AstronautGenerator(name=name)
        folder = tmp_path / f"{mode}-{name}"
        async with running_core(folder, generator, output_check=mode, output_check_thresholds=STRICT) as core:
            events = core.bus.subscribe()
            await core.handle_text(actor(), place(), ASK)
            ended = await wait_for(events, lambda e: isinstance(e, (JobCancelled, JobDone)))
            assert isinstance(ended, JobDone), (mode, name)
            assert await core.db.read(lambda d: metrics.audit_log(d, ("refusal",), 50)) == []
