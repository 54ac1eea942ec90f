"""Jobs on Discord beyond the main path: progress for a job admitted before a restart, the queue position and the
encoding stage in the progress, and the slash commands about jobs and clips (/extend, /cancel, /tree,
/sora-admin queue). The real core, the adapter, the real discord.py client and the fake Discord."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from bots.discordbot import DiscordAdapter
from core.extensions import JobExtension
from core.records import JobRecord
from core.service import Sorabox
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from tests.discord.test_discord_adapter import (
    PROMPT,
    adapter,
    answered,
    clip_and_a_remix_by_id,
    clip_id_of,
    clip_posts,
    core,
    original,
    running_adapter,
    sora_clip,
)
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage, fake_discord, no_real_network
from tests.support import ToneGenerator, running_core

__all__ = ["adapter", "core", "fake_discord", "no_real_network"]  # fixtures used by this module

JOB_ID = re.compile(r"`([a-z0-9]{8})`")


class HoldEncoding(JobExtension):
    """Keeps every job in its encoding stage until `release` is set (signing runs after the MP4 is encoded)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def sign(self, data: bytes, job: JobRecord) -> bytes:
        self.release.wait(30)
        return data


class OneAtATime(ToneGenerator):
    """Generates a job only when the test lets one through (`turns.release()`), so jobs can be held in the queue."""

    def __init__(self) -> None:
        super().__init__(steps=2)
        self.turns = threading.Semaphore(0)

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        while not self.turns.acquire(timeout=0.02):
            cancel.raise_if_cancelled()
        return super().generate(request, progress, cancel)


def job_of(fake: FakeDiscord, interaction: FakeInteraction) -> str:
    """The job id the deferred response names."""
    match = JOB_ID.search(original(fake, interaction).content)
    assert match is not None, original(fake, interaction).content
    return match.group(1)


