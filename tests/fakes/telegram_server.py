"""A loopback fake of the Telegram Bot API for driving the real python-telegram-bot client in tests.

It behaves like Telegram where a bot can notice the difference:

- `getUpdates` long polling with offsets: updates below `offset` are confirmed and gone; the newest poll
  wins and the one it replaces gets 409; `getUpdates` while a webhook is set gets 409.
- Webhook mode: `setWebhook` makes the fake POST updates (JSON, with the secret token header) to the URL.
- Parameters arrive as query string, form fields, multipart (files) or JSON, as on the real server.
- Limits: text 4096 and caption 1024 characters after entity parsing, `callback_data` 1-64 bytes,
  uploads over 50 MB -> 413 (2000 MB in `local_mode`, like a self-hosted Bot API server), `getFile`
  over 20 MB -> 400, `answerCallbackQuery` once per query, "message is not modified", unknown topics.
- Groups in privacy mode: the bot gets commands, replies to its own messages and service messages only.
  Forum topics: a message in a topic that replies to nothing replies to the topic's first message.
- Flood control (opt-in `FloodPolicy`) and injected faults (429 with `retry_after`, 5xx, a 502 HTML page,
  or the whole server unreachable) for resilience tests.

Use `FakeTelegram` directly, or the `telegram_server` fixture; `no_real_network` fails a test that tries
to reach anything but loopback. Import both into a test module (or tests/conftest.py) to use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import math
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

T = TypeVar("T")

MB = 1024 * 1024
CLOUD_UPLOAD_LIMIT = 50 * MB
LOCAL_UPLOAD_LIMIT = 2000 * MB
CLOUD_DOWNLOAD_LIMIT = 20 * MB
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_TEXT_LIMIT = 200

# Update types Telegram sends when a bot does not ask for specific ones.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "poll",
        "poll_answer",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Methods that count against flood control (chat actions and deletions do not, in practice).
FLOODED_METHODS = frozenset(
    {
        "sendmessage",
        "sendvideo",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
MENTION_RE = re.compile(r"(?<!\S)@[A-Za-z0-9_]{5,32}")


class ApiError(Exception):
    """A Bot API error reply: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class FakeUser:
    """A Telegram account (a person or the bot)."""

    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = "en"

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        if self.language_code and not self.is_bot:
            out["language_code"] = self.language_code
        return out


@dataclass
class FakeChat:
    """A chat the bot is in: private, group or supergroup (a forum when `is_forum`)."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    admins: set[int] = field(default_factory=set)
    creator: int | None = None
    members: set[int] = field(default_factory=set)
    # Forum topics: message_thread_id -> name. The id is that of the topic's creation message.
    topics: dict[int, str] = field(default_factory=dict)
    bot_is_admin: bool = False

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            out["title"] = self.title
        if self.username:
            out["username"] = self.username
        if self.first_name:
            out["first_name"] = self.first_name
        if self.is_forum:
            out["is_forum"] = True
        return out


@dataclass(frozen=True)
class StoredFile:
    """A file the fake holds: what `getFile` describes and the download route serves."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class CallRecord:
    """One request the bot made, as the fake saw it."""

    method: str
    params: dict[str, str]
    files: dict[str, int]
    status: int
    at: float
    description: str = ""


@dataclass
class Fault:
    """An injected failure for the next `times` calls of `method` ('*' for any method)."""

    method: str
    status: int
    retry_after: float | None = None
    description: str | None = None
    times: int = 1
    parameters: dict[str, Any] | None = None  # e.g. {"migrate_to_chat_id": ...} with a 400
    # The call is carried out, then the connection is cut before the answer: a timeout or a dropped link after
    # the upload, as the client sees it. `status` is unused then.
    answer_lost: bool = False


@dataclass(frozen=True)
class FloodWindow:
    """At most `limit` flood-counted calls in any `seconds` window, for chats of `chat_types` (empty: global)."""

    seconds: float
    limit: int
    chat_types: frozenset[str] = frozenset()
    per_chat: bool = True


@dataclass(frozen=True)
class FloodPolicy:
    """Telegram's unofficial flood limits: ~1 message/s per chat with small bursts, 20/min per group, 30/s overall."""

    windows: tuple[FloodWindow, ...] = (
        FloodWindow(3.0, 3, frozenset({"private", "group", "supergroup"})),
        FloodWindow(60.0, 20, frozenset({"group", "supergroup"})),
        FloodWindow(1.0, 30, per_chat=False),
    )


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a callback query."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    at: float


@dataclass(frozen=True)
class ChatAction:
    """A `sendChatAction` the bot made."""

    chat_id: int
    action: str
    message_thread_id: int | None
    at: float


