"""Telegram's side of the delivery worker: how a clip or notice is posted to a chat, and how its errors are sorted.

Uploads shrink to the server's limit (re-encoded when needed) or become a link; a post whose answer was lost
becomes a link too, since a bot cannot read a chat's history to see whether the upload landed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from telegram import InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bots.common.outbox import Failure, Final, Posted, Retry, Undeliverable
from bots.common.upload import fit_upload
from bots.telegrambot import render
from bots.telegrambot.settings import CLOUD_UPLOAD_LIMIT
from bots.telegrambot.waits import retry_seconds
from core.errors import UnknownClip
from core.identity import Place
from core.records import Delivery

if TYPE_CHECKING:
    from bots.telegrambot.adapter import TelegramAdapter

log = logging.getLogger(__name__)

# The buttons a notice may ask for (payload["buttons"]) -> this adapter's button actions.
NOTICE_BUTTONS = {"delete": "del"}
TOO_LARGE = "Request Entity Too Large"


@dataclass(frozen=True)
class VideoPost:
    """A clip to upload and what goes with it: a clip delivery's caption and keyboard, or a cameo owner's notice
    as the caption with a Delete button. One shape, so both share the upload, re-encode, link and doubt rules."""

    clip_id: str
    path: Path
    caption: str  # plain text, within Telegram's 1024
    markup: InlineKeyboardMarkup | None
    width: int | None
    height: int | None
    seconds: float


def may_have_reached_telegram(exc: BaseException) -> bool:
    """Whether a failed call may have been carried out anyway: the whole request went out and its answer never came
    (a read timeout, a connection cut while waiting). A connection that never opened, a request not fully written,
    or any answer from Telegram (a 5xx from its front end included) means the call was not carried out."""
    if not isinstance(exc, NetworkError) or isinstance(exc, BadRequest):
        return False
    return isinstance(exc.__cause__, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError)


class TelegramDelivery:
    """The `DeliveryTarget` of the Telegram adapter."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter = adapter

    def classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, RetryAfter):
            return Retry(f"rate limited: {exc}", after=retry_seconds(exc))
        if isinstance(exc, BadRequest | Forbidden | InvalidToken):
            return Final(str(exc))
        if isinstance(exc, TelegramError | OSError):  # network errors, 5xx, anything unexpected: back off and retry
            return Retry(str(exc), may_have_posted=may_have_reached_telegram(exc))
        return None

    async def earlier_post(self, delivery: Delivery) -> Posted | None:
        return None  # a bot cannot read a chat's history: `post` links instead of uploading again

    async def after_sent(self, delivery: Delivery, posted: Posted) -> None:
        return None

    async def post(self, delivery: Delivery) -> Posted:
        """Post one outbox row where it is addressed, or where Telegram moved that chat or topic to."""
        destination = delivery.destination
        try:
            chat_id = int(destination.channel_id)
            thread_id = int(destination.thread_id) if destination.thread_id else None
            reply_to = int(destination.reply_to) if destination.reply_to else None
        except ValueError:
            raise Undeliverable("not a Telegram destination") from None
        asked = (chat_id, thread_id)
        try:
            message = await self._post(delivery, chat_id, thread_id, reply_to)
        except ChatMigrated as exc:
            # The group became a supergroup: same people, new id; the old messages are not there to reply to.
            chat_id, thread_id = int(exc.new_chat_id), None
            message = await self._post(delivery, chat_id, None, None)
        except BadRequest as exc:
            if thread_id is None or "thread not found" not in str(exc).lower():
                raise
            # The topic was deleted meanwhile: the chat's General topic is the next best place.
            thread_id = None
            message = await self._post(delivery, chat_id, None, reply_to)
        landed = None if (chat_id, thread_id) == asked else self._landed(destination, chat_id, thread_id)
        return Posted(str(message.message_id), posted_to=landed)

    @staticmethod
    def _landed(destination: Place, chat_id: int, thread_id: int | None) -> Place:
        """Where a post went that Telegram sent elsewhere: recorded in the core, so Delete removes it there and
        /tree links to it there."""
        moved_chat = destination.channel_id != str(chat_id)
        return dataclasses.replace(
            destination,
            channel_id=str(chat_id),
            guild_id=destination.guild_id if destination.is_private else str(chat_id),
            thread_id=str(thread_id) if thread_id is not None else None,
            reply_to=None if moved_chat else destination.reply_to,
        )

    async def _post(self, delivery: Delivery, chat_id: int, thread_id: int | None, reply_to: int | None) -> Message:
        bot = self.adapter.app.bot
        video = await self._video_post(delivery)
        if video is None:
            return await self._send_once(
                lambda: bot.send_message(
                    chat_id,
                    render.to_html(delivery.text),
                    parse_mode=ParseMode.HTML,
                    message_thread_id=thread_id,
                    reply_parameters=self._reply(reply_to),
                ),
                chat_id,
            )
        if delivery.may_have_posted:
            # The Bot API has no idempotency key and a bot cannot read a chat's history: an upload whose answer was
            # lost may be in the chat already. A link cannot show the clip twice; uploading again could.
            return await self._post_link(video, chat_id, thread_id, reply_to, interrupted=True)
        limit = self.adapter.settings.upload_limit_bytes
        for _ in range(3):
            data = await asyncio.to_thread(fit_upload, video.path, limit)
            if data is None:
                return await self._post_link(video, chat_id, thread_id, reply_to)
            try:
                return await self._send_video(video, data, chat_id, thread_id, reply_to)
            except NetworkError as exc:
                if isinstance(exc, BadRequest) or TOO_LARGE not in str(exc):
                    raise
                # The server's limit is lower than configured (the cloud API behind a self-hosted setting?):
                # try the cloud limit, then halve.
                limit = min(len(data) // 2 if len(data) <= CLOUD_UPLOAD_LIMIT else CLOUD_UPLOAD_LIMIT, limit)
        return await self._post_link(video, chat_id, thread_id, reply_to)

    async def _video_post(self, delivery: Delivery) -> VideoPost | None:
        """The video a delivery posts: its clip, or the clip a cameo owner's notice is about; None for text only."""
        core = self.adapter.core
        if not delivery.clip_id:
            return None
        if delivery.kind == "clip":
            path = core.clip_payload_path(delivery)
            if path is None:
                raise BadRequest("the clip has no media")
            payload = delivery.payload
            return VideoPost(
                delivery.clip_id,
                path,
                render.clip_caption(delivery.text, delivery.clip_id),
                render.keyboard(delivery.clip_id),
                int(payload.get("width") or 0) or None,
                int(payload.get("height") or 0) or None,
                float(payload.get("seconds") or 1),
            )
        if delivery.kind != "notice":
            return None
        try:
            clip = await core.clip(delivery.clip_id)
        except UnknownClip:
            return None  # deleted while the notice waited: the text alone still tells the owner
        actions = tuple(NOTICE_BUTTONS[b] for b in delivery.payload.get("buttons", ()) if b in NOTICE_BUTTONS)
        return VideoPost(
            clip.id,
            core.media_path(clip),
            render.notice_caption(delivery.text),
            render.keyboard(clip.id, actions) if actions else None,
            clip.width or None,
            clip.height or None,
            clip.seconds,
        )

    @staticmethod
    def _reply(reply_to: int | None) -> ReplyParameters | None:
        return ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None

    async def _send_once(self, fn: Callable[[], Awaitable[Message]], chat_id: int) -> Message:
        message = await fn()
        self.adapter.touch(chat_id)
        return message

    async def _send_video(
        self, video: VideoPost, data: bytes, chat_id: int, thread_id: int | None, reply_to: int | None
    ) -> Message:
        return await self._send_once(
            lambda: self.adapter.app.bot.send_video(
                chat_id,
                InputFile(data, filename=f"sorabox-{video.clip_id}.mp4"),
                caption=video.caption,
                supports_streaming=True,
                width=video.width,
                height=video.height,
                duration=max(1, round(video.seconds)),
                message_thread_id=thread_id,
                reply_parameters=self._reply(reply_to),
                reply_markup=video.markup,
                # Uploads of tens of MB need longer than the default 20 s on slow links.
                write_timeout=300,
                read_timeout=60,
            ),
            chat_id,
        )

    async def _post_link(
        self,
        video: VideoPost,
        chat_id: int,
        thread_id: int | None,
        reply_to: int | None,
        *,
        interrupted: bool = False,
    ) -> Message:
        url = self.adapter.media_url(video.clip_id)
        why = "The upload of this clip was cut off; if it is not above," if interrupted else "Too big to upload here:"
        text = (
            f"{html.escape(render.cut(video.caption, render.TEXT_LIMIT - 200), quote=False)}\n"
            f'🔗 {why} <a href="{html.escape(url)}">watch the clip</a>'
        )
        return await self._send_once(
            lambda: self.adapter.app.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                reply_parameters=self._reply(reply_to),
                reply_markup=video.markup,
            ),
            chat_id,
        )