def status_messages(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    """The bot's ordinary messages in a channel that are neither clips nor interaction responses."""
    clips = clip_posts(fake, channel_id)
    return [
        m
        for m in fake.channel_messages(channel_id)
        if m.author.id == fake.bot.id and m.interaction_metadata is None and m not in clips
    ]


def shown(message: FakeMessage) -> list[str]:
    """Every text a message showed, oldest first."""
    return [*message.history, message.content]


# ------------------------------------------------------------------------------------------------ progress


async def test_a_job_from_before_a_restart_gets_a_progress_message_of_its_own(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    bob = fake.add_member("bob")
    # Six steps of 0.5 s: the job outlives the grace in which an unwatched job may yet be claimed by a wide margin.
    generator = ToneGenerator(steps=6, step_seconds=0.5, gate=gate)
    async with running_core(tmp_path / "data", generator) as core:
        async with running_adapter(fake, core):
            before = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
            await answered(fake, before, "starting")
        frozen = original(fake, before).content
        async with running_adapter(fake, core, orphan_grace_seconds=0.5):
            after = await fake.invoke_command("sora", user=bob, prompt="a second crate")  # admitted now: watched
            await answered(fake, after, "queued")
            gate.set()
            [first, *_] = await fake.wait_until(
                lambda: clip_posts(fake, fake.general.id), within=30, what="the clip from before the restart"
            )
            [status] = await fake.wait_until(
                lambda: status_messages(fake, fake.general.id), within=10, what="the status message"
            )
            await fake.wait_until(
                lambda: f"done: clip `{clip_id_of(first)}` is being posted" in status.content,
                what="the status message to end with the clip",
            )
            await answered(fake, after, "done")
            await fake.wait_until(lambda: len(clip_posts(fake, fake.general.id)) == 2, within=10, what="both clips")
        assert any("step " in text and "█" in text for text in shown(status)), shown(status)
        assert PROMPT in status.content and job_of(fake, before) in status.content
        assert status.webhook_id is None  # the bot's own message, not the old interaction's
        # The watched job got no second status message; the old response is left as it was.
        assert status_messages(fake, fake.general.id) == [status]
        assert original(fake, before).content == frozen


async def test_progress_shows_the_queue_moving_up_and_the_encoding_stage(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    generator, hold = OneAtATime(), HoldEncoding()
    bob, carol = fake.add_member("bob"), fake.add_member("carol")
    async with (
        running_core(tmp_path / "data", generator, setup=lambda service: service.extensions.append(hold)) as service,
        running_adapter(fake, service, progress_interval_seconds=0.05),
    ):
        first = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, first, "starting")
        second = await fake.invoke_command("sora", user=bob, prompt="a second crate")
        await answered(fake, second, "position 1")
        third = await fake.invoke_command("sora", user=carol, prompt="a third crate")
        await answered(fake, third, "position 2")
        generator.turns.release()
        # The first job leaves the worker once generated (its encoding is held here): the second starts (and waits
        # for its turn), the third moves up.
        await answered(fake, first, "encoding")
        await answered(fake, third, "position 1")
        hold.release.set()
        generator.turns.release(2)
        await answered(fake, first, "done")
        await answered(fake, third, "done")
    texts = shown(original(fake, third))
    moved = [i for i, text in enumerate(texts) if "position 1" in text]
    assert moved and any("position 2" in text for text in texts[: moved[0]]), texts
    assert "█" in next(text for text in shown(original(fake, first)) if "encoding" in text)


# ------------------------------------------------------------------------------------------------ commands


async def test_slash_extend_by_id_from_the_channel_lands_in_the_clip_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    post = await sora_clip(fake, fake.owner)
    thread = fake.thread_of(post)
    assert thread is not None
    extend = await fake.invoke_command(
        "extend", user=fake.add_member("dan"), clip=clip_id_of(post), prompt="it tips over"
    )
    [extended] = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the extension")
    clip = await core.clip(clip_id_of(extended))
    assert (clip.kind, clip.parent_clip_id) == ("extend", clip_id_of(post))
    assert "it tips over" in extended.content and "— dan" in extended.content
    assert len(clip_posts(fake, fake.general.id)) == 1  # nothing new in the channel itself
    await answered(fake, extend, "done")


async def test_cancel_of_ones_own_queued_job_refunds_it_and_others_cannot_cancel_it(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    bob, carol = fake.add_member("bob"), fake.add_member("carol")
    async with (
        running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as service,
        running_adapter(fake, service),
    ):
        running = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, running, "starting")
        queued = await fake.invoke_command("sora", user=bob, prompt="a second crate")
        await answered(fake, queued, "queued")
        job = job_of(fake, queued)
        quota = await fake.invoke_command("quota", user=bob)
        assert "55 of 60" in (await answered(fake, quota, "credits left today")).content

        refused = await fake.invoke_command("cancel", user=carol, job=job)
        assert (await answered(fake, refused, "only your own jobs")).content.startswith("⚠️")
        assert (await service.job(job)).state == "queued"

        cancel = await fake.invoke_command("cancel", user=bob, job=job)
        answer = await answered(fake, cancel, f"cancelled `{job}`")
        assert answer.is_ephemeral and "5 credits were refunded" in answer.content
        # The person's own response follows the job to its end, and the cancel answer keeps its text.
        await answered(fake, queued, "cancelled: cancelled by bob")
        assert (await service.job(job)).state == "cancelled"
        quota = await fake.invoke_command("quota", user=bob)
        assert "60 of 60" in (await answered(fake, quota, "credits left today")).content
        assert "refunded" in original(fake, cancel).content
        gate.set()
        await answered(fake, running, "done")
    assert len(clip_posts(fake, fake.general.id)) == 1


async def test_tree_by_id_from_the_channel_shows_the_remix_tree(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    post, [remix] = await clip_and_a_remix_by_id(fake, fake.add_member("bob"), "make it blue")
    tree = await fake.invoke_command("tree", user=fake.owner, clip=clip_id_of(post))
    lines = (await answered(fake, tree, clip_id_of(remix))).content.splitlines()
    assert f"`{clip_id_of(post)}` alice made: {PROMPT}" in lines[0]
    assert f"└─ `{clip_id_of(remix)}` bob remixed: make it blue" in lines[1]


async def test_the_admin_queue_lists_waiting_jobs_for_managers_only(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    gate = threading.Event()
    bob, mia = fake.add_member("bob"), fake.add_member("mia", manager=True)
    async with (
        running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as service,
        running_adapter(fake, service),
    ):
        running = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, running, "starting")
        waiting = []
        for prompt in ("a second crate", "a third crate"):
            interaction = await fake.invoke_command("sora", user=bob, prompt=prompt)
            await answered(fake, interaction, "queued")
            waiting.append(job_of(fake, interaction))

        queue = await fake.invoke_command("sora-admin", subcommand="queue", user=mia)
        listed = (await answered(fake, queue, waiting[-1])).content.splitlines()
        assert listed == [
            f"`{job_of(fake, running)}` running · alice: {PROMPT}",
            f"`{waiting[0]}` queued #1 · bob: a second crate",
            f"`{waiting[1]}` queued #2 · bob: a third crate",
        ]
        assert original(fake, queue).is_ephemeral

        # A server can let anyone use the command (Integrations settings); the queue stays for managers.
        fake.grant_command("sora-admin", bob)
        refused = await fake.invoke_command("sora-admin", subcommand="queue", user=bob)
        assert (await answered(fake, refused, "only server managers")).content.startswith("⚠️")
        assert waiting[0] not in original(fake, refused).content
        gate.set()
        await fake.wait_until(lambda: len(clip_posts(fake, fake.general.id)) == 3, within=30, what="the clips")
