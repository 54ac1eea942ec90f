"""The issue's "done when", through a real adapter: the Telegram adapter and the real python-telegram-bot
client against the loopback fake Bot API server, over the real core with cameos installed.

Everything happens in Telegram chats: the reference video is sent to the bot in a private chat with the
caption `/cameo create ana`, and every later step is a message or command typed by one of three people.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from core.identity import Actor, Place
from core.jobs import quotas
from tests.cameos.helpers import Rig, cameo_core, synthetic_likeness
from tests.cameos.reference import needs_espeak, speaking_astronaut
from tests.fakes.telegram_harness import (
    button_data,
    clip_id_of,
    clip_in,
    replies_to,
    reply_text,
    running_adapter,
    videos,
)
from tests.fakes.telegram_server import FakeChat, FakeTelegram, FakeUser, no_real_network, telegram_server
from tests.support import ToneGenerator

__all__ = ["no_real_network", "telegram_server"]  # fixtures, imported so pytest applies them here

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@needs_espeak
async def test_through_telegram_a_friend_uses_the_cameo_a_stranger_is_refused_revoking_cancels_and_deleting_unposts(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    gate = threading.Event()
    gate.set()
    server = telegram_server
    async with (
        cameo_core(tmp_path, ToneGenerator(steps=2, gate=gate)) as rig,
        running_adapter(rig.core, server),
    ):
        ana, bo, cy = server.add_user("Ana", "ana"), server.add_user("Bo", "bo"), server.add_user("Cy", "cy")
        group = server.add_group("Friends", [ana, bo, cy])
        ana_dm = server.private_chat(ana)
        video = await asyncio.to_thread(speaking_astronaut, 4.0)
        upload = server.send_video(ana_dm, ana, video, width=320, height=320, duration=4, caption="/cameo create ana")
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
                lambda: [m for m in videos(server, ana_dm) if "used your cameo @ana" in m.get("caption", "")]
            )
        )[0]
        assert first_clip in notice["caption"] and "Bo used your cameo" in notice["caption"]

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


async def test_cameo_allow_accepts_an_at_username_the_bot_has_seen(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
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


async def _cameo_for(rig: Rig, person: FakeUser, dm: FakeChat, handle: str, seed: int = 0) -> None:
    """A cameo for a Telegram user, made in their private chat and open to everyone (rules, not checks, matter here)."""
    owner = Actor("telegram", str(person.id), person.first_name)
    place = Place("telegram", str(dm.id), is_private=True)
    made = await rig.cameos.create_from_likeness(owner, place, handle, synthetic_likeness(seed))
    assert made.ok, made.text
    assert (await rig.cameos.set_visibility(owner, place, "everyone")).ok


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_the_cameo_owner_gets_the_clip_with_a_delete_button_and_it_deletes_it_everywhere(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
    async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
        ana, bo = server.add_user("Ana", "ana_banana"), server.add_user("Bo", "bo_builder")
        group = server.add_group("Friends", [ana, bo])
        ana_dm = server.private_chat(ana)
        await _cameo_for(rig, ana, ana_dm, "ana")
        server.send_text(group, bo, "/sora @ana waves --seconds 1 --size 160x96")
        clip = (await clip_in(server, group))[0]
        clip_id = clip_id_of(clip)

        # Ana's notice is the clip itself, captioned with the notice, with one button: the clip's own Delete.
        notice = (await clip_in(server, ana_dm))[0]
        assert "Bo used your cameo @ana" in notice["caption"] and clip_id in notice["caption"]
        assert "`" not in notice["caption"]
        assert server.file_bytes(notice["video"]["file_id"]) == server.file_bytes(clip["video"]["file_id"])
        assert _buttons(notice) == [("Delete", f"del:{clip_id}")] == [("Delete", button_data(clip, "Delete"))]

        # Ana neither made the clip nor administers the group: her cameo in it is what lets her delete it.
        query = server.click(ana_dm, notice["message_id"], ana, f"del:{clip_id}")
        answer = await server.wait_for(lambda: [a for a in server.callback_answers if a.callback_query_id == query])
        assert not answer[0].show_alert and "deleted clip" in (answer[0].text or "")
        await server.wait_for(lambda: (group.id, clip["message_id"]) in server.deleted, within=10)
        await server.wait_for(lambda: (ana_dm.id, notice["message_id"]) in server.deleted, within=10)


async def test_a_cameo_notice_whose_upload_answer_was_lost_is_linked_not_uploaded_again(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
    async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
        ana, bo = server.add_user("Ana", "ana_banana"), server.add_user("Bo", "bo_builder")
        group = server.add_group("Friends", [ana, bo])
        ana_dm = server.private_chat(ana)
        await _cameo_for(rig, ana, ana_dm, "ana")
        # Both uploads (the group's clip, then Ana's notice) land, and the bot never hears so.
        server.lose_answer("sendVideo", times=2)
        server.send_text(group, bo, "/sora @ana waves --seconds 1 --size 160x96")
        note = (
            await server.wait_for(
                lambda: [m for m in server.bot_messages(ana_dm) if "cut off" in m.get("text", "")], within=20
            )
        )[0]
        await asyncio.sleep(0.6)  # a second upload would come within the retry interval
        assert len(videos(server, ana_dm)) == 1 and len(server.calls_to("sendVideo")) == 2
        clip_id = clip_id_of(videos(server, group)[0])
        assert "used your cameo @ana" in note["text"] and _buttons(note) == [("Delete", f"del:{clip_id}")]


async def test_a_mention_in_a_sora_prompt_uses_that_persons_cameo(
    tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    server = telegram_server
    async with cameo_core(tmp_path) as rig, running_adapter(rig.core, server):
        ana, bo = server.add_user("Ana", "ana_banana"), server.add_user("Bo", "bo_builder")
        dee = server.add_user("Dee")  # no username: only a text mention can name her
        group = server.add_group("Friends", [ana, dee, bo])
        ana_dm, dee_dm = server.private_chat(ana), server.private_chat(dee)
        await _cameo_for(rig, ana, ana_dm, "ana_cam")
        await _cameo_for(rig, dee, dee_dm, "dee_cam", seed=1)
        await reply_text(server, group, server.send_text(group, ana, "/quota"), "credits")  # @ana_banana is seen

        async def notices(dm: FakeChat, count: int) -> list[str]:
            found = await server.wait_for(lambda: len(shown := videos(server, dm)) >= count and shown, within=20)
            return [str(m["caption"]) for m in found]

        # Ana by her @username (her cameo is @ana_cam); Dee, who has no username, by a text mention.
        request = server.send_text(
            group, bo, "/sora @ana_banana and Dee dance --seconds 1 --size 160x96", text_mentions={"Dee": dee}
        )
        assert "queued" in await reply_text(server, group, request)
        assert "Bo used your cameo @ana_cam" in (await notices(ana_dm, 1))[0]
        assert "Bo used your cameo @dee_cam" in (await notices(dee_dm, 1))[0]

        # A cameo's own @handle, which is nobody's username, still names it.
        request = server.send_text(group, bo, "/sora @dee_cam bows --seconds 1 --size 160x96")
        assert "queued" in await reply_text(server, group, request)
        assert len(await notices(dee_dm, 2)) == 2

        # A person without a cameo stays as typed: the core says there is no such cameo.
        request = server.send_text(group, ana, "/sora @bo_builder waves")
        assert "no cameo called @bo_builder" in await reply_text(server, group, request)
