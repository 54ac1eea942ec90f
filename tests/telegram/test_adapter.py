"""End to end: the real core (SQLite in tmp_path, a real generator, PyAV) + the Telegram adapter + the real
python-telegram-bot client, against the loopback fake Bot API server."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import ClientSession, web
from telegram import User
from telegram.error import InvalidToken

from bots.telegrambot import TelegramAdapter, TelegramSettings
from core.events import JobDone, PostRef
from core.identity import Place
from core.service import Sorabox
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from model.media import probe
from tests.fakes.telegram_harness import (
    adapter_env,
    button_data,
    clip_id_of,
    clip_in,
    replies_to,
    reply_text,
    running_adapter,
    videos,
    world,
)
from tests.fakes.telegram_server import (
    FakeChat,
    FakeTelegram,
    FakeUser,
    FloodPolicy,
    FloodWindow,
    NetworkGuard,
    no_real_network,
)
from tests.support import ToneGenerator, running_core, wait_for

__all__ = ["no_real_network"]  # the fixture, imported so pytest applies it here

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class NoiseGenerator:
    """Frames of random noise: they compress badly, so the MP4 is large enough to exceed small upload limits."""

    name = "noise"

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        progress(1, 1)
        rng = np.random.default_rng(request.seed)
        count = max(1, round(request.seconds * request.fps))
        frames = rng.integers(0, 256, (count, request.height, request.width, 3), dtype=np.uint8)
        audio = rng.uniform(-0.3, 0.3, (2, round(48_000 * count / request.fps))).astype(np.float32)
        return Clip(frames, audio, request.fps, 48_000)


# --------------------------------------------------------------------------- the headline scenario
async def test_sora_in_a_forum_topic_posts_a_playable_mp4_there_and_a_second_users_reply_remixes_it(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as (core, server, _):
        alice, bob = server.add_user("Alice"), server.add_user("Bob")
        forum = server.add_group("Makers", [alice, bob], forum=True)
        topic = server.create_topic(forum, "bottles", alice)
        request = server.send_text(forum, alice, "/sora a glass bottle falls off a table", thread_id=topic)
        first = (await clip_in(server, forum, thread_id=topic))[0]

        # The clip: in the topic, answering the request, a real H.264 + AAC MP4 with its size and length.
        assert first["message_thread_id"] == topic
        assert first["reply_to_message"]["message_id"] == request["message_id"]
        info = probe(server.file_bytes(first["video"]["file_id"]))
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert (first["video"]["width"], first["video"]["height"]) == (info.width, info.height)
        upload = next(c for c in server.calls_to("sendVideo") if c.status == 200)
        assert upload.params["supports_streaming"] == "true" and int(upload.params["duration"]) >= 1
        caption = first["caption"]
        assert caption.startswith("a glass bottle falls off a table") and "credits left" in caption
        assert [b["text"] for row in first["reply_markup"]["inline_keyboard"] for b in row] == [
            "Remix",
            "Extend",
            "Reroll",
            "Delete",
        ]

        # One status message, edited in place up to "done"; the upload action shown in the topic meanwhile.
        status = replies_to(server, forum, request)[0]
        assert status["message_thread_id"] == topic
        assert "queued" in server.calls_to("sendMessage")[0].params["text"]
        final = await server.wait_for(lambda: "done" in server.messages[(forum.id, status["message_id"])]["text"])
        assert final
        edits = [c.params["text"] for c in server.calls_to("editMessageText") if c.status == 200]
        assert any("step" in text for text in edits)
        assert any(a.action == "upload_video" and a.message_thread_id == topic for a in server.chat_actions)

        # Bob replies to the clip with text: a remix, posted in the same topic as a reply to Bob.
        remix_request = server.send_text(forum, bob, "make it a blue bottle", reply_to=first["message_id"])
        second = (await clip_in(server, forum, count=2, thread_id=topic))[1]
        assert second["reply_to_message"]["message_id"] == remix_request["message_id"]
        assert second["caption"].startswith("remix: make it a blue bottle")
        remix = await core.clip(clip_id_of(second))
        assert remix.parent_clip_id == clip_id_of(first) and remix.author == "Bob"

        # /tree in the topic, replying to the remix: both clips, each linked to its message in this topic
        # (once the adapter has recorded the remix's post: the message shows on the fake a moment before).
        await recorded_posts(core, clip_id_of(second))
        asked = server.send_text(forum, alice, "/tree", thread_id=topic, reply_to=second["message_id"])
        answer = (
            await server.wait_for(
                lambda: [m for m in replies_to(server, forum, asked) if "Remix tree" in m.get("text", "")]
            )
        )[0]
        links = [e["url"] for e in answer.get("entities", []) if e["type"] == "text_link"]
        internal = str(forum.id).removeprefix("-100")
        assert links == [
            f"https://t.me/c/{internal}/{topic}/{first['message_id']}",
            f"https://t.me/c/{internal}/{topic}/{second['message_id']}",
        ]
        assert answer["message_thread_id"] == topic and "Bob remixed" in answer["text"]


async def test_remix_button_asks_with_force_reply_and_the_answer_lands_in_the_topic(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        alice, bob = server.add_user("Alice"), server.add_user("Bob")
        forum = server.add_group("Makers", [alice, bob], forum=True)
        topic = server.create_topic(forum, "clips", alice)
        server.send_text(forum, alice, "/sora@sorabox_test_bot a red ball bounces", thread_id=topic)
        clip = (await clip_in(server, forum, thread_id=topic))[0]

        query = server.click(forum, clip["message_id"], bob, button_data(clip, "Remix"))
        await server.wait_for(lambda: any(a.callback_query_id == query for a in server.callback_answers))
        ask = (
            await server.wait_for(
                lambda: [m for m in server.bot_messages(forum) if "remix of clip" in m.get("text", "")]
            )
        )[0]
        assert ask["message_thread_id"] == topic
        assert any(e["type"] == "text_mention" and e["user"]["id"] == bob.id for e in ask["entities"])
        ask_call = next(c for c in server.calls_to("sendMessage") if "remix of clip" in c.params.get("text", ""))
        assert '"force_reply": true' in ask_call.params["reply_markup"]

        answer = server.send_text(forum, bob, "now in slow motion", reply_to=ask["message_id"])
        second = (await clip_in(server, forum, count=2, thread_id=topic))[1]
        assert second["reply_to_message"]["message_id"] == answer["message_id"]
        assert (await core.clip(clip_id_of(second))).parent_clip_id == clip_id_of(clip)


# --------------------------------------------------------------------------- every command
async def test_every_command_answers_in_a_private_chat(tmp_path: Path) -> None:
    gate = threading.Event()
    gate.set()
    async with world(tmp_path, ToneGenerator(steps=4, step_seconds=0.05, gate=gate)) as (_, server, _):
        dana = server.add_user("Dana", "dana")
        chat = server.private_chat(dana)
        assert [c["command"] for c in server.commands[('{"type": "default"}', "")]] == [
            "sora",
            "remix",
            "extend",
            "stitch",
            "tree",
            "quota",
            "jobs",
            "cancel",
            "help",
            "link",
        ]

        prompt = server.send_text(chat, dana, "a paper boat drifts")  # plain text is a prompt in private
        assert "queued" in await reply_text(server, chat, prompt)
        first = (await clip_in(server, chat))[0]
        a = clip_id_of(first)

        async def ask(text: str, reply_to: int | None = None, contains: str = "") -> str:
            return await reply_text(server, chat, server.send_text(chat, dana, text, reply_to=reply_to), contains)

        assert "Commands" in await ask("/help")
        assert "Commands" in await ask("/start")
        assert "credits left today" in await ask("/quota")
        assert a in await ask("/jobs")
        assert "queued" in await ask(f"/remix {a} at night")
        assert "queued" in await ask("/extend --seconds 2", reply_to=first["message_id"])
        clips = await clip_in(server, chat, count=3)
        b = clip_id_of(clips[1])
        assert "queued" in await ask(f"/stitch {a} {b}")
        tree = await ask("/tree", reply_to=first["message_id"], contains="Remix tree")
        assert a in tree and b in tree and "Dana remixed" in tree

        gate.clear()  # hold the next job so that it can be cancelled
        request = server.send_text(chat, dana, "/sora --seconds 2 a slow sunrise")
        status = (await server.wait_for(lambda: replies_to(server, chat, request)))[0]
        assert "cancel" in await ask("/cancel", reply_to=status["message_id"])  # the job id comes from the status
        gate.set()
        await server.wait_for(lambda: "cancelled" in server.messages[(chat.id, status["message_id"])]["text"])
        jobs = await ask("/jobs", contains="cancelled")
        assert jobs.count("\n") >= 3


# --------------------------------------------------------------------------- bad input
async def test_bad_input_gets_a_short_explanation_and_nothing_breaks(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        erin = server.add_user("Erin")
        chat = server.private_chat(erin)

        async def ask(text: str) -> str:
            return await reply_text(server, chat, server.send_text(chat, erin, text))

        assert "unknown command" in await ask("/frobnicate now")
        assert "prompt is empty" in await ask("/sora")
        assert "characters long" in await ask("/sora " + "x" * 10_000)
        sticker = server.send_sticker(chat, erin)
        assert "text prompt" in await reply_text(server, chat, sticker)
        photo = server.send_photo(chat, erin, b"\xff\xd8\xff\xe0 not much of a photo")
        assert "text prompt" in await reply_text(server, chat, photo)

        server.send_text(chat, erin, "/sora a tiny red cube")
        clip = (await clip_in(server, chat))[0]
        photo_reply = server.send_photo(chat, erin, b"\xff\xd8", reply_to=clip["message_id"])
        assert "only remix with words" in await reply_text(server, chat, photo_reply)

        # A button under a clip deleted meanwhile: answered, with the reason, and nothing else happens.
        clip_id = clip_id_of(clip)
        reply = await core.handle_text(TelegramAdapter.actor(_user(erin)), _private_place(chat), f"delete {clip_id}")
        assert reply.ok
        await server.wait_for(lambda: (chat.id, clip["message_id"]) in server.deleted)
        for label in ("Remix", "Extend", "Reroll", "Delete"):
            query = server.click(chat, clip["message_id"], erin, button_data(clip, label), stale=True)
            answer = await server.wait_for(
                lambda q=query: [a for a in server.callback_answers if a.callback_query_id == q]
            )
            assert answer[0].show_alert and "no clip" in (answer[0].text or "")
        assert server.calls_to("sendVideo")[-1].status == 200 and len(videos(server, chat)) == 0


async def test_commands_for_another_bot_are_ignored(tmp_path: Path) -> None:
    server = FakeTelegram(privacy_mode=False)  # the bot sees everything, so the adapter must filter
    async with world(tmp_path, server=server) as (_, server, _):
        fay, gus = server.add_user("Fay"), server.add_user("Gus")
        group = server.add_group("Crew", [fay, gus])
        server.send_text(group, fay, "/sora@other_bot a dog")
        server.send_text(group, fay, "just chatting about dogs")
        mine = server.send_text(group, gus, "/quota@sorabox_test_bot")
        await reply_text(server, group, mine, "credits")
        assert len(server.bot_messages(group)) == 1


# --------------------------------------------------------------------------- permissions
async def test_delete_is_for_the_requester_and_chat_admins(tmp_path: Path) -> None:
    async with world(tmp_path) as (_, server, _):
        owner, hal, ivy = server.add_user("Owner"), server.add_user("Hal"), server.add_user("Ivy")
        group = server.add_group("Crew", [owner, hal, ivy], admins=[owner])
        server.send_text(group, ivy, "/sora a spinning top")
        clip = (await clip_in(server, group))[0]
        data = button_data(clip, "Delete")

        refused = server.click(group, clip["message_id"], hal, data)
        answer = await server.wait_for(lambda: [a for a in server.callback_answers if a.callback_query_id == refused])
        assert answer[0].show_alert and "only the person who made this clip" in (answer[0].text or "")
        assert (group.id, clip["message_id"]) in server.messages

        server.click(group, clip["message_id"], owner, data)  # the chat's admin may
        await server.wait_for(lambda: (group.id, clip["message_id"]) in server.deleted)


# --------------------------------------------------------------------------- resilience
async def test_a_rate_limit_storm_during_progress_edits_is_waited_out(tmp_path: Path) -> None:
    gate = threading.Event()
    generator = ToneGenerator(steps=6, step_seconds=0.05, gate=gate)
    async with world(tmp_path, generator) as (_, server, _):
        jo = server.add_user("Jo")
        chat = server.private_chat(jo)
        request = server.send_text(chat, jo, "/sora a storm of confetti")
        await reply_text(server, chat, request, "queued")
        server.inject("editMessageText", 429, retry_after=1, times=3)
        gate.set()
        await clip_in(server, chat)
        status = replies_to(server, chat, request)[0]
        await server.wait_for(lambda: "done" in server.messages[(chat.id, status["message_id"])]["text"], within=10)
    edits = server.calls_to("editMessageText")
    limited = [c for c in edits if c.status == 429]
    assert len(limited) == 3
    # After each 429 the next edit came no sooner than retry_after.
    for blocked in limited:
        later = [c for c in edits if c.at > blocked.at]
        assert later and later[0].at - blocked.at >= 0.95
    # Edits in one chat are spaced by the configured interval.
    ok = [c.at for c in edits if c.status == 200]
    assert all(b - a >= 0.14 for a, b in itertools.pairwise(ok))


async def test_a_clip_finished_while_telegram_is_unreachable_is_delivered_once_when_it_is_back(
    tmp_path: Path,
) -> None:
    gate = threading.Event()
    async with world(tmp_path, ToneGenerator(steps=2, gate=gate)) as (core, server, _):
        kay = server.add_user("Kay")
        chat = server.private_chat(kay)
        request = server.send_text(chat, kay, "/sora a lighthouse in fog")
        await reply_text(server, chat, request, "queued")
        events = core.bus.subscribe()
        async with server.unreachable():
            gate.set()
            await wait_for(events, lambda e: isinstance(e, JobDone))
            await asyncio.sleep(0.6)  # a few delivery attempts fail meanwhile
        await clip_in(server, chat)
        await asyncio.sleep(0.6)
        assert len(videos(server, chat)) == 1
        assert len([c for c in server.calls_to("sendVideo") if c.status == 200]) == 1
        # Refused connections carried nothing: the clip is uploaded, not linked as a cut-off upload.
        assert not [m for m in server.bot_messages(chat) if "cut off" in m.get("text", "")]
        rows = await core.db.read(lambda db: list(db.query("SELECT attempts, in_doubt FROM deliveries")))
        assert rows[0]["attempts"] > 1 and rows[0]["in_doubt"] == 0
        events.close()


async def test_clips_finished_while_the_bot_was_down_are_delivered_once_after_a_restart(tmp_path: Path) -> None:
    gate = threading.Event()
    server = FakeTelegram()
    await server.start()
    try:
        async with running_core(tmp_path, ToneGenerator(steps=2, gate=gate)) as core:
            lea = server.add_user("Lea")
            chat = server.private_chat(lea)
            async with running_adapter(core, server):
                first = server.send_text(chat, lea, "/sora a kite over a beach")
                second = server.send_text(chat, lea, "/sora a kite in the rain")
                await reply_text(server, chat, first, "queued")
                await reply_text(server, chat, second, "queued")
            events = core.bus.subscribe()
            gate.set()  # both jobs finish while no adapter is running
            await wait_for(events, lambda e: isinstance(e, JobDone))
            await wait_for(events, lambda e: isinstance(e, JobDone))
            events.close()
            assert videos(server, chat) == []
            async with running_adapter(core, server):
                delivered = await clip_in(server, chat, count=2)
            async with running_adapter(core, server):
                await asyncio.sleep(0.5)  # a second restart delivers nothing again
            assert len(videos(server, chat)) == 2
            assert {m["reply_to_message"]["message_id"] for m in delivered} == {
                first["message_id"],
                second["message_id"],
            }
    finally:
        await server.stop()


async def test_server_errors_on_upload_are_retried_with_backoff(tmp_path: Path) -> None:
    async with world(tmp_path) as (_, server, _):
        max_ = server.add_user("Max")
        chat = server.private_chat(max_)
        server.inject("sendVideo", 500, times=1)
        server.inject("sendVideo", 502, times=1)
        server.inject("sendVideo", 429, retry_after=1, times=1)
        server.send_text(chat, max_, "/sora a bouncing spring")
        await clip_in(server, chat)
    statuses = [c.status for c in server.calls_to("sendVideo")]
    assert statuses == [500, 502, 429, 200]


# --------------------------------------------------------------------------- limits
async def test_a_clip_over_the_upload_limit_is_reencoded_to_fit(tmp_path: Path) -> None:
    server = FakeTelegram()
    server.upload_limit = 150_000
    async with world(tmp_path, NoiseGenerator(), server=server, upload_limit_mb=str(150_000 / 2**20)) as (
        core,
        server,
        _,
    ):
        nia = server.add_user("Nia")
        chat = server.private_chat(nia)
        server.send_text(chat, nia, "/sora --seconds 1 --size 320x180 static on an old television")
        clip = (await clip_in(server, chat, within=60))[0]
        stored = await core.clip(clip_id_of(clip))
        assert stored.size_bytes > 150_000, "the test needs a clip over the limit"
        data = server.file_bytes(clip["video"]["file_id"])
        assert len(data) <= 150_000
        assert probe(data).video_codec == "h264"
        assert all(c.status == 200 for c in server.calls_to("sendVideo"))


async def test_a_clip_that_cannot_fit_is_posted_as_a_link_to_the_media_route(tmp_path: Path) -> None:
    server = FakeTelegram()
    server.upload_limit = 4_000
    async with world(tmp_path, NoiseGenerator(), server=server, upload_limit_mb=str(4_000 / 2**20)) as (_, server, _):
        oli = server.add_user("Oli")
        chat = server.private_chat(oli)
        server.send_text(chat, oli, "/sora --seconds 1 --size 128x72 static on an old television")
        message = (
            await server.wait_for(
                lambda: [m for m in server.bot_messages(chat) if "Too big to upload" in m.get("text", "")], within=60
            )
        )[0]
        link = next(e["url"] for e in message["entities"] if e["type"] == "text_link")
        assert link == f"https://sora.example.org/media/{clip_id_of(message)}"
        assert message["text"].startswith("static on an old television")
        assert server.calls_to("sendVideo") == []


async def test_a_server_with_a_lower_limit_than_configured_gets_a_smaller_upload(tmp_path: Path) -> None:
    server = FakeTelegram()
    server.upload_limit = 150_000  # the adapter believes 2000 MB (a self-hosted base URL) and learns from the 413
    async with world(tmp_path, NoiseGenerator(), server=server) as (_, server, _):
        pat = server.add_user("Pat")
        chat = server.private_chat(pat)
        server.send_text(chat, pat, "/sora --seconds 1 --size 320x180 static on an old television")
        clip = (await clip_in(server, chat, within=60))[0]
        assert len(server.file_bytes(clip["video"]["file_id"])) <= 150_000
        assert next(c.status for c in server.calls_to("sendVideo")) == 413


async def test_a_long_prompt_is_cut_to_fit_the_caption(tmp_path: Path) -> None:
    async with world(tmp_path) as (_, server, _):
        quinn = server.add_user("Quinn " + "Q" * 60)
        chat = server.private_chat(quinn)
        prompt = " ".join(["a marble rolls down a long wooden ramp"] * 25)[:1000]
        server.send_text(chat, quinn, f"/sora --seconds 1 {prompt}")
        clip = (await clip_in(server, chat))[0]
        caption = clip["caption"]
        assert len(caption) <= 1024 and caption.startswith(prompt[:500])
        assert caption.splitlines()[-1].endswith(f"clip {clip_id_of(clip)}")


# --------------------------------------------------------------------------- webhook mode
async def test_webhook_mode_receives_updates_through_the_services_aiohttp_app(
    tmp_path: Path, no_real_network: NetworkGuard
) -> None:
    service = web.Application()
    runner = web.AppRunner(service)
    holder: list[TelegramAdapter] = []

    async def route(request: web.Request) -> web.StreamResponse:
        handler: Callable[[web.Request], Any] = holder[0].webhook_routes()[0].handler
        return await handler(request)

    # The service app is built before the adapter exists, as in `sorabox serve`; mount the adapter's route.
    service.router.add_post("/telegram/webhook", route)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/webhook"
    server = FakeTelegram()
    await server.start()
    try:
        async with running_core(tmp_path, ToneGenerator(steps=2)) as core:
            settings = TelegramSettings.from_env(adapter_env(server, webhook_url=url, webhook_secret="s3cret"))
            assert settings is not None and settings.webhook_path == "/telegram/webhook"
            adapter = TelegramAdapter(core, settings)
            assert [r.path for r in adapter.webhook_routes()] == ["/telegram/webhook"]  # type: ignore[attr-defined]
            holder.append(adapter)
            await adapter.start()
            try:
                assert server.webhook_url == url and server.webhook_secret == "s3cret"
                rae = server.add_user("Rae")
                chat = server.private_chat(rae)
                request = server.send_text(chat, rae, "/sora a paper plane")
                await reply_text(server, chat, request, "queued")
                await clip_in(server, chat)
                async with ClientSession() as session, session.post(url, json={"update_id": 1}) as forged:
                    assert forged.status == 403  # no secret token: not from Telegram
            finally:
                await adapter.stop()
    finally:
        await server.stop()
        await runner.cleanup()
    assert server.calls_to("getUpdates") == []


# --------------------------------------------------------------------------- helpers for direct core calls
def _user(fake: FakeUser) -> User:
    return User(id=fake.id, first_name=fake.first_name, is_bot=False, username=fake.username)


def _private_place(chat: FakeChat) -> Place:
    return Place(platform="telegram", channel_id=str(chat.id), is_private=True)


async def test_extend_and_reroll_buttons_make_new_clips_in_the_same_topic(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        sam, tia = server.add_user("Sam"), server.add_user("Tia")
        forum = server.add_group("Makers", [sam, tia], forum=True)
        topic = server.create_topic(forum, "clips", sam)
        server.send_text(forum, sam, "/sora --seconds 1 a pendulum swings", thread_id=topic)
        clip = (await clip_in(server, forum, thread_id=topic))[0]
        for label in ("Extend", "Reroll"):
            query = server.click(forum, clip["message_id"], tia, button_data(clip, label))
            answer = await server.wait_for(
                lambda q=query: [a for a in server.callback_answers if a.callback_query_id == q]
            )
            assert "queued" in (answer[0].text or "") and not answer[0].show_alert
        made = (await clip_in(server, forum, count=3, thread_id=topic))[1:]
        kinds = sorted([(await core.clip(clip_id_of(m))).kind for m in made])
        assert kinds == ["extend", "generate"]
        assert all(m["reply_to_message"]["message_id"] == clip["message_id"] for m in made)
        assert (await core.clip(clip_id_of(made[0]))).author == "Tia"


async def test_edit_spacing_at_the_default_ratio_stays_inside_telegrams_flood_limits(tmp_path: Path) -> None:
    # Telegram's limits (3 messages in 3 s per chat, 20 a minute per group) and the default 3 s edit spacing,
    # with time scaled down 5 times so that the test is quick: 3 in 0.6 s, 20 in 12 s, 0.6 s spacing.
    scaled = FloodPolicy(
        windows=(
            FloodWindow(0.6, 3, frozenset({"private", "group", "supergroup"})),
            FloodWindow(12.0, 20, frozenset({"group", "supergroup"})),
            FloodWindow(0.2, 30, per_chat=False),
        )
    )
    server = FakeTelegram(flood=scaled)
    generator = ToneGenerator(steps=8, step_seconds=0.2)
    async with world(tmp_path, generator, server=server, edit_interval="0.6") as (_, server, _):
        uma, vic = server.add_user("Uma"), server.add_user("Vic")
        group = server.add_group("Crew", [uma, vic])
        request = server.send_text(group, uma, "/sora a slow pendulum")
        await clip_in(server, group)
        status = replies_to(server, group, request)[0]
        await server.wait_for(lambda: "done" in server.messages[(group.id, status["message_id"])]["text"], within=10)
    edits = [c for c in server.calls_to("editMessageText") if c.status == 200]
    assert len(edits) >= 2, "progress was shown"
    assert [c for c in server.calls if c.status == 429] == []


async def test_a_job_from_before_an_adapter_restart_gets_a_status_message_of_its_own(tmp_path: Path) -> None:
    gate = threading.Event()
    server = FakeTelegram()
    await server.start()
    try:
        async with running_core(tmp_path, ToneGenerator(steps=12, step_seconds=0.25, gate=gate)) as core:
            wes = server.add_user("Wes")
            chat = server.private_chat(wes)
            async with running_adapter(core, server):
                request = server.send_text(chat, wes, "/sora a clock ticking")
                await reply_text(server, chat, request, "queued")
            async with running_adapter(core, server):
                gate.set()
                await clip_in(server, chat)
                statuses = [m for m in replies_to(server, chat, request) if "video" not in m]
                assert len(statuses) == 2, "the first status message, and a new one after the restart"
                await server.wait_for(
                    lambda: "done" in server.messages[(chat.id, statuses[1]["message_id"])]["text"], within=10
                )
    finally:
        await server.stop()


async def test_an_adapter_started_while_telegram_is_down_connects_when_it_is_back(tmp_path: Path) -> None:
    server = FakeTelegram()
    await server.start()
    try:
        async with running_core(tmp_path, ToneGenerator(steps=2)) as core:
            yara = server.add_user("Yara")
            chat = server.private_chat(yara)
            async with server.unreachable():
                adapter_context = running_adapter(core, server)
                await adapter_context.__aenter__()  # returns although getMe failed
                await core.handle_text(  # a clip made meanwhile (e.g. through the console) waits in the outbox
                    TelegramAdapter.actor(_user(yara)), _private_place(chat), "sora a moth near a lamp"
                )
            try:
                await clip_in(server, chat)
                request = server.send_text(chat, yara, "/quota")
                assert "credits left" in await reply_text(server, chat, request)
            finally:
                await adapter_context.__aexit__(None, None, None)
    finally:
        await server.stop()


async def test_a_wrong_token_fails_the_start(tmp_path: Path, no_real_network: NetworkGuard) -> None:
    server = FakeTelegram()
    await server.start()
    try:
        async with running_core(tmp_path, ToneGenerator(steps=1)) as core:
            env = adapter_env(server)
            env["SORABOX_TELEGRAM_TOKEN"] = "42:not-the-token"
            settings = TelegramSettings.from_env(env)
            assert settings is not None
            with pytest.raises(InvalidToken):
                await TelegramAdapter(core, settings).start()
    finally:
        await server.stop()


async def recorded_posts(core: Sorabox, clip_id: str) -> list[PostRef]:
    """The clip's posts once the adapter recorded them (the message shows up on the fake a moment before)."""
    for _ in range(250):  # the core publishes nothing for a recorded post: look every 20 ms, 5 s at most
        if posts := await core.posts_of_clip(clip_id):
            return posts
        await asyncio.sleep(0.02)
    raise AssertionError(f"no post of {clip_id} was recorded")


