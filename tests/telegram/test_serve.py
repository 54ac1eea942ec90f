"""`sorabox serve` itself (bots.serve.run_service) with SORABOX_TELEGRAM_TOKEN and SORABOX_TELEGRAM_BASE_URL
pointing at the loopback fake Bot API server: the issue's "done when", polling and webhook mode."""

from __future__ import annotations

import asyncio
import io
import socket
from pathlib import Path

import pytest

from bots.serve import run_service
from core.settings import Settings
from model.media import probe
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server

__all__ = ["no_real_network", "telegram_server"]

# `sorabox serve` with its default procedural backend makes two full clips (5 s of 640x360 each): a slow test.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sorabox_serve_answers_sora_in_a_forum_topic_and_a_second_users_reply_remixes_it(
    tmp_path: Path, telegram_server: FakeTelegram, mode: str
) -> None:
    server = telegram_server
    port = free_port()
    env = {
        "SORABOX_DATA_DIR": str(tmp_path),
        "SORABOX_CONFIG": str(tmp_path / "none.toml"),
        "SORABOX_WEB_PORT": str(port),
        "SORABOX_TELEGRAM_TOKEN": server.token,
        "SORABOX_TELEGRAM_BASE_URL": server.base_url,
        "SORABOX_TELEGRAM_POLL_TIMEOUT": "1",
        "SORABOX_TELEGRAM_EDIT_INTERVAL": "0.2",
    }
    if mode == "webhook":
        env["SORABOX_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
        # Polling runs the default procedural backend, as `sorabox serve` does; here the delivery path is the point.
        env["SORABOX_BACKEND"] = "tests.support:ToneGenerator"
    stop = asyncio.Event()
    ready = asyncio.Event()
    service = asyncio.create_task(run_service(Settings.from_env(env), stop, io.StringIO(), lambda _: ready.set()))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        alice, bob = server.add_user("Alice"), server.add_user("Bob")
        forum = server.add_group("Makers", [alice, bob], forum=True)
        topic = server.create_topic(forum, "bottles", alice)
        server.send_text(forum, alice, "/sora a glass bottle falls off a table", thread_id=topic)
        first = (
            await server.wait_for(
                lambda: [m for m in server.bot_messages(forum, thread_id=topic) if "video" in m], within=120
            )
        )[0]
        info = probe(server.file_bytes(first["video"]["file_id"]))
        assert (info.video_codec, info.audio_codec) == ("h264", "aac") and info.frame_count > 0
        if mode == "polling":  # the procedural backend's default clip: 5 s of 640x360 with sound as long
            assert (info.width, info.height, info.frame_count) == (640, 360, 120)
            assert abs(info.audio_seconds - info.seconds) < 0.1

        reply = server.send_text(forum, bob, "now it is a blue bottle", reply_to=first["message_id"])
        second = (
            await server.wait_for(
                lambda: [
                    m
                    for m in server.bot_messages(forum, thread_id=topic)
                    if "video" in m and m["message_id"] != first["message_id"]
                ],
                within=120,
            )
        )[0]
        assert second["message_thread_id"] == topic
        assert second["reply_to_message"]["message_id"] == reply["message_id"]
        assert second["caption"].startswith("remix: now it is a blue bottle")
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 30) == 0
    polled = server.calls_to("getUpdates") != []
    assert polled == (mode == "polling")
