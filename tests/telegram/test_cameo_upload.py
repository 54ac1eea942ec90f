"""`/cameo create` through Telegram: the reference video is downloaded with getFile and checked by the real
cameo service (OpenCV face detection, silero voice detection) on a real core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bots.telegrambot import TelegramAdapter, TelegramSettings
from core.identity import Actor, Place
from model.likeness import LikenessChecker
from tests.cameos.helpers import Rig, cameo_core
from tests.cameos.reference import needs_espeak, speaking_astronaut, speaking_wall
from tests.fakes.telegram_harness import adapter_env, reply_text
from tests.fakes.telegram_server import CLOUD_DOWNLOAD_LIMIT, FakeTelegram, no_real_network, telegram_server

__all__ = ["no_real_network", "telegram_server"]

pytestmark = [needs_espeak, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


@asynccontextmanager
async def cameo_world(tmp_path: Path, server: FakeTelegram) -> AsyncIterator[tuple[Rig, TelegramAdapter]]:
    async with cameo_core(tmp_path, checker=LikenessChecker()) as rig:
        settings = TelegramSettings.from_env(adapter_env(server))
        assert settings is not None
        adapter = TelegramAdapter(rig.core, settings, cameos=rig.cameos)
        await adapter.start()
        try:
            yield rig, adapter
        finally:
            await adapter.stop()


async def test_a_reference_video_captioned_cameo_create_makes_a_cameo_in_a_private_chat(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
    async with cameo_world(tmp_path, server) as (rig, adapter):
        assert [c.command for c in adapter.bot_commands()][-2:] == ["cameo", "forgetme"]
        ana = server.add_user("Ana")
        chat = server.private_chat(ana)
        video = speaking_astronaut()

        wall = server.send_video(
            chat, ana, speaking_wall(), width=320, height=320, duration=4, caption="/cameo create ana"
        )
        refused = await reply_text(server, chat, wall)
        assert "can't make cameo @ana" in refused and "face" in refused

        sent = server.send_video(
            chat, ana, video, width=320, height=320, duration=4, caption="/cameo create ana Ana Lopez"
        )
        assert "created cameo @ana" in await reply_text(server, chat, sent)
        assert server.calls_to("getFile")
        listed = server.send_text(chat, ana, "/cameo list")
        assert "@ana" in await reply_text(server, chat, listed)

        # As an uncompressed document too, and in a group it is refused (a reference video is personal).
        doc = server.send_document(
            chat, ana, video, file_name="me.mp4", mime_type="video/mp4", caption="/cameo create ana_two"
        )
        assert "created cameo @ana_two" in await reply_text(server, chat, doc)
        bob = server.add_user("Bob")
        group = server.add_group("Crew", [ana, bob])
        in_group = server.send_video(
            group, ana, video, width=320, height=320, duration=4, caption="/cameo create ana_group"
        )
        downloads = len(server.calls_to("getFile"))
        assert "private chat" in await reply_text(server, group, in_group)
        assert len(server.calls_to("getFile")) == downloads, "a reference video is not fetched from a group"
        ana_actor = Actor(platform="telegram", user_id=str(ana.id), display_name="Ana")
        dm = Place(platform="telegram", channel_id=str(chat.id), is_private=True)
        assert (await rig.cameos.list_cameos(ana_actor, dm)).data["handles"] == ["ana", "ana_two"]


async def test_a_reference_video_over_the_download_limit_gets_an_explanation(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
    async with cameo_world(tmp_path, server):
        cy = server.add_user("Cy")
        chat = server.private_chat(cy)
        big = server.send_video(
            chat, cy, bytes(CLOUD_DOWNLOAD_LIMIT + 1), width=2, height=2, duration=1, caption="/cameo create cy"
        )
        assert "20 MB" in await reply_text(server, chat, big)
