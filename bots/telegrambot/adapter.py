"""The Telegram adapter: python-telegram-bot on one side, the core's commands, events and outbox on the other.

Private chats, groups, supergroups and forum topics. Commands follow the core grammar (`/sora@bot ...`
too); in a private chat plain text is a prompt; replying to a clip with text remixes it. One status
message per job is edited in place, throttled per chat. Finished clips come from the core's outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from telegram import (
    BotCommand,
    Chat,
    ForceReply,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bots.common.events import EventDispatch
from bots.common.outbox import Backoff, DeliveryWorker
from bots.telegrambot import render
from bots.telegrambot.buttons import Buttons
from bots.telegrambot.cameo_upload import CameoUpload, cameo_video
from bots.telegrambot.delivery import TelegramDelivery
from bots.telegrambot.mentions import Mentions
from bots.telegrambot.progress import TelegramProgress
from bots.telegrambot.settings import TelegramSettings
from bots.telegrambot.updates import DurableUpdates
from bots.telegrambot.waits import retry_seconds
from core.commands import ID_PATTERN, split_command
from core.errors import UnknownClip
from core.events import (
    ClipDeleted,
    Subscription,
)
from core.identity import Actor, Place
from core.records import Reply
from core.service import Sorabox

if TYPE_CHECKING:  # the cameo service pulls in OpenCV and the voice detector; only its type is needed here
    from core.cameos.service import Cameos

log = logging.getLogger(__name__)
T = TypeVar("T")

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
COMMANDS = (
    ("sora", "make a clip: /sora a red ball bounces [--seconds N] [--aspect portrait]"),
    ("remix", "remix a clip (or reply to a clip with text)"),
    ("extend", "continue a clip: /extend <clip> [--seconds N]"),
    ("stitch", "join clips: /stitch <clip> <clip>"),
    ("tree", "show a clip's remix tree (reply to the clip)"),
    ("quota", "credits left today"),
    ("jobs", "your jobs"),
    ("cancel", "cancel a job: /cancel <job>"),
    ("help", "how to use sorabox"),
    ("link", "join your accounts on other platforms (in a private chat)"),
)
# Commands the core has only when extensions registered them (the cameo issue).
OPTIONAL_COMMANDS = (
    ("cameo", "your cameos: send a video captioned /cameo create <handle>; /cameo list"),
    ("forgetme", "delete everything sorabox keeps about you"),
)
# Commands that take a clip id first: replying to a clip fills it in.
CLIP_FIRST = {"remix", "extend", "tree", "reroll", "delete"}


class TelegramAdapter:
    """Runs the Telegram bot against a core: `await start()`, `await stop()`; webhook mode needs `webhook_routes()`."""

    def __init__(
        self,
        core: Sorabox,
        settings: TelegramSettings,
        *,
        media_url: Callable[[str], str] | None = None,
        cameos: Cameos | None = None,
    ) -> None:
        """`media_url(clip_id)` links a clip too big to upload (the web console's signed URL, when it runs);
        `cameos` takes reference videos for `/cameo create` (default: `core.cameos`, if serve installed it)."""
        self.core = core
        self.settings = settings
        self._media_url = media_url
        self.cameos: Cameos | None = cameos if cameos is not None else core.cameos
        builder = (
            Application.builder()
            .token(settings.token)
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            # A handler waiting on the core or an upload must not hold up other chats' updates.
            .concurrent_updates(True)
            # Updates come through DurableUpdates (kept in the core's inbox before Telegram is told), not PTB's updater.
            .updater(None)
        )
        self.app = builder.build()
        self.buttons = Buttons(self)
        self.cameo_upload = CameoUpload(self)
        self.updates = DurableUpdates(
            self.app.bot,
            core.inbox,
            self.app.process_update,
            poll_timeout=settings.poll_timeout_seconds,
            allowed_updates=ALLOWED_UPDATES,
            retry_base=settings.retry_base_seconds,
            retry_max=settings.retry_max_seconds,
        )
        self.app.add_handler(MessageHandler(filters.ALL & ~filters.UpdateType.EDITED, self._on_message))
        self.app.add_handler(CallbackQueryHandler(self.buttons.on_callback))
        self.app.add_error_handler(self._on_error)
        self.mentions = Mentions(core, cameos=self.cameos)
        self._webhook_secret = settings.webhook_secret or secrets.token_urlsafe(32)
        self._admins: dict[tuple[int, int], tuple[bool, float]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._subscription: Subscription | None = None
        self.deliveries = DeliveryWorker(
            core,
            PLATFORM,
            TelegramDelivery(self),
            backoff=Backoff(settings.retry_base_seconds, settings.retry_max_seconds),
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.progress = TelegramProgress(self)
        self.events = EventDispatch(
            PLATFORM,
            deliveries_pending=self.deliveries.wake,
            clip_deleted=self._clip_deleted,
            job_hooks=self.progress.job_hooks(),
        )
        self.running = False

    # ------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect (getMe), register commands, start receiving updates and delivering clips.

        A wrong token raises InvalidToken. If the Bot API cannot be reached, start() returns anyway and
        keeps trying in the background: clips finished meanwhile wait in the outbox.
        """
        # Subscribe first: nothing published from here on is missed.
        self._subscription = self.core.bus.subscribe()
        self.running = True
        try:
            await self._connect()
        except (InvalidToken, BadRequest):
            await self.stop()
            raise
        except (TimedOut, NetworkError, RetryAfter) as exc:
            # RetryAfter too: a 429 on getMe at start-up is a reason to wait, not to give the bot up.
            log.warning("telegram: the Bot API is unreachable (%s); retrying in the background", exc)
            self._tasks.append(asyncio.create_task(self._connect_later(), name="telegram-connect"))
            return
        self._start_loops()

    async def _connect(self) -> None:
        """Each step is skipped when already done, so a failed start can simply be retried."""
        await self.app.initialize()  # getMe; a no-op once it succeeded
        if not self.app.running:
            await self.app.start()
        await self._call(lambda: self.app.bot.set_my_commands(self.bot_commands()), attempts=2)
        if self.settings.webhook_url:
            await self._call(
                lambda: self.app.bot.set_webhook(
                    self.settings.webhook_url, secret_token=self._webhook_secret, allowed_updates=ALLOWED_UPDATES
                ),
                attempts=2,
            )

    async def _connect_later(self) -> None:
        delay = self.settings.retry_base_seconds
        while self.running:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except (InvalidToken, BadRequest) as exc:
                log.error("telegram: the Bot API refused to start the bot (%s); the adapter stays off", exc)
                return
            except RetryAfter as exc:
                log.info("telegram: asked to wait (%s)", exc)
                delay = max(delay, retry_seconds(exc))
            except (TimedOut, NetworkError) as exc:
                log.info("telegram: still unreachable (%s)", exc)
                delay = min(delay * 2, self.settings.retry_max_seconds)
            else:
                log.info("telegram: connected")
                self._start_loops()
                return

    def _start_loops(self) -> None:
        assert self._subscription is not None
        self._tasks += [
            asyncio.create_task(self.events.run(self._subscription), name="telegram-events"),
            # What a crash cut off before it was handled, then (in polling mode) new updates.
            asyncio.create_task(self._receive_updates(), name="telegram-updates"),
        ]
        self.deliveries.start()

    async def _receive_updates(self) -> None:
        await self.updates.replay()
        if not self.settings.webhook_url:
            await self.updates.poll()

    async def stop(self) -> None:
        """Stop receiving and posting; undelivered clips stay in the outbox for the next start."""
        self.running = False
        for task in [t for t in self._tasks if t.get_name() == "telegram-updates"]:
            task.cancel()
        # Commands being handled get a moment to finish; what is cut off stays in the inbox for the next start.
        await self.updates.drain(within=5.0)
        await self.deliveries.stop()
        tasks = [*self._tasks, *self.progress.tasks(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self.app.running:
            await self.app.stop()
        with contextlib.suppress(TelegramError):
            await self.app.shutdown()

    def bot_commands(self) -> list[BotCommand]:
        """The menu Telegram shows: the core grammar, plus the cameo commands when the core has them."""
        parsers = getattr(self.core, "parsers", {})
        extra = [(name, text) for name, text in OPTIONAL_COMMANDS if name in parsers]
        return [BotCommand(name, text) for name, text in (*COMMANDS, *extra)]

    def setup_webhook(self, app: web.Application) -> None:
        """Mount the webhook route on the service's aiohttp app (before it starts); nothing in polling mode."""
        if self.settings.webhook_url:
            app.add_routes(self.webhook_routes())

    def webhook_routes(self) -> list[web.RouteDef]:
        """Routes for the service's aiohttp app in webhook mode: POST <path of SORABOX_TELEGRAM_WEBHOOK_URL>."""
        return [web.post(self.settings.webhook_path, self._on_webhook)]

    async def _on_webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self._webhook_secret:
            return web.Response(status=403, text="wrong secret token")
        try:
            data = await request.json()
            update = Update.de_json(data, self.app.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        # Kept in the inbox before the 200: Telegram forgets an update once its webhook has answered.
        await self.updates.receive([update])
        return web.Response(text="ok")

    # ------------------------------------------------------------------------------------ helpers
    async def _call(self, fn: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
        """Call the Bot API, waiting out 429s and retrying network errors with backoff; other errors raise."""
        delay = min(1.0, self.settings.retry_base_seconds)
        for attempt in range(attempts):
            try:
                return await fn()
            except RetryAfter as exc:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(retry_seconds(exc) + 0.05)
            except (BadRequest, InvalidToken):
                raise
            except (TimedOut, NetworkError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def touch(self, chat_id: int) -> None:
        """Something was just sent to this chat: the next progress edit waits its turn after it."""
        self.progress.touch(chat_id)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        markup: Any = None,
        html: bool = True,
    ) -> Message:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        message = await self._call(
            lambda: self.app.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML if html else None,
                message_thread_id=thread_id,
                reply_parameters=reply,
                reply_markup=markup,
            )
        )
        self.touch(chat_id)
        return message

    @staticmethod
    def actor(user: User, is_admin: bool = False) -> Actor:
        return Actor(platform=PLATFORM, user_id=str(user.id), display_name=user.full_name, is_admin=is_admin)

    @staticmethod
    def thread_of(message: Message) -> int | None:
        # Only forum topics are threads we post into; in plain groups message_thread_id marks a reply chain.
        return message.message_thread_id if message.is_topic_message else None

    def place(self, message: Message, request_key: str | None = None) -> Place:
        """Where `message` was said, as the core names places; `request_key` defaults to the message's own."""
        chat = message.chat
        thread = self.thread_of(message)
        return Place(
            platform=PLATFORM,
            channel_id=str(chat.id),
            guild_id=None if chat.type == Chat.PRIVATE else str(chat.id),
            thread_id=str(thread) if thread is not None else None,
            reply_to=str(message.message_id),
            is_private=chat.type == Chat.PRIVATE,
            # One message is one request: handled again after a crash, it finds the job it made the first time.
            request_key=request_key or f"telegram:message:{chat.id}:{message.message_id}",
        )

    async def is_admin(self, chat: Chat, user: User) -> bool:
        """Whether Telegram says `user` administers `chat` (cached for a minute)."""
        if chat.type == Chat.PRIVATE:
            return False
        key = (chat.id, user.id)
        cached = self._admins.get(key)
        if cached and time.monotonic() - cached[1] < 60:
            return cached[0]
        try:
            member = await self._call(lambda: self.app.bot.get_chat_member(chat.id, user.id), attempts=3)
        except TelegramError:
            return False
        is_admin = member.status in ("creator", "administrator")
        self._admins[key] = (is_admin, time.monotonic())
        return is_admin

    # ------------------------------------------------------------------------------------ messages
    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message: a command, a reply to a clip (remix), or a prompt in a private chat."""
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        await self.mentions.remember(user)
        if message.reply_to_message is not None and message.reply_to_message.from_user is not None:
            await self.mentions.remember(message.reply_to_message.from_user)
        chat = message.chat
        private = chat.type == Chat.PRIVATE
        source_clip = await self._clip_replied_to(message)
        text = message.text
        if text is None and cameo_video(message) is not None:
            await self.cameo_upload.create(message, user)
            return
        if text is None:
            if message.new_chat_members or message.forum_topic_created or message.left_chat_member:
                return  # service messages
            if private or source_clip:
                hint = (
                    f"I can only remix with words: reply to clip <code>{source_clip}</code> with text."
                    if source_clip
                    else "Send me a text prompt, for example: <code>a red ball bounces on a wooden floor</code>"
                )
                await self.send_text(chat.id, hint, thread_id=self.thread_of(message), reply_to=message.message_id)
            return
        if text.startswith("/"):
            head = text.split(maxsplit=1)[0]
            _, _, addressee = head.partition("@")
            if addressee and addressee.lower() != (self.app.bot.username or "").lower():
                return  # a command for another bot in the same group
            await self._command(message, user, text, source_clip)
        elif source_clip:
            await self._respond(message, user, f"remix {source_clip} {await self.mentions.as_cameos(message)}")
        elif private:
            await self._respond(message, user, f"sora {await self.mentions.as_cameos(message)}")
        # Other group chatter is not for us (in privacy mode Telegram does not even send it).

    async def _clip_replied_to(self, message: Message) -> str | None:
        """The clip a message replies to: a posted clip, or the bot's 'what should the remix be' question."""
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != self.app.bot.id:
            return None
        clip_id = await self.core.clip_for_post(PLATFORM, str(message.chat.id), str(replied.message_id))
        if clip_id:
            return clip_id
        # A reply can race the outbox recording the post; the clip's own buttons name it too.
        markup = replied.reply_markup
        for row in markup.inline_keyboard if markup else ():
            for button in row:
                parsed = render.parse_button(button.callback_data if isinstance(button.callback_data, str) else None)
                if parsed is not None:
                    with contextlib.suppress(UnknownClip):
                        return (await self.core.clip(parsed[1])).id
        asked = render.REMIX_ASK_RE.search(replied.text or "")
        return asked.group(1) if asked else None

    async def _command(self, message: Message, user: User, text: str, source_clip: str | None) -> None:
        name, rest = split_command(await self.mentions.resolve(message, split_command(text)[0]))
        if name == "start":
            name = "help"
        if source_clip and name in CLIP_FIRST:
            first = rest.split(maxsplit=1)[0].lower() if rest.split() else ""
            if not ID_PATTERN.match(first):
                if name == "remix" and not rest.strip():
                    await self.ask_for_remix(
                        message.chat.id, self.thread_of(message), message.message_id, user, source_clip
                    )
                    return
                rest = f"{source_clip} {rest}"
        elif source_clip and name == "stitch" and source_clip not in rest.split():
            rest = f"{source_clip} {rest}"
        elif name == "cancel" and not rest.strip() and message.reply_to_message is not None:
            job_id = self.progress.job_of_status(message.reply_to_message)
            rest = job_id or ""
        needs_admin = name in ("delete", "cancel")
        await self._respond(message, user, f"{name} {rest}".strip(), needs_admin=needs_admin)

    async def _respond(self, message: Message, user: User, command: str, *, needs_admin: bool = False) -> None:
        """Run one command for the person who sent `message` and answer it in the same chat and topic."""
        is_admin = needs_admin and await self.is_admin(message.chat, user)
        place = self.place(message)
        reply = await self.core.handle_text(self.actor(user, is_admin), place, command)
        await self.answer_reply(reply, message.chat.id, self.thread_of(message), message.message_id)

    async def answer_reply(self, reply: Reply, chat_id: int, thread_id: int | None, reply_to: int) -> None:
        status = self.progress.claim(reply, chat_id, thread_id, reply_to)
        if reply.tree is not None:
            text = render.tree_html(reply.tree, reply.clip_id)
        else:
            text = render.to_html(reply.text if reply.ok else f"⚠️ {reply.text}")
        sent = await self.send_text(chat_id, text, thread_id=thread_id, reply_to=reply_to)
        if status is not None:
            self.progress.shown_as(status, sent.message_id, reply.text)

    async def ask_for_remix(
        self, chat_id: int, thread_id: int | None, reply_to: int | None, user: User, clip_id: str
    ) -> None:
        mention = f'<a href="tg://user?id={user.id}">{html.escape(user.first_name, quote=False)}</a>'
        await self.send_text(
            chat_id,
            f"{mention}: {render.REMIX_ASK.format(clip_id=clip_id)}",
            thread_id=thread_id,
            reply_to=reply_to,
            markup=ForceReply(selective=True, input_field_placeholder="describe the remix"),
        )

    # ------------------------------------------------------------------------------------ events
    async def _clip_deleted(self, event: ClipDeleted) -> None:
        for post in event.posts:
            if post.platform == PLATFORM:
                self.spawn(self._delete_post(int(post.channel_id), int(post.message_id)), "telegram-delete")

    async def _delete_post(self, chat_id: int, message_id: int) -> None:
        try:
            await self._call(lambda: self.app.bot.delete_message(chat_id, message_id))
        except TelegramError as exc:
            log.info("telegram: could not delete message %s in %s: %s", message_id, chat_id, exc)

    # ------------------------------------------------------------------------------------ outbox
    def media_url(self, clip_id: str) -> str:
        """Where a clip too big to upload can be watched: the hook given at construction, else the media route."""
        if self._media_url is not None:
            return self._media_url(clip_id)
        base = self.settings.public_url or self.core.settings.public_url.rstrip("/")
        if not base:
            base = f"http://{self.core.settings.web_host}:{self.core.settings.web_port}"
        return f"{base}/media/{clip_id}"

    # ------------------------------------------------------------------------------------ errors
    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handler failed for %r", update, exc_info=context.error)
        if not isinstance(update, Update) or update.callback_query is not None:
            return  # button presses are answered by their handler, whatever happens
        message = update.effective_message
        if message is not None:
            with contextlib.suppress(TelegramError):
                await self.send_text(
                    message.chat.id,
                    "⚠️ Something went wrong on our side; please try again in a moment.",
                    thread_id=self.thread_of(message),
                    reply_to=message.message_id,
                )
