import threading

from core.events import ClipDeleted, JobDone, JobStarted
from core.jobs.quotas import unbalanced_jobs
from tests.support import ToneGenerator, actor, place, running_core, wait_for


async def make_clip(core, events, who, text):
    reply = await core.handle_text(who, place(), text)
    assert reply.ok, reply.text
    done = await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
    return done.clip_id


async def test_remixes_of_remixes_form_a_tree_anyone_can_grow(tmp_path):
    generator = ToneGenerator()
    async with running_core(tmp_path, generator) as core:
        events = core.bus.subscribe()
        root = await make_clip(core, events, actor("ana"), "sora a red ball --seconds 1 --seed 5")
        blue = await make_clip(core, events, actor("bob"), f"remix {root} make it blue")
        night = await make_clip(core, events, actor("cy"), f"remix {blue} at night")
        longer = await make_clip(core, events, actor("ana"), f"extend {root} --seconds 2")

        remix_request = generator.calls[1]
        assert remix_request.kind == "remix" and remix_request.seed == 5
        assert remix_request.sources[0].clip_id == root and remix_request.sources[0].state == {"prompt": "a red ball"}
        assert generator.calls[3].kind == "extend" and generator.calls[3].seconds == 2

        tree = await core.lineage(night)
        assert [(depth, node.clip_id) for depth, node in tree.walk()] == [(0, root), (1, blue), (2, night), (1, longer)]
        assert [node.author for _, node in tree.walk()] == ["Ana", "Bob", "Cy", "Ana"]
        text = (await core.handle_text(actor(), place(), f"tree {blue}")).text
        assert f"`{blue}` Bob remixed: make it blue ◀" in text


async def test_stitch_and_reroll_make_new_clips_from_old_ones(tmp_path):
    generator = ToneGenerator()
    async with running_core(tmp_path, generator) as core:
        events = core.bus.subscribe()
        first = await make_clip(core, events, actor(), "sora one --seconds 1 --seed 1")
        second = await make_clip(core, events, actor(), "sora two --seconds 1")
        stitched = await make_clip(core, events, actor(), f"stitch {first} {second}")
        assert [s.clip_id for s in generator.calls[2].sources] == [first, second]
        assert (await core.clip(stitched)).kind == "stitch"
        reroll = await make_clip(core, events, actor(), f"reroll {first}")
        assert generator.calls[3].prompt == "one" and generator.calls[3].seed != 1
        assert (await core.clip(reroll)).prompt == "one"


async def test_deleting_a_clip_removes_its_file_and_announces_its_posts(tmp_path):
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        clip_id = await make_clip(core, events, actor("ana"), "sora a ball --seconds 1")
        [delivery] = await core.claim_deliveries("test")
        await core.delivery_sent(delivery.id, "m-77", thread_id="t-1")
        path = core.media_path(await core.clip(clip_id))

        refused = await core.handle_text(actor("bob"), place(), f"delete {clip_id}")
        assert not refused.ok and path.exists()
        assert (await core.handle_text(actor("ana"), place(), f"delete {clip_id}")).ok
        deleted = await wait_for(events, lambda e: isinstance(e, ClipDeleted))
        assert [(p.message_id, p.thread_id) for p in deleted.posts] == [("m-77", "t-1")]
        assert not path.exists()
        gone = await core.handle_text(actor("bob"), place(), f"remix {clip_id} again")
        assert not gone.ok and "there is no clip" in gone.text


async def test_a_chat_admin_may_delete_clips_made_in_their_chat(tmp_path):
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        clip_id = await make_clip(core, events, actor("ana"), "sora a ball --seconds 1")
        assert not (
            await core.handle_text(actor("mod", is_admin=True), place(guild="elsewhere"), f"delete {clip_id}")
        ).ok
        assert (await core.handle_text(actor("mod", is_admin=True), place(), f"delete {clip_id}")).ok


async def test_stopping_mid_job_requeues_it_and_the_next_start_finishes_it_once(tmp_path):
    gate = threading.Event()
    async with running_core(tmp_path, ToneGenerator(gate=gate)) as core:
        events = core.bus.subscribe()
        job = await core.handle_text(actor(), place(), "sora interrupted --seconds 1")
        await wait_for(events, lambda e: isinstance(e, JobStarted))
    # The service stopped while the job waited on the gate: it is queued again, its credits still reserved.
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == job.job_id)
        record = await core.job(job.job_id)
        assert record.state == "done" and record.attempts == 2
        assert len(await core.claim_deliveries("test")) == 1
        assert (await core.quota_status(actor(), place())).used == 1
        assert await core.db.read(unbalanced_jobs) == []


async def test_pending_deliveries_survive_a_restart(tmp_path):
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        await make_clip(core, events, actor(), "sora kept --seconds 1")
    async with running_core(tmp_path) as core:
        [delivery] = await core.claim_deliveries("test")
        assert delivery.payload["prompt"] == "kept"
