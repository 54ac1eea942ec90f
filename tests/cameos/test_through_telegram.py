"""The issue's "done when", through a real adapter: the Telegram adapter and the real python-telegram-bot
client against the loopback fake Bot API server, over the real core with cameos installed.

Everything happens in Telegram chats: the reference video is sent to the bot in a private chat with the
caption `/cameo create ana`, and every later step is a message or command typed by one of three people.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from core import quotas
from tests.cameos.helpers import cameo_core
from tests.cameos.reference import needs_espeak, speaking_astronaut
from tests.fakes.telegram_harness import clip_id_of, clip_in, replies_to, reply_text, running_adapter, videos
from tests.fakes.telegram_server import FakeTelegram, no_real_network
from tests.support import ToneGenerator

__all__ = ["no_real_network"]  # the fixture, imported so pytest applies it here

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@needs_espeak
async def test_through_telegram_a_friend_uses_the_cameo_a_stranger_is_refused_revoking_cancels_and_deleting_unposts(
    tmp_path: Path,
) -> None:
    gate = threading.Event()
    gate.set()
    server = FakeTelegram()
    await server.start()
    try:
        async with (
            cameo_core(tmp_path, ToneGenerator(steps=2, gate=gate)) as rig,
            running_adapter(rig.core, server),
        ):
            ana, bo, cy = server.add_user("Ana", "ana"), server.add_user("Bo", "bo"), server.add_user("Cy", "cy")
            group = server.add_group("Friends", [ana, bo, cy])
            ana_dm = server.private_chat(ana)
            video = await asyncio.to_thread(speaking_astronaut, 4.0)
            upload = server.send_video(
                ana_dm, ana, video, width=320, height=320, duration=4, caption="/cameo create ana"
            )
            assert "created cameo @ana" in await reply_text(server, ana_dm, upload)

            async def say(chat, who, text: str, contains: str = "") -> str:  # type: ignore[no-untyped-def]
                return await reply_text(server, chat, server.send_text(chat, who, text), contains)

            # A mention turned into the account's id (what a Telegram text mention carries).
            assert "may now use @ana" in await say(ana_dm, ana, f"/cameo allow telegram:{bo.id}")

            # Bo's clip with Ana's face is posted in the group; Ana hears about it in her private chat.
            await say(group, bo, "/sora @ana waves at the camera --seconds 1 --size 160x96", "queued")
            clip_message = (await clip_in(server, group))[0]
            first_clip = clip_id_of(clip_message)
            notice = (
                await server.wait_for(
                    lambda: [m for m in server.bot_messages(ana_dm) if "used your cameo @ana" in m.get("text", "")]
                )
            )[0]
            assert first_clip in notice["text"] and "Bo used your cameo" in notice["text"]

            # A stranger is refused, with the reason.
            assert "can't be used: its owner has not approved you" in await say(group, cy, "/sora @ana dances")

            # Ana revokes while Bo's second clip waits: it is cancelled and the credits come back.
            gate.clear()
            await say(group, ana, "/sora a red ball bounces --seconds 1 --size 160x96", "queued")
            waiting = server.send_text(group, bo, "/sora @ana juggles --seconds 1 --size 160x96")
            status = (await server.wait_for(lambda: replies_to(server, group, waiting)))[0]
            assert "turned off" in await say(ana_dm, ana, "/cameo revoke")
            gate.set()
            cancelled = await server.wait_for(
                lambda: "turned it off" in server.messages[(group.id, status["message_id"])].get("text", ""), within=20
            )
            assert cancelled
            assert "refunded" in server.messages[(group.id, status["message_id"])]["text"]
            assert await rig.db.read(quotas.unbalanced_jobs) == []

            # Ana deletes Bo's clip from her private chat: it disappears from the group, and the notice goes too.
            assert "deleted clip" in await say(ana_dm, ana, f"/delete {first_clip}")
            await server.wait_for(lambda: (group.id, clip_message["message_id"]) not in server.messages, within=10)
            await server.wait_for(lambda: (ana_dm.id, notice["message_id"]) not in server.messages, within=10)
            # Ana's own red ball stays.
            remaining = await server.wait_for(lambda: [clip_id_of(m) for m in videos(server, group)], within=20)
            assert first_clip not in remaining and len(remaining) == 1
    finally:
        await server.stop()
    if server.server_errors:
        raise server.server_errors[0]


async def test_cameo_allow_accepts_an_at_username_the_bot_has_seen(tmp_path: Path) -> None:
    from core.identity import Actor, Place
    from tests.cameos.helpers import synthetic_likeness

    server = FakeTelegram()
    await server.start()
    try:
        async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
            ana, bo = server.add_user("Ana", "ana"), server.add_user("Bo", "bo_the_builder")
            group = server.add_group("Friends", [ana, bo])
            ana_dm = server.private_chat(ana)
            owner = Actor("telegram", str(ana.id), "Ana")
            made = await rig.cameos.create_from_likeness(
                owner, Place("telegram", str(ana_dm.id), is_private=True), "ana", synthetic_likeness()
            )
            assert made.ok, made.text

            async def say(chat, who, text: str, contains: str = "") -> str:  # type: ignore[no-untyped-def]
                return await reply_text(server, chat, server.send_text(chat, who, text), contains)

            # Nobody has seen @bo_the_builder yet: the answer says so instead of guessing.
            assert "don't know anyone called @bo_the_builder" in await say(ana_dm, ana, "/cameo allow @bo_the_builder")
            # Bo speaks in the group once; now the mention names his account.
            await say(group, bo, "/quota", "credits")
            assert "may now use @ana" in await say(ana_dm, ana, "/cameo allow @bo_the_builder")
            reply = await say(group, bo, "/sora @ana waves --seconds 1 --size 160x96", "queued")
            assert "queued" in reply
    finally:
        await server.stop()
    if server.server_errors:
        raise server.server_errors[0]
