"""A slash command deferred just before `sorabox serve` is SIGKILLed still ends in one answer, one job, one clip."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from core.jobs.quotas import unbalanced_jobs
from storage.database import Database
from tests.durability.serving import discord_env, serve, tail
from tests.fakes.discord_server import FLAG_LOADING, FakeDiscord, FakeInteraction, fake_discord, no_real_network

__all__ = ["fake_discord", "no_real_network"]

pytestmark = [pytest.mark.slow]


def clip_posts(fake: FakeDiscord) -> list[int]:
    """Ids of the clips posted anywhere (each clip message carries its remix button)."""
    return [
        m.id
        for m in fake.messages.values()
        if not m.deleted and m.attachments and any(c.startswith("sora:remix:") for c in m.custom_ids())
    ]


def answers(fake: FakeDiscord, interaction: FakeInteraction) -> list[str]:
    """Everything that answered the interaction: its deferred response once filled in, its followups, and channel
    messages that mention the person."""
    found = []
    original = fake.messages.get(interaction.original_message_id or 0)
    if original is not None and not original.flags & FLAG_LOADING and original.content:
        found.append(original.content)
    found += [fake.messages[i].content for i in interaction.followup_ids]
    mention = f"<@{interaction.user.id}>"
    found += [
        m.content
        for m in fake.channel_messages(interaction.channel)
        if m.author.id == fake.bot.id and m.interaction_metadata is None and m.content.startswith(mention)
    ]
    return found


async def start(fake: FakeDiscord, data: Path, log: Path) -> subprocess.Popen[str]:
    before = fake.identifies
    service = serve(data, log, discord_env(fake.api_base, fake.gateway_url, fake.token))
    await fake.wait_until(lambda: fake.identifies > before or service.poll() is not None, within=90, what="identify")
    assert service.poll() is None, tail(log)
    await fake.wait_ready(within=60)
    return service


async def kill_after_deferral(fake: FakeDiscord, data: Path, log: Path) -> FakeInteraction:
    service = await start(fake, data, log)
    try:
        asked = await fake.invoke_command("sora", user=fake.owner, prompt="a red ball bounces on a floor", seconds=3)
        await fake.wait_until(lambda: asked.acknowledged_at, within=30, what="the deferral")
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait(10)
    return asked


def check_store(data: Path) -> None:
    db = Database(data / "sorabox.db")
    try:
        jobs = db.read_sync(lambda d: list(d.query("SELECT id, state FROM jobs")))
        assert [j["state"] for j in jobs] == ["done"]
        assert db.read_sync(unbalanced_jobs) == []
        unhandled = "SELECT count(*) FROM inbox WHERE platform = 'discord' AND handled_at IS NULL"
        assert db.read_sync(lambda d: d.execute(unhandled).fetchone()[0]) == 0
    finally:
        db.close()


async def stop(service: subprocess.Popen[str], log: Path) -> None:
    service.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(service.wait, 30)
    assert code == 0, tail(log)


@pytest.mark.timeout(240)
async def test_an_interaction_deferred_just_before_a_kill_gets_one_followup_and_one_clip(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake, log = fake_discord, tmp_path / "serve.log"
    asked = await kill_after_deferral(fake, tmp_path, log)

    service = await start(fake, tmp_path, log)
    try:
        said = await fake.wait_until(lambda: answers(fake, asked), within=90, what="the answer after the restart")
        await fake.wait_until(lambda: clip_posts(fake), within=120, what="the clip")
        await asyncio.sleep(2.0)  # room for a second answer or clip, if there were one
    finally:
        await stop(service, log)

    assert len(answers(fake, asked)) == 1, answers(fake, asked)
    assert "job" in said[0].lower() or "queued" in said[0].lower() or "made" in said[0].lower(), said
    assert len(clip_posts(fake)) == 1
    check_store(tmp_path)


@pytest.mark.timeout(240)
async def test_an_interaction_whose_token_expired_during_the_outage_is_answered_in_its_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake, log = fake_discord, tmp_path / "serve.log"
    asked = await kill_after_deferral(fake, tmp_path, log)
    fake.clock.advance(16 * 60)  # the service was down longer than the interaction's 15-minute token

    service = await start(fake, tmp_path, log)
    try:
        said = await fake.wait_until(lambda: answers(fake, asked), within=90, what="the channel message")
        await fake.wait_until(lambda: clip_posts(fake), within=120, what="the clip")
        await asyncio.sleep(2.0)
    finally:
        await stop(service, log)

    assert asked.followup_ids == []
    assert len(answers(fake, asked)) == 1 and said[0].startswith(f"<@{fake.owner.id}>"), answers(fake, asked)
    assert len(clip_posts(fake)) == 1
    check_store(tmp_path)