class _TelegramHtml(HTMLParser):
    """Parses Bot API HTML into plain text and entities, rejecting tags Telegram rejects."""

    SIMPLE = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "code": "code",
        "pre": "pre",
        "tg-spoiler": "spoiler",
        "blockquote": "blockquote",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self._open: list[tuple[str, int, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        entity: dict[str, Any]
        if tag in self.SIMPLE:
            entity = {"type": self.SIMPLE[tag]}
        elif tag == "span" and attributes.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = attributes.get("href") or ""
            match = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if match:
                entity = {"type": "text_mention", "user": {"id": int(match[1]), "is_bot": False, "first_name": ""}}
            else:
                entity = {"type": "text_link", "url": href}
        else:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {self._offset()}')
        self._open.append((tag, utf16_len(self.text), entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            offset = self._offset()
            raise bad_request(f'can\'t parse entities: Unmatched end tag at byte offset {offset}, expected "{tag}"')
        _, start, entity = self._open.pop()
        length = utf16_len(self.text) - start
        if length:
            self.entities.append({**entity, "offset": start, "length": length})

    def handle_data(self, data: str) -> None:
        self.text += data

    def _offset(self) -> int:
        line, col = self.getpos()
        return col if line == 1 else col + line

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        self.close()
        if self._open:
            tag = self._open[-1][0]
            raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\"")
        return self.text, sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Turn `text` with `parse_mode` into (plain text, entities) as the Bot API does."""
    if not parse_mode:
        return text, []
    if parse_mode.lower() == "html":
        parser = _TelegramHtml()
        parser.feed(text)
        return parser.finish()
    # The adapter uses HTML; other modes are refused so nothing untested slips through.
    raise bad_request(f"unsupported parse_mode {parse_mode!r} in this fake (use HTML)")


def message_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches to a user's plain text: bot commands and @mentions."""
    entities: list[dict[str, Any]] = []
    for regex, kind in ((COMMAND_RE, "bot_command"), (MENTION_RE, "mention")):
        for match in regex.finditer(text):
            start = utf16_len(text[: match.start()])
            entities.append({"type": kind, "offset": start, "length": utf16_len(match.group())})
    return sorted(entities, key=lambda e: e["offset"])


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request(f"can't parse {name} JSON object") from None


class FakeTelegram:
    """The fake Bot API server and the world behind it: users, chats, messages, files and updates."""

    def __init__(
        self,
        *,
        local_mode: bool = False,
        flood: FloodPolicy | None = None,
        privacy_mode: bool = True,
        bot_username: str = "sorabox_test_bot",
    ) -> None:
        self.local_mode = local_mode
        self.upload_limit = LOCAL_UPLOAD_LIMIT if local_mode else CLOUD_UPLOAD_LIMIT
        self.download_limit: int | None = None if local_mode else CLOUD_DOWNLOAD_LIMIT
        self.flood = flood
        self.privacy_mode = privacy_mode
        self.bot = FakeUser(id=7_000_000_001, first_name="Sorabox", username=bot_username, is_bot=True)
        self.token = f"{self.bot.id}:AAFakeTokenForLoopbackTests_0123456789"
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.files: dict[str, StoredFile] = {}
        self.calls: list[CallRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[ChatAction] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.faults: list[Fault] = []
        self.server_errors: list[BaseException] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_deliveries = 0
        self.webhook_last_error: str | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(500_000_001)
        self._message_ids: dict[int, Iterator[int]] = {}
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: dict[str, float] = {}
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._flood_log: list[tuple[int, str, float]] = []
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What to give `ApplicationBuilder.base_url` (python-telegram-bot appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _make_app(self) -> web.Application:
        # Uploads are streamed and counted part by part, so the whole-body cap only has to stay out of the way.
        app = web.Application(client_max_size=self.upload_limit + 16 * MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self) -> None:
        self._closing = False
        self._runner = web.AppRunner(self._make_app(), shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        if not self._port:
            self._port = int(self._runner.addresses[0][1])
        if self.webhook_url:
            self._start_webhook_pusher()

    async def stop(self) -> None:
        self._closing = True
        await self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.asynccontextmanager
    async def unreachable(self) -> AsyncIterator[None]:
        """Telegram is down: connections to the port are refused until the block ends. State is kept."""
        await self.stop()
        try:
            yield
        finally:
            await self.start()

    # ----------------------------------------------------------------- the world
    def add_user(self, first_name: str, username: str | None = None) -> FakeUser:
        user = FakeUser(id=next(self._user_ids), first_name=first_name, username=username)
        self.users[user.id] = user
        return user

    def private_chat(self, user: FakeUser) -> FakeChat:
        """The private chat between `user` and the bot (its id is the user's id, as on Telegram)."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = FakeChat(id=user.id, type="private", first_name=user.first_name, username=user.username)
            chat.members = {user.id}
            self.chats[chat.id] = chat
        return chat

    def add_group(
        self,
        title: str,
        members: list[FakeUser],
        *,
        admins: Sequence[FakeUser] = (),
        supergroup: bool = True,
        forum: bool = False,
        bot_is_admin: bool = False,
    ) -> FakeChat:
        n = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + n) if supergroup else -(400_000_000 + n)
        chat = FakeChat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            is_forum=forum and supergroup,
            admins={u.id for u in admins},
            creator=admins[0].id if admins else (members[0].id if members else None),
            members={u.id for u in members},
            bot_is_admin=bot_is_admin,
        )
        self.chats[chat.id] = chat
        return chat

    def create_topic(self, chat: FakeChat, name: str, by: FakeUser) -> int:
        """A user opens a forum topic; returns its message_thread_id (the id of the creation message)."""
        assert chat.is_forum, "topics exist only in forum supergroups"
        message_id = self._next_message_id(chat.id)
        message = {
            "message_id": message_id,
            "message_thread_id": message_id,
            "from": by.to_api(),
            "chat": chat.to_api(),
            "date": int(time.time()),
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": 7322096},
        }
        chat.topics[message_id] = name
        self.messages[(chat.id, message_id)] = message
        self._push_update("message", message)
        return message_id

    def delete_topic(self, chat: FakeChat, thread_id: int) -> None:
        """An admin deletes a forum topic: it and every message in it are gone."""
        del chat.topics[thread_id]
        for key, message in list(self.messages.items()):
            if key[0] == chat.id and message.get("message_thread_id") == thread_id:
                del self.messages[key]
                self.deleted.add(key)

    def send_text(
        self,
        chat: FakeChat,
        user: FakeUser,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        text_mentions: dict[str, FakeUser] | None = None,
    ) -> dict[str, Any]:
        """A user sends a text message; the bot gets it if privacy mode lets it through. `text_mentions` marks the
        first occurrence of each shown name as a mention of that user (how apps mention people without username)."""
        message = self._user_message(chat, user, reply_to=reply_to, thread_id=thread_id)
        message["text"] = text
        entities = message_entities(text)
        for shown, person in (text_mentions or {}).items():
            at = text.index(shown)
            entities.append(
                {
                    "type": "text_mention",
                    "offset": utf16_len(text[:at]),
                    "length": utf16_len(shown),
                    "user": person.to_api(),
                }
            )
        entities.sort(key=lambda e: e["offset"])
        if entities:
            message["entities"] = entities
        return self._deliver_user_message(chat, message)

    def send_sticker(self, chat: FakeChat, user: FakeUser, *, reply_to: int | None = None) -> dict[str, Any]:
        message = self._user_message(chat, user, reply_to=reply_to)
        stored = self._store_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "stickers", "image/webp", None)
        message["sticker"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{GRINNING FACE}",
        }
        return self._deliver_user_message(chat, message)

    def send_photo(
        self, chat: FakeChat, user: FakeUser, data: bytes, *, caption: str | None = None, reply_to: int | None = None
    ) -> dict[str, Any]:
        message = self._user_message(chat, user, reply_to=reply_to)
        stored = self._store_file(data, "photos", "image/jpeg", None)
        message["photo"] = [
            {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 90, "height": 90}
        ]
        self._add_caption(message, caption)
        return self._deliver_user_message(chat, message)

    def send_video(
        self,
        chat: FakeChat,
        user: FakeUser,
        data: bytes,
        *,
        width: int,
        height: int,
        duration: int,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        message = self._user_message(chat, user, reply_to=reply_to)
        stored = self._store_file(data, "videos", "video/mp4", "clip.mp4")
        message["video"] = self._video_api(stored, width, height, duration)
        self._add_caption(message, caption)
        return self._deliver_user_message(chat, message)

    def send_document(
        self,
        chat: FakeChat,
        user: FakeUser,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a file as a document (uncompressed), as people do with long or large videos."""
        message = self._user_message(chat, user, reply_to=reply_to)
        stored = self._store_file(data, "documents", mime_type, file_name)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        self._add_caption(message, caption)
        return self._deliver_user_message(chat, message)

    @staticmethod
    def _add_caption(message: dict[str, Any], caption: str | None) -> None:
        if caption is None:
            return
        message["caption"] = caption
        entities = message_entities(caption)
        if entities:
            message["caption_entities"] = entities

    def click(self, chat: FakeChat, message_id: int, user: FakeUser, data: str, *, stale: bool = False) -> str:
        """A user presses the inline button carrying `data`; returns the callback query id.

        `stale=True` simulates a client that still shows a message the bot already deleted.
        """
        key = (chat.id, message_id)
        message = self.messages.get(key)
        if message is None:
            assert stale and key in self.deleted, f"no message {message_id} in chat {chat.id} to click"
            message = {"message_id": message_id, "chat": chat.to_api(), "date": 0}
        else:
            buttons = [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            assert any(b.get("callback_data") == data for b in buttons), f"no button with data {data!r}: {buttons}"
        query_id = str(next(self._callback_ids) * 1_000_003)
        self._open_callbacks[query_id] = time.monotonic()
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": self._shallow(message) if "from" in message else message,
            "chat_instance": str(abs(chat.id)),
            "data": data,
        }
        self._push_update("callback_query", query)
        return query_id

    # ----------------------------------------------------------------- inspection
    def messages_in(self, chat: FakeChat, *, thread_id: int | None = None) -> list[dict[str, Any]]:
        """Messages still in `chat` (optionally one forum topic), oldest first."""
        found = [m for (cid, _), m in self.messages.items() if cid == chat.id]
        if thread_id is not None:
            found = [m for m in found if m.get("message_thread_id") == thread_id]
        return sorted(found, key=lambda m: m["message_id"])

    def bot_messages(self, chat: FakeChat, *, thread_id: int | None = None) -> list[dict[str, Any]]:
        return [m for m in self.messages_in(chat, thread_id=thread_id) if m["from"]["id"] == self.bot.id]

    def calls_to(self, method: str) -> list[CallRecord]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def inject(
        self,
        method: str,
        status: int,
        *,
        retry_after: float | None = None,
        times: int = 1,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Fault:
        """Make the next `times` calls of `method` ('*' for any) fail with `status` (429 carries `retry_after`)."""
        fault = Fault(method.lower(), status, retry_after, description, times, parameters)
        self.faults.append(fault)
        return fault

    def lose_answer(self, method: str, *, times: int = 1) -> Fault:
        """Carry out the next `times` calls of `method`, then cut the connection before answering."""
        fault = Fault(method.lower(), 0, times=times, answer_lost=True)
        self.faults.append(fault)
        return fault

    async def wait_for(self, predicate: Callable[[], T], within: float = 5.0) -> T:
        """Wait until `predicate()` is truthy (re-checked whenever the fake's state changes) and return it."""
        async with asyncio.timeout(within):
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    await self._changed.wait()
        raise AssertionError("unreachable")  # pragma: no cover

    # ----------------------------------------------------------------- internals: world
    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _user_message(
        self, chat: FakeChat, user: FakeUser, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> dict[str, Any]:
        assert user.id in chat.members or chat.type == "private", f"{user.first_name} is not in {chat.title}"
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat.id),
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": int(time.time()),
        }
        replied = None
        if reply_to is not None:
            replied = self.messages.get((chat.id, reply_to))
            assert replied is not None, f"message {reply_to} does not exist in chat {chat.id}"
            thread_id = thread_id or replied.get("message_thread_id")
        if thread_id is not None:
            assert thread_id in chat.topics, f"no topic {thread_id} in {chat.title}"
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            # In a topic every message replies to something: to the topic's first message by default.
            replied = replied or self.messages.get((chat.id, thread_id))
        if replied is not None:
            message["reply_to_message"] = self._shallow(replied)
        return message

    def _deliver_user_message(self, chat: FakeChat, message: dict[str, Any]) -> dict[str, Any]:
        self.messages[(chat.id, message["message_id"])] = message
        if self._bot_receives(chat, message):
            self._push_update("message", message)
        return message

    def _bot_receives(self, chat: FakeChat, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups, only commands for this bot, replies to its messages, and service messages."""
        if not chat.is_group or not self.privacy_mode:
            return True
        replied = message.get("reply_to_message")
        if replied is not None and replied.get("from", {}).get("id") == self.bot.id:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities", []) + message.get("caption_entities", []):
            if entity["type"] != "bot_command":
                continue
            command = text[entity["offset"] : entity["offset"] + entity["length"]]
            _, _, addressee = command.partition("@")
            if not addressee or addressee.lower() == (self.bot.username or "").lower():
                return True
        return False

    @staticmethod
    def _shallow(message: dict[str, Any]) -> dict[str, Any]:
        """A message as embedded in another one: Telegram does not nest reply_to_message twice."""
        return {k: v for k, v in message.items() if k != "reply_to_message"}

    def _push_update(self, kind: str, payload: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify_soon()

    def _store_file(self, data: bytes, folder: str, mime_type: str | None, file_name: str | None) -> StoredFile:
        n = next(self._file_ids)
        suffix = {"video/mp4": ".mp4", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(mime_type or "", "")
        stored = StoredFile(
            file_id=f"BAACAgIAAx{n:08d}FakeFileId",
            file_unique_id=f"AgAD{n:06d}",
            data=data,
            file_path=f"{folder}/file_{n}{suffix}",
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _video_api(stored: StoredFile, width: int, height: int, duration: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "duration": duration,
            "file_size": len(stored.data),
        }
        if stored.mime_type:
            out["mime_type"] = stored.mime_type
        if stored.file_name:
            out["file_name"] = stored.file_name
        return out

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _notify_soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._start_webhook_pusher()

    # ----------------------------------------------------------------- internals: HTTP
    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, str] = {}
        files: dict[str, tuple[bytes, str | None, str | None]] = {}
        sizes: dict[str, int] = {}
        status, description = 200, ""
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            too_big = await self._read_params(request, params, files, sizes)
            self._apply_faults(method)
            if too_big:
                raise ApiError(413, "Request Entity Too Large")
            self._check_flood(method.lower(), params)
            result = await self._dispatch(method, params, files)
            if self._answer_lost(method) and request.transport is not None:
                status, description = 0, "answer lost"
                request.transport.close()  # done, but the client never hears about it
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            status, description = exc.status, exc.description
            if exc.status == 502:
                # What an outage looks like from outside: the front end's HTML page, not JSON.
                return web.Response(
                    status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
                )
            body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.status)
        except Exception as exc:  # a bug in the fake: fail the test that hit it
            self.server_errors.append(exc)
            status, description = 500, repr(exc)
            return web.json_response({"ok": False, "error_code": 500, "description": "fake crashed"}, status=500)
        finally:
            self.calls.append(CallRecord(method, params, sizes, status, time.monotonic(), description))
            self._notify_soon()

    async def _read_params(
        self,
        request: web.Request,
        params: dict[str, str],
        files: dict[str, tuple[bytes, str | None, str | None]],
        sizes: dict[str, int],
    ) -> bool:
        """Collect parameters from the query, form, JSON or multipart body; True if a file was over the limit."""
        params.update(request.query)
        if not request.can_read_body:
            return False
        if request.content_type == "application/json":
            body = await request.json()
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
            return False
        if request.content_type != "multipart/form-data":
            form = await request.post()
            params.update({k: str(v) for k, v in form.items()})
            return False
        too_big = False
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                params[part.name] = await part.text()
                continue
            # Stream the part and count it, keeping nothing past the limit (as a real server would not).
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(1 << 20):
                size += len(chunk)
                if size <= self.upload_limit:
                    chunks.append(chunk)
            sizes[part.name] = size
            if size > self.upload_limit:
                too_big = True
            else:
                files[part.name] = (b"".join(chunks), part.filename, part.headers.get("Content-Type"))
        return too_big

    def _answer_lost(self, method: str) -> bool:
        for fault in self.faults:
            if fault.answer_lost and fault.times > 0 and fault.method in ("*", method.lower()):
                fault.times -= 1
                return True
        return False

    def _apply_faults(self, method: str) -> None:
        for fault in self.faults:
            if not fault.answer_lost and fault.times > 0 and fault.method in ("*", method.lower()):
                fault.times -= 1
                if fault.status == 429:
                    retry_after = fault.retry_after if fault.retry_after is not None else 1
                    shown = math.ceil(retry_after)
                    raise ApiError(
                        429,
                        fault.description or f"Too Many Requests: retry after {shown}",
                        {"retry_after": retry_after},
                    )
                raise ApiError(fault.status, fault.description or _status_description(fault.status), fault.parameters)

    def _check_flood(self, method: str, params: dict[str, str]) -> None:
        if self.flood is None or method not in FLOODED_METHODS:
            return
        chat = self._chat_or_none(params.get("chat_id"))
        if chat is None:
            return
        now = time.monotonic()
        for window in self.flood.windows:
            if window.per_chat and chat.type not in window.chat_types:
                continue
            recent = [
                at
                for cid, _, at in self._flood_log
                if now - at < window.seconds and (not window.per_chat or cid == chat.id)
            ]
            if len(recent) >= window.limit:
                wait = max(1, math.ceil(window.seconds - (now - min(recent))))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self._flood_log.append((chat.id, method, now))
        horizon = max(w.seconds for w in self.flood.windows)
        self._flood_log = [entry for entry in self._flood_log if now - entry[2] < horizon]

    async def _dispatch(
        self, method: str, params: dict[str, str], files: dict[str, tuple[bytes, str | None, str | None]]
    ) -> Any:
        handlers: dict[str, Callable[..., Any]] = {
            "getme": self._get_me,
            "logout": lambda p: True,
            "close": lambda p: True,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendvideo": lambda p: self._send_video(p, files),
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
        }
        handler = handlers.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    # ----------------------------------------------------------------- internals: parameter access
    def _chat_or_none(self, raw: str | None) -> FakeChat | None:
        if raw is None:
            return None
        if raw.startswith("@"):
            return next((c for c in self.chats.values() if c.username and f"@{c.username}" == raw), None)
        try:
            return self.chats.get(int(raw))
        except ValueError:
            return None

    def _chat(self, params: dict[str, str]) -> FakeChat:
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        chat = self._chat_or_none(params["chat_id"])
        if chat is None:
            raise bad_request("chat not found")
        return chat

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(float(raw))
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    @staticmethod
    def _bool(params: dict[str, str], name: str) -> bool:
        return params.get(name, "").lower() in ("true", "1")

    def _text(self, params: dict[str, str], name: str, limit: int, too_long: str) -> tuple[str, list[dict[str, Any]]]:
        text, entities = parse_formatted(params.get(name, ""), params.get("parse_mode"))
        if utf16_len(text) > limit:
            raise bad_request(too_long)
        return text, entities

    def _reply_markup(self, params: dict[str, str]) -> dict[str, Any] | None:
        markup = _json_param(params.get("reply_markup"), "reply_markup")
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if not button.get("text"):
                        raise bad_request("text buttons are unallowed in the inline keyboard")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                        raise bad_request("BUTTON_DATA_INVALID")
            return markup
        if markup.get("force_reply"):
            placeholder = markup.get("input_field_placeholder") or ""
            if len(placeholder) > 64:
                raise bad_request('field "input_field_placeholder" must be at most 64 characters long')
        return markup

    def _placement(self, chat: FakeChat, params: dict[str, str]) -> tuple[int | None, dict[str, Any] | None]:
        """Where a new bot message goes: (message_thread_id, the message it replies to)."""
        thread_id = self._int(params, "message_thread_id")
        reply = _json_param(params.get("reply_parameters"), "reply_parameters")
        if reply is None and params.get("reply_to_message_id"):
            reply = {
                "message_id": self._int(params, "reply_to_message_id"),
                "allow_sending_without_reply": self._bool(params, "allow_sending_without_reply"),
            }
        replied = None
        if reply is not None:
            replied = self.messages.get((chat.id, int(reply["message_id"])))
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        if replied is not None and replied.get("is_topic_message"):
            replied_thread = replied.get("message_thread_id")
            if thread_id is not None and thread_id != replied_thread:
                raise bad_request("message to be replied not found")
            thread_id = replied_thread
        if thread_id is not None and thread_id not in chat.topics:
            raise bad_request("message thread not found")
        if replied is None and thread_id is not None:
            replied = self.messages.get((chat.id, thread_id))
        return thread_id, replied

    def _new_bot_message(self, chat: FakeChat, params: dict[str, str]) -> dict[str, Any]:
        thread_id, replied = self._placement(chat, params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat.id),
            "from": self.bot.to_api(),
            "chat": chat.to_api(),
            "date": int(time.time()),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = self._shallow(replied)
        markup = self._reply_markup(params)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _stored_message(self, params: dict[str, str], missing: str) -> tuple[FakeChat, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by this fake")
        chat = self._chat(params)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = self.messages.get((chat.id, message_id))
        if message is None:
            raise bad_request(missing)
        return chat, message

    # ----------------------------------------------------------------- Bot API methods
    def _get_me(self, params: dict[str, str]) -> dict[str, Any]:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = self._int(params, "offset", 0) or 0
        limit = min(100, max(1, self._int(params, "limit", 100) or 100))
        timeout = max(0, self._int(params, "timeout", 0) or 0)
        allowed = _json_param(params.get("allowed_updates"), "allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # wakes an older poll, which then answers 409
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._updates = [u for u in self._updates if self._update_kind(u) in self._allowed_updates]

        def ready() -> bool:
            return bool(self._updates) or self._closing or generation != self._poll_generation

        with contextlib.suppress(TimeoutError):
            await self.wait_for(ready, within=timeout)
        if generation != self._poll_generation:
            raise ApiError(
                409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
            )
        return [u for u in self._updates if self._update_kind(u) in self._allowed_updates][:limit]

    @staticmethod
    def _update_kind(update: dict[str, Any]) -> str:
        return next(k for k in update if k != "update_id")

    def _set_webhook(self, params: dict[str, str]) -> bool:
        url = params.get("url", "")
        if url and not url.startswith(("http://127.0.0.1", "http://localhost", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if self._bool(params, "drop_pending_updates"):
            self._updates.clear()
        allowed = _json_param(params.get("allowed_updates"), "allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        self.webhook_url, self.webhook_secret = url, secret
        if url:
            self._start_webhook_pusher()
        return True

    def _delete_webhook(self, params: dict[str, str]) -> bool:
        if self._bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self.webhook_secret = "", None
        return True

    def _get_webhook_info(self, params: dict[str, str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_last_error:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook_last_error
        return info

    def _start_webhook_pusher(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._push_webhooks())

    async def _push_webhooks(self) -> None:
        """Deliver updates one at a time, in order; an update leaves the queue only on a 2xx answer."""
        delay = 0.05
        async with aiohttp.ClientSession() as session:
            while self.webhook_url and not self._closing:
                if not self._updates:
                    await self.wait_for(lambda: self._updates or not self.webhook_url or self._closing, within=3600)
                    continue
                update = self._updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
                try:
                    async with session.post(self.webhook_url, json=update, headers=headers) as response:
                        ok = 200 <= response.status < 300
                        self.webhook_last_error = None if ok else f"Wrong response from the webhook: {response.status}"
                except aiohttp.ClientError as exc:
                    ok, self.webhook_last_error = False, f"Connection error: {exc}"
                if ok:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    self.webhook_deliveries += 1
                    delay = 0.05
                    await self._notify()
                else:
                    # Telegram backs off too; kept short so tests stay fast.
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)

    def _send_message(self, params: dict[str, str]) -> dict[str, Any]:
        chat = self._chat(params)
        text, entities = self._text(params, "text", TEXT_LIMIT, "message is too long")
        if not text.strip():
            raise bad_request("message text is empty")
        message = self._new_bot_message(chat, params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        self.messages[(chat.id, message["message_id"])] = message
        return message

    def _send_video(self, params: dict[str, str], files: dict[str, tuple[bytes, str | None, str | None]]) -> Any:
        chat = self._chat(params)
        caption, caption_entities = self._text(params, "caption", CAPTION_LIMIT, "message caption is too long")
        if "video" in files:
            data, file_name, mime_type = files["video"]
            if not data:
                raise bad_request("file must be non-empty")
            stored = self._store_file(data, "videos", mime_type or "video/mp4", file_name)
        else:
            reference = params.get("video", "")
            reference = reference.removeprefix("attach://")
            if reference in files:
                data, file_name, mime_type = files[reference]
                stored = self._store_file(data, "videos", mime_type or "video/mp4", file_name)
            elif reference in self.files:
                stored = self.files[reference]
            else:
                raise bad_request("wrong file identifier/HTTP URL specified")
        message = self._new_bot_message(chat, params)
        message["video"] = self._video_api(
            stored,
            self._int(params, "width", 0) or 0,
            self._int(params, "height", 0) or 0,
            self._int(params, "duration", 0) or 0,
        )
        if caption:
            message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
        self.messages[(chat.id, message["message_id"])] = message
        return message

    def _edit_message_text(self, params: dict[str, str]) -> dict[str, Any]:
        _, message = self._stored_message(params, "message to edit not found")
        if message["from"]["id"] != self.bot.id:
            raise bad_request("message can't be edited")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._text(params, "text", TEXT_LIMIT, "message is too long")
        if not text.strip():
            raise bad_request("message text is empty")
        markup = self._reply_markup(params)
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same as "
                "a current content and reply markup of the message"
            )
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_caption(self, params: dict[str, str]) -> dict[str, Any]:
        _, message = self._stored_message(params, "message to edit not found")
        if message["from"]["id"] != self.bot.id:
            raise bad_request("message can't be edited")
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._text(params, "caption", CAPTION_LIMIT, "message caption is too long")
        markup = self._reply_markup(params)
        if caption == message.get("caption", "") and markup == message.get("reply_markup"):
            raise bad_request("message is not modified")
        message.pop("caption_entities", None)
        if caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        if entities:
            message["caption_entities"] = entities
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_reply_markup(self, params: dict[str, str]) -> dict[str, Any]:
        _, message = self._stored_message(params, "message to edit not found")
        if message["from"]["id"] != self.bot.id:
            raise bad_request("message can't be edited")
        markup = self._reply_markup(params)
        if markup == message.get("reply_markup"):
            raise bad_request("message is not modified")
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        # Editing without reply_markup removes the keyboard, as on Telegram.
        if markup is not None and "inline_keyboard" in markup and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _delete_message(self, params: dict[str, str]) -> bool:
        chat, message = self._stored_message(params, "message to delete not found")
        own = message["from"]["id"] == self.bot.id
        if not own and not (chat.is_group and chat.bot_is_admin):
            raise bad_request("message can't be deleted")
        key = (chat.id, message["message_id"])
        del self.messages[key]
        self.deleted.add(key)
        return True

    def _send_chat_action(self, params: dict[str, str]) -> bool:
        chat = self._chat(params)
        action = params.get("action", "")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        thread_id = self._int(params, "message_thread_id")
        if thread_id is not None and thread_id not in chat.topics:
            raise bad_request("message thread not found")
        self.chat_actions.append(ChatAction(chat.id, action, thread_id, time.monotonic()))
        return True

    def _answer_callback_query(self, params: dict[str, str]) -> bool:
        query_id = params.get("callback_query_id", "")
        if query_id not in self._open_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(text) > CALLBACK_ANSWER_TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        del self._open_callbacks[query_id]
        self.callback_answers.append(CallbackAnswer(query_id, text, self._bool(params, "show_alert"), time.monotonic()))
        return True

    def _get_file(self, params: dict[str, str]) -> dict[str, Any]:
        stored = self.files.get(params.get("file_id", ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if self.download_limit is not None and len(stored.data) > self.download_limit:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _commands_key(self, params: dict[str, str]) -> tuple[str, str]:
        scope = _json_param(params.get("scope"), "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    def _set_my_commands(self, params: dict[str, str]) -> bool:
        commands = _json_param(params.get("commands"), "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: dict[str, str]) -> list[dict[str, str]]:
        return self.commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, params: dict[str, str]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _get_chat(self, params: dict[str, str]) -> dict[str, Any]:
        chat = self._chat(params)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    def _member_api(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        user = self.bot if user_id == self.bot.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if user_id == chat.creator:
            return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
        if user_id in chat.admins or (user_id == self.bot.id and chat.bot_is_admin):
            rights = {
                k: True
                for k in (
                    "can_be_edited",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                    "can_manage_topics",
                )
            }
            return {"status": "administrator", "user": user.to_api(), "is_anonymous": False, **rights}
        if user_id in chat.members or user_id == self.bot.id:
            return {"status": "member", "user": user.to_api()}
        return {"status": "left", "user": user.to_api()}

    def _get_chat_member(self, params: dict[str, str]) -> dict[str, Any]:
        chat = self._chat(params)
        user_id = self._int(params, "user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        return self._member_api(chat, user_id)

    def _get_chat_administrators(self, params: dict[str, str]) -> list[dict[str, Any]]:
        chat = self._chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = ([chat.creator] if chat.creator else []) + sorted(chat.admins - {chat.creator})
        if chat.bot_is_admin:
            ids.append(self.bot.id)
        return [self._member_api(chat, uid) for uid in ids]


def _status_description(status: int) -> str:
    return {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


# --------------------------------------------------------------------------- network guard and fixtures
class RealNetworkBlocked(ConnectionRefusedError):
    """A test tried to reach something other than loopback."""


@dataclass
class NetworkGuard:
    """Records every attempt to leave loopback; the fixture fails the test if there was one."""

    attempts: list[str] = field(default_factory=list)

    def check_address(self, family: int, address: Any) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            self.attempts.append(f"connect to {address!r}")
            raise RealNetworkBlocked(f"tests may not reach the network: {address!r}")

    def check_host(self, host: Any) -> None:
        if host is None:
            return
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("localhost", "localhost.localdomain"):
            return
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            self.attempts.append(f"resolve {name!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {name!r}") from None


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Refuse (and fail the test on) any connection or name lookup that is not loopback."""
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        guard.check_address(self.family, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard.check_address(self.family, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check_host(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    # httpx honours proxy variables; loopback must never go through a proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    yield guard
    if guard.attempts:
        pytest.fail(f"the test tried to reach the real network: {guard.attempts}")


@pytest.fixture
async def telegram_server(no_real_network: NetworkGuard) -> AsyncIterator[FakeTelegram]:
    """A running FakeTelegram on 127.0.0.1 (cloud limits, privacy mode, no flood control)."""
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    if server.server_errors:
        raise server.server_errors[0]