async def clip_asked_in_a_group_that_became_a_supergroup(
    server: FakeTelegram,
) -> tuple[FakeUser, FakeChat, FakeChat, dict[str, Any], dict[str, Any]]:
    """Zoe asks for a clip in a group that is upgraded meanwhile: (zoe, old group, supergroup, request, clip)."""
    zoe = server.add_user("Zoe")
    group = server.add_group("Old group", [zoe], supergroup=False)
    successor = server.add_group("Old group", [zoe])
    server.inject(
        "sendVideo",
        400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": successor.id},
    )
    request = server.send_text(group, zoe, "/sora a paper lantern rises")
    clip = (await clip_in(server, successor))[0]
    return zoe, group, successor, request, clip


async def test_a_clip_for_a_group_that_became_a_supergroup_goes_to_the_new_chat(tmp_path: Path) -> None:
    async with world(tmp_path) as (_, server, _):
        _, group, _, _, clip = await clip_asked_in_a_group_that_became_a_supergroup(server)
        assert videos(server, group) == [] and "reply_to_message" not in clip


async def test_delete_after_a_group_migration_removes_the_clip_in_the_new_chat(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        zoe, group, successor, request, clip = await clip_asked_in_a_group_that_became_a_supergroup(server)
        clip_id = clip_id_of(clip)
        # The core knows where the clip is now: /tree links and replies that remix it point at the new chat.
        posts = await recorded_posts(core, clip_id)
        assert [(p.channel_id, p.message_id, p.thread_id) for p in posts] == [
            (str(successor.id), str(clip["message_id"]), None)
        ]
        assert await core.clip_for_post("telegram", str(successor.id), str(clip["message_id"])) == clip_id

        server.click(successor, clip["message_id"], zoe, button_data(clip, "Delete"))
        await server.wait_for(lambda: (successor.id, clip["message_id"]) in server.deleted, within=10)
        # Nothing of the old group was touched (its message ids overlap the new chat's).
        assert not any(chat_id == group.id for chat_id, _ in server.deleted)
        assert (group.id, request["message_id"]) in server.messages


async def test_a_clip_for_a_deleted_topic_lands_in_the_general_topic(tmp_path: Path) -> None:
    gate = threading.Event()
    async with world(tmp_path, ToneGenerator(steps=2, gate=gate)) as (core, server, _):
        ada = server.add_user("Ada")
        forum = server.add_group("Makers", [ada], forum=True)
        topic = server.create_topic(forum, "short-lived", ada)
        request = server.send_text(forum, ada, "/sora a soap bubble pops", thread_id=topic)
        await reply_text(server, forum, request, "queued")
        server.delete_topic(forum, topic)
        gate.set()
        clip = (await clip_in(server, forum))[0]
        assert "message_thread_id" not in clip and "reply_to_message" not in clip
        # Recorded in the General topic, where it is, not in the deleted one (its /tree link would be dead).
        assert [p.thread_id for p in await recorded_posts(core, clip_id_of(clip))] == [None]


async def test_a_clip_for_a_chat_that_removed_the_bot_is_given_up_not_retried(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        bea = server.add_user("Bea")
        group = server.add_group("Crew", [bea])
        server.inject("sendVideo", 403, description="Forbidden: bot was kicked from the supergroup chat", times=5)
        server.send_text(group, bea, "/sora a falling leaf")
        await server.wait_for(lambda: server.calls_to("sendVideo"), within=20)
        await asyncio.sleep(0.6)  # several outbox rounds
        assert len(server.calls_to("sendVideo")) == 1
        assert await core.pending_delivery_counts() == {}


# --------------------------------------------------------------------------- posted once
async def test_an_upload_whose_answer_is_lost_is_not_uploaded_again_but_linked(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        uma = server.add_user("Uma")
        chat = server.private_chat(uma)
        server.lose_answer("sendVideo")  # Telegram posts the clip; the bot never hears so
        server.send_text(chat, uma, "/sora a marble rolls down a chute")
        await clip_in(server, chat)
        note = (
            await server.wait_for(
                lambda: [m for m in server.bot_messages(chat) if "upload of this clip was cut off" in m.get("text", "")]
            )
        )[0]
        await asyncio.sleep(0.6)  # a second upload would come within the retry interval
        assert len(videos(server, chat)) == 1
        assert [c.status for c in server.calls_to("sendVideo")] == [0]
        link = next(e["url"] for e in note["entities"] if e["type"] == "text_link")
        assert link == f"https://sora.example.org/media/{clip_id_of(note)}"
        assert clip_id_of(note) == clip_id_of(videos(server, chat)[0])
        rows = await core.db.read(lambda db: list(db.query("SELECT state, message_id, in_doubt FROM deliveries")))
        assert rows == [{"state": "sent", "message_id": str(note["message_id"]), "in_doubt": 1}]
