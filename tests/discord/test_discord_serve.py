"""`sorabox serve` with the Discord variables pointing at the fake Discord: the issue's "done when", end to end."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bots.serve import run_service
from core.settings import Settings
from model.media import probe
from tests.fakes.discord_server import ACK_DEADLINE_S, FakeDiscord, FakeMessage, fake_discord, no_real_network

__all__ = ["fake_discord", "no_real_network"]  # fixtures used by this module


def _clip_posts(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    return [m for m in fake.channel_messages(channel_id) if any(c.startswith("sora:remix:") for c in m.custom_ids())]


@pytest.mark.slow  # serve's default procedural backend makes two full clips (5 s of 640x360 each)
async def test_sorabox_serve_posts_the_clip_in_a_new_thread_and_a_second_users_remix_lands_there(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    settings = Settings.from_env(
        {
            "SORABOX_DATA_DIR": str(tmp_path / "data"),
            "SORABOX_CONFIG": str(tmp_path / "none.toml"),
            "SORABOX_WEB_PORT": "0",
            "SORABOX_DISCORD_TOKEN": fake.token,
            "SORABOX_DISCORD_API_BASE": fake.api_base,
            "SORABOX_DISCORD_GATEWAY_URL": fake.gateway_url,
        }
    )
    stop = asyncio.Event()
    service = asyncio.create_task(run_service(settings, stop, out=io.StringIO()), name="sorabox-serve")
    fake.watch(service)
    try:
        await fake.wait_ready(within=30)
        client = next(t for t in asyncio.all_tasks() if t.get_name() == "discord-client")
        fake.watch(client)

        asked = await fake.invoke_command("sora", user=fake.owner, prompt="a wooden crate slides down a ramp")
        await fake.wait_until(lambda: asked.acknowledged_at, what="the deferral")
        assert asked.ack_latency is not None and asked.ack_latency < ACK_DEADLINE_S
        # Procedural clips of this scene take 2-12 s on 2 busy cores.
        posts = await fake.wait_until(lambda: _clip_posts(fake, fake.general.id), within=120, what="the clip")
        thread = await fake.wait_until(lambda: fake.thread_of(posts[0]), what="the clip's thread")
        assert thread.name == "a wooden crate slides down a ramp"
        # The default procedural backend, as `sorabox serve` runs it: 5 s of 640x360 with sound as long.
        info = probe(posts[0].attachments[0].data)
        assert (info.video_codec, info.audio_codec, info.width, info.height, info.frame_count) == (
            "h264",
            "aac",
            640,
            360,
            120,
        )
        assert abs(info.audio_seconds - info.seconds) < 0.1

        bob = fake.add_member("bob")
        remix_id = next(c for c in posts[0].custom_ids() if c.startswith("sora:remix:"))
        click = await fake.click(posts[0], remix_id, user=bob)
        await fake.wait_until(lambda: click.modal, what="the remix modal")
        await fake.submit_modal(click, {"sora:remix-prompt": "the crate is made of ice"})
        remixes = await fake.wait_until(lambda: _clip_posts(fake, thread.id), within=120, what="bob's remix")
        assert "the crate is made of ice" in remixes[0].content and remixes[0].attachments
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 30) == 0
