"""The fake Bot API server behaves like Telegram where it matters, proven with the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from model.generator import Clip
from model.media import encode_mp4, probe
from tests.fakes.telegram_server import (
    CLOUD_DOWNLOAD_LIMIT,
    CLOUD_UPLOAD_LIMIT,
    FakeTelegram,
    FloodPolicy,
    NetworkGuard,
    RealNetworkBlocked,
    no_real_network,
    telegram_server,
)

__all__ = ["no_real_network", "telegram_server"]  # fixtures, imported so pytest finds them here

# python-telegram-bot warns about its own RetryAfter.retry_after type change when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def bot_for(server: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or server.token, base_url=server.base_url, base_file_url=server.base_file_url)


def application_for(server: FakeTelegram) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder().token(server.token).base_url(server.base_url).base_file_url(server.base_file_url).build()
    )


@pytest.fixture
async def bot(telegram_server: FakeTelegram) -> AsyncIterator[Bot]:
    async with bot_for(telegram_server) as client:
        yield client


def tiny_clip() -> Clip:
    t = np.arange(12, dtype=np.float32)[:, None, None, None]
    frames = np.broadcast_to((t * 20) % 255, (12, 64, 96, 3)).astype(np.uint8)
    audio = (0.2 * np.sin(np.arange(24_000) * 2 * np.pi * 440 / 48_000)).astype(np.float32)[None, :]
    return Clip(frames=np.ascontiguousarray(frames), audio=audio, fps=24.0, sample_rate=48_000)


# --------------------------------------------------------------------------- updates and polling
async def test_polling_application_answers_a_command_in_a_private_chat(telegram_server: FakeTelegram) -> None:
    alice = telegram_server.add_user("Alice", "alice")
    chat = telegram_server.private_chat(alice)
    seen_args: list[list[str]] = []

    async def sora(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen_args.append(list(context.args or []))
        assert update.effective_message is not None
        await update.effective_message.reply_text("queued", do_quote=True)

    app = application_for(telegram_server)
    app.add_handler(CommandHandler("sora", sora))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        request = telegram_server.send_text(chat, alice, "/sora a glass bottle falls")
        replies = await telegram_server.wait_for(lambda: telegram_server.bot_messages(chat))
        await app.updater.stop()
        await app.stop()
    assert seen_args == [["a", "glass", "bottle", "falls"]]
    assert replies[0]["text"] == "queued"
    assert replies[0]["reply_to_message"]["message_id"] == request["message_id"]
    # Stopping the updater confirmed what it had read: nothing is left for the next start.
    assert telegram_server.pending_updates == 0


async def test_updates_below_the_offset_are_confirmed_and_gone(telegram_server: FakeTelegram, bot: Bot) -> None:
    bob = telegram_server.add_user("Bob")
    chat = telegram_server.private_chat(bob)
    for text in ("one", "two", "three"):
        telegram_server.send_text(chat, bob, text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await bot.get_updates()
    assert len(again) == 3, "nothing is confirmed until an offset above it is sent"
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    # A new client (a restarted bot) does not see confirmed updates either.
    async with bot_for(telegram_server) as restarted:
        assert await restarted.get_updates(timeout=0) == ()


async def test_negative_offset_keeps_only_the_newest_updates(telegram_server: FakeTelegram, bot: Bot) -> None:
    bob = telegram_server.add_user("Bob")
    chat = telegram_server.private_chat(bob)
    for text in ("a", "b", "c"):
        telegram_server.send_text(chat, bob, text)
    newest = await bot.get_updates(offset=-1)
    assert [u.message.text for u in newest if u.message] == ["c"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(telegram_server: FakeTelegram, bot: Bot) -> None:
    carol = telegram_server.add_user("Carol")
    chat = telegram_server.private_chat(carol)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=15))
    await asyncio.sleep(0.2)
    telegram_server.send_text(chat, carol, "hello")
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 3


async def test_newest_poll_wins_and_the_older_one_gets_409(telegram_server: FakeTelegram) -> None:
    async with bot_for(telegram_server) as first, bot_for(telegram_server) as second:
        older = asyncio.create_task(first.get_updates(timeout=10, read_timeout=15))
        await telegram_server.wait_for(lambda: telegram_server._poll_generation >= 1)
        newer = await second.get_updates(timeout=1, read_timeout=5)
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older
    assert newer == ()


async def test_get_updates_while_a_webhook_is_set_conflicts(telegram_server: FakeTelegram, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_webhook_posts_updates_with_the_secret_header(telegram_server: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        if fail_first.pop() if fail_first else False:
            return web.Response(status=500)  # Telegram keeps the update and tries again
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/telegram/hook", secret_token="s3cret-token")
        dave = telegram_server.add_user("Dave")
        telegram_server.send_text(telegram_server.private_chat(dave), dave, "/help")
        await telegram_server.wait_for(lambda: received)
        info = await bot.get_webhook_info()
    finally:
        await runner.cleanup()
    secret, payload = received[0]
    assert secret == "s3cret-token"
    update = Update.de_json(payload, bot)
    assert update.message is not None and update.message.text == "/help"
    assert info.pending_update_count == 0
    assert telegram_server.webhook_deliveries == 1


# --------------------------------------------------------------------------- files
async def test_send_video_uploads_multipart_and_get_file_returns_the_same_bytes(
    telegram_server: FakeTelegram, bot: Bot
) -> None:
    erin = telegram_server.add_user("Erin")
    chat = telegram_server.private_chat(erin)
    mp4 = encode_mp4(tiny_clip())
    sent = await bot.send_video(
        chat.id, video=mp4, caption="a glass bottle", supports_streaming=True, width=96, height=64, duration=1
    )
    call = telegram_server.calls_to("sendVideo")[-1]
    assert call.files == {"video": len(mp4)}
    assert call.params["supports_streaming"] == "true"
    assert sent.video is not None and (sent.video.width, sent.video.height) == (96, 64)
    assert sent.caption == "a glass bottle"
    downloaded = await (await bot.get_file(sent.video.file_id)).download_as_bytearray()
    assert bytes(downloaded) == mp4
    info = probe(bytes(downloaded))
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    # Sending the same file again by file_id uploads nothing.
    again = await bot.send_video(chat.id, video=sent.video.file_id)
    assert again.video is not None and again.video.file_id == sent.video.file_id


@pytest.mark.slow
async def test_uploads_over_50_mb_get_413_and_exactly_50_mb_pass(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Frank"))
    exactly = bytes(CLOUD_UPLOAD_LIMIT)
    sent = await bot.send_video(chat.id, video=exactly, write_timeout=60)
    assert sent.video is not None and sent.video.file_size == CLOUD_UPLOAD_LIMIT
    with pytest.raises(NetworkError, match="Request Entity Too Large"):
        await bot.send_video(chat.id, video=exactly + b"\0", write_timeout=60)
    assert telegram_server.calls_to("sendVideo")[-1].status == 413


async def test_local_mode_server_accepts_uploads_over_50_mb(no_real_network: NetworkGuard) -> None:
    server = FakeTelegram(local_mode=True)
    await server.start()
    try:
        chat = server.private_chat(server.add_user("Gina"))
        async with bot_for(server) as client:
            sent = await client.send_video(chat.id, video=bytes(CLOUD_UPLOAD_LIMIT + 1), write_timeout=60)
            assert sent.video is not None and sent.video.file_size == CLOUD_UPLOAD_LIMIT + 1
            # and getFile has no 20 MB cap there
            assert (await client.get_file(sent.video.file_id)).file_size == CLOUD_UPLOAD_LIMIT + 1
    finally:
        await server.stop()


async def test_get_file_refuses_files_over_20_mb(telegram_server: FakeTelegram, bot: Bot) -> None:
    hana = telegram_server.add_user("Hana")
    chat = telegram_server.private_chat(hana)
    at_limit = telegram_server.send_video(chat, hana, bytes(CLOUD_DOWNLOAD_LIMIT), width=2, height=2, duration=1)
    over = telegram_server.send_video(chat, hana, bytes(CLOUD_DOWNLOAD_LIMIT + 1), width=2, height=2, duration=1)
    assert (await bot.get_file(at_limit["video"]["file_id"])).file_size == CLOUD_DOWNLOAD_LIMIT
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(over["video"]["file_id"])


# --------------------------------------------------------------------------- limits
async def test_text_limit_is_4096_characters_after_entity_parsing(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Ivan"))
    assert (await bot.send_message(chat.id, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(chat.id, "x" * 4097)
    # Tags do not count; the text inside them does.
    formatted = await bot.send_message(chat.id, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert formatted.text == "y" * 4096 and formatted.entities[0].type == "bold"
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(chat.id, "   ")


async def test_caption_limit_is_1024_characters(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Jo"))
    mp4 = encode_mp4(tiny_clip())
    assert (await bot.send_video(chat.id, mp4, caption="c" * 1024)).caption == "c" * 1024
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_video(chat.id, mp4, caption="c" * 1025)


async def test_callback_data_is_limited_to_64_bytes_not_characters(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Kim"))

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Remix", callback_data=data)]])

    assert (await bot.send_message(chat.id, "ok", reply_markup=keyboard("r" * 64))).reply_markup is not None
    assert (await bot.send_message(chat.id, "ok", reply_markup=keyboard("é" * 32))).reply_markup is not None
    for too_long in ("r" * 65, "é" * 33):
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(chat.id, "no", reply_markup=keyboard(too_long))


async def test_html_with_unsupported_tags_cannot_be_parsed(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Lea"))
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(chat.id, "<blink>hi</blink>", parse_mode="HTML")
    linked = await bot.send_message(chat.id, 'see <a href="https://t.me/c/1/2">this clip</a>', parse_mode="HTML")
    assert linked.text == "see this clip"
    assert linked.entities[0].type == "text_link" and linked.entities[0].url == "https://t.me/c/1/2"


# --------------------------------------------------------------------------- editing, callbacks, deleting
async def test_edit_message_text_follows_telegrams_rules(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Max"))
    status = await bot.send_message(chat.id, "queued: position 2")
    edited = await bot.edit_message_text("step 1/8", chat_id=chat.id, message_id=status.message_id)
    assert isinstance(edited, object) and telegram_server.messages[(chat.id, status.message_id)]["text"] == "step 1/8"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("step 1/8", chat_id=chat.id, message_id=status.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat.id, message_id=999)
    video = await bot.send_video(chat.id, encode_mp4(tiny_clip()))
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", chat_id=chat.id, message_id=video.message_id)


async def test_callback_queries_are_answered_once(telegram_server: FakeTelegram) -> None:
    nina = telegram_server.add_user("Nina")
    chat = telegram_server.private_chat(nina)
    answered: list[str] = []

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("working on it")
        answered.append(update.callback_query.data or "")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await update.callback_query.answer("twice")

    app = application_for(telegram_server)
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        sent = await app.bot.send_message(
            chat.id, "clip", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Remix", callback_data="rx:1")]])
        )
        query_id = telegram_server.click(chat, sent.message_id, nina, "rx:1")
        await telegram_server.wait_for(lambda: answered)
        await app.updater.stop()
        await app.stop()
    assert answered == ["rx:1"]
    assert [(a.callback_query_id, a.text) for a in telegram_server.callback_answers] == [(query_id, "working on it")]


async def test_bot_deletes_its_own_messages_but_not_others_without_admin_rights(
    telegram_server: FakeTelegram, bot: Bot
) -> None:
    owen, pia = telegram_server.add_user("Owen"), telegram_server.add_user("Pia")
    group = telegram_server.add_group("Friends", [owen, pia], admins=[owen])
    mine = await bot.send_message(group.id, "a clip")
    theirs = telegram_server.send_text(group, pia, "/sora hi")
    assert await bot.delete_message(group.id, mine.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(group.id, mine.message_id)
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted"):
        await bot.delete_message(group.id, theirs["message_id"])
    assert (await bot.get_chat_member(group.id, owen.id)).status == "creator"
    assert (await bot.get_chat_member(group.id, pia.id)).status == "member"


async def test_force_reply_and_chat_actions_are_accepted(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Quinn"))
    ask = await bot.send_message(chat.id, "What should the remix be?", reply_markup=ForceReply(selective=True))
    assert ask.reply_markup is None  # Telegram does not echo a ForceReply back
    assert await bot.send_chat_action(chat.id, "upload_video")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(chat.id, "dancing")
    assert [a.action for a in telegram_server.chat_actions] == ["upload_video"]


# --------------------------------------------------------------------------- groups and topics
async def test_forum_topic_messages_carry_the_thread_and_replies_stay_in_it(
    telegram_server: FakeTelegram, bot: Bot
) -> None:
    rita, sam = telegram_server.add_user("Rita"), telegram_server.add_user("Sam")
    forum = telegram_server.add_group("Makers", [rita, sam], forum=True)
    topic = telegram_server.create_topic(forum, "clips", rita)
    request = telegram_server.send_text(forum, rita, "/sora a glass bottle falls off a table", thread_id=topic)
    updates = await bot.get_updates(timeout=0)
    message = updates[-1].message
    assert message is not None and message.is_topic_message and message.message_thread_id == topic
    # A topic message that replies to nothing replies to the topic's first message.
    assert message.reply_to_message is not None and message.reply_to_message.message_id == topic
    # Replying without naming the topic still lands in it.
    reply = await bot.send_message(
        forum.id, "queued", reply_parameters=ReplyParameters(message_id=request["message_id"])
    )
    assert reply.message_thread_id == topic
    assert [m["message_id"] for m in telegram_server.bot_messages(forum, thread_id=topic)] == [reply.message_id]
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(forum.id, "lost", message_thread_id=topic + 100)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(forum.id, "lost", reply_parameters=ReplyParameters(message_id=4242))


async def test_privacy_mode_delivers_only_commands_and_replies_to_the_bot(
    telegram_server: FakeTelegram, bot: Bot
) -> None:
    tom, uma = telegram_server.add_user("Tom"), telegram_server.add_user("Uma")
    group = telegram_server.add_group("Crew", [tom, uma])
    clip = await bot.send_message(group.id, "here is your clip")
    telegram_server.send_text(group, tom, "just chatting")
    telegram_server.send_text(group, tom, "/sora@some_other_bot hi")
    telegram_server.send_text(group, tom, "/sora a cat")
    telegram_server.send_text(group, tom, "/tree@sorabox_test_bot")
    telegram_server.send_text(group, uma, "make it rain", reply_to=clip.message_id)
    telegram_server.send_sticker(group, uma, reply_to=clip.message_id)
    updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message]
    assert texts == ["/sora a cat", "/tree@sorabox_test_bot", "make it rain", None]
    assert updates[-1].message is not None and updates[-1].message.sticker is not None


async def test_set_my_commands_round_trips_and_rejects_bad_names(telegram_server: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("sora", "make a clip"), BotCommand("remix", "remix a clip")])
    assert [c.command for c in await bot.get_my_commands()] == ["sora", "remix"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Sora-Now", "bad")])


# --------------------------------------------------------------------------- failures
async def test_injected_429_carries_retry_after_and_the_retry_succeeds(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Vic"))
    telegram_server.inject("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat.id, "hello")
    assert caught.value._retry_after.total_seconds() == 1
    assert (await bot.send_message(chat.id, "hello")).text == "hello"


async def test_flood_control_limits_a_storm_of_edits_in_one_chat(no_real_network: NetworkGuard) -> None:
    server = FakeTelegram(flood=FloodPolicy())
    await server.start()
    try:
        chat = server.private_chat(server.add_user("Wes"))
        async with bot_for(server) as client:
            status = await client.send_message(chat.id, "step 0")
            outcomes: list[str] = []
            for step in range(1, 6):
                try:
                    await client.edit_message_text(f"step {step}", chat_id=chat.id, message_id=status.message_id)
                    outcomes.append("ok")
                except RetryAfter as exc:
                    outcomes.append(f"429 after {exc._retry_after.total_seconds():.0f}")
    finally:
        await server.stop()
    assert outcomes[:2] == ["ok", "ok"]
    assert all(o.startswith("429 after ") for o in outcomes[2:])
    assert int(outcomes[-1].rsplit(" ", 1)[1]) >= 1


async def test_server_errors_and_outages_surface_as_network_errors(telegram_server: FakeTelegram, bot: Bot) -> None:
    chat = telegram_server.private_chat(telegram_server.add_user("Xia"))
    telegram_server.inject("sendMessage", 500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(chat.id, "a")
    telegram_server.inject("*", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(chat.id, "b")
    async with telegram_server.unreachable():
        with pytest.raises(NetworkError):
            await bot.send_message(chat.id, "c")
    assert (await bot.send_message(chat.id, "d")).text == "d"
    assert [m["text"] for m in telegram_server.bot_messages(chat)] == ["d"]


async def test_a_wrong_token_is_refused(telegram_server: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with bot_for(telegram_server, token="123:wrong"):
            pass


async def test_the_network_guard_refuses_and_reports_non_loopback_connections(no_real_network: NetworkGuard) -> None:
    with socket.socket() as sock, pytest.raises(RealNetworkBlocked):
        sock.connect(("192.0.2.1", 443))
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.telegram.org/")
    assert no_real_network.attempts == ["connect to ('192.0.2.1', 443)", "resolve 'api.telegram.org'"]
    no_real_network.attempts.clear()  # seen and expected; anything else would fail this test
