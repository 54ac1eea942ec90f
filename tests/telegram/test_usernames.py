"""@username -> account through the real adapter: the map outlives a restart of the whole service, and ordinary
messages do not each cost a database write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from telegram import MessageEntity

from bots.telegrambot.mentions import Mentions
from core.identity import Actor, Place
from tests.cameos.helpers import cameo_core, synthetic_likeness
from tests.fakes.telegram_harness import reply_text, running_adapter
from tests.fakes.telegram_server import FakeChat, FakeTelegram, FakeUser, no_real_network

__all__ = ["no_real_network"]  # the fixture, imported so pytest applies it here

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def speaker(server: FakeTelegram) -> Callable[[FakeChat, FakeUser, str, str], Awaitable[str]]:
    async def say(chat: FakeChat, who: FakeUser, text: str, contains: str = "") -> str:
        return await reply_text(server, chat, server.send_text(chat, who, text), contains)

    return say


async def test_username_seen_before_restart_still_resolves_after_restart(tmp_path: Path) -> None:
    server = FakeTelegram()
    await server.start()
    say = speaker(server)
    try:
        ana, bo = server.add_user("Ana", "ana"), server.add_user("Bo", "Bo_The_Builder")
        group = server.add_group("Friends", [ana, bo])
        ana_dm = server.private_chat(ana)

        async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
            owner = Actor("telegram", str(ana.id), "Ana")
            made = await rig.cameos.create_from_likeness(
                owner, Place("telegram", str(ana_dm.id), is_private=True), "ana", synthetic_likeness()
            )
            assert made.ok, made.text
            writes: list[tuple[str, str, str]] = []
            remember = rig.core.remember_handle

            async def counted(platform: str, handle: str, user_id: str) -> None:
                writes.append((platform, handle, user_id))
                await remember(platform, handle, user_id)

            rig.core.remember_handle = counted  # type: ignore[method-assign]
            for _ in range(3):
                await say(group, bo, "/quota", "credits")
            # Bo's pair was new once; his later messages found it in the adapter's memory.
            assert writes == [("telegram", "bo_the_builder", str(bo.id))]

        # The whole service restarts (core, database, adapter): nothing of the first run's memory is left.
        async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
            # Bo says nothing after the restart; Ana's mention of him still names his account.
            assert "may now use @ana" in await say(ana_dm, ana, "/cameo allow @bo_the_builder")
            reply = await say(group, bo, "/sora @ana waves --seconds 1 --size 160x96", "queued")
            assert "queued" in reply
            # A name nobody has shown stays unknown.
            assert "don't know anyone called @nobody_here" in await say(ana_dm, ana, "/cameo allow @nobody_here")
    finally:
        await server.stop()
    if server.server_errors:
        raise server.server_errors[0]


def test_mentions_are_replaced_where_they_stand_counting_utf16_like_telegram() -> None:
    # 🎬 is two UTF-16 units: offsets after it differ from Python's indices. @bo must not eat the start of @bobby.
    text = "/sora 🎬 @bobby and @bo wave"
    bobby = MessageEntity(MessageEntity.MENTION, offset=9, length=6)
    bo = MessageEntity(MessageEntity.MENTION, offset=20, length=3)
    spliced = Mentions._splice(text, [(bo, "@bo_cam"), (bobby, "telegram:7")])
    assert spliced == "/sora 🎬 telegram:7 and @bo_cam wave"
