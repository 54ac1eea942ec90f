"""Discord's side of the delivery worker: a clip posted with a thread opened from it, a notice to a person, and how
Discord's errors are sorted. Posts carry a nonce, so a retried request is de-duplicated; a post whose answer was lost
is looked for in the channel's latest messages before it is posted again."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING, Literal

import aiohttp
import discord

from bots.common.outbox import Failure, Final, Posted, Retry
from bots.common.upload import fit_upload
from bots.discordbot import render
from bots.discordbot.settings import DEFAULT_ATTACHMENT_LIMIT
from bots.discordbot.views import ClipButton, clip_view
from core.identity import Place
from core.records import Delivery

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

log = logging.getLogger(__name__)

# A whole request may be 25 MiB; leave room for the caption and the multipart framing.
REQUEST_LIMIT = 25 * 1024 * 1024 - 64 * 1024
THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440  # a day without messages
TRANSIENT_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
THREAD_ALREADY_CREATED = 160004  # Discord's error code: this message already has a thread
# How far back an unconfirmed post is looked for: one page of history, the most Discord returns at once.
EARLIER_POST_SEARCH = 100
UNKNOWN_CHANNEL = 10003  # Discord's error code: no channel with that id (a notice addressed to a user id)
# Clips and threads just posted, remembered until the core has recorded them (see DiscordAdapter._fresh_posts).
FRESH_MEMORY = 512


class DiscordDelivery:
    """The `DeliveryTarget` of the Discord adapter."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter

    def classify(self, exc: Exception) -> Failure | None:
        retry = self.adapter.settings.delivery_retry_seconds
        if isinstance(exc, discord.HTTPException):
            if exc.status >= 500:
                # discord.py already retried the 5xx; Discord may have made the message before failing.
                return Retry(f"Discord: {exc}", after=retry, may_have_posted=True)
            if exc.status == 429:
                return Retry(f"Discord: {exc}", after=retry)
            return Final(f"Discord refused it: {exc}")
        if isinstance(exc, TRANSIENT_ERRORS):
            log.warning("Discord unreachable: %r", exc)
            # Only a connection that never opened is sure not to have carried the post.
            unsent = isinstance(exc, aiohttp.ClientConnectorError)
            return Retry(f"Discord unreachable: {exc!r}", after=retry, may_have_posted=not unsent)
        return None

    async def post(self, delivery: Delivery) -> Posted:
        if delivery.kind == "clip":
            message_id, thread_id = await self.post_clip(delivery)
            return Posted(message_id, thread_id)
        return Posted(await self._post_notice(delivery))

    async def earlier_post(self, delivery: Delivery) -> Posted | None:
        earlier = await self._earlier_post(delivery)
        return None if earlier is None else Posted(*earlier)

    async def after_sent(self, delivery: Delivery, posted: Posted) -> None:
        for fresh in (self.adapter._fresh_threads, self.adapter._fresh_posts):
            while len(fresh) > FRESH_MEMORY:
                fresh.popitem(last=False)

    async def _post_notice(self, delivery: Delivery) -> str:
        """A text notice to a person (a cameo's owner: someone used their cameo), with a Delete button for the
        clip it is about. The core addresses it to the DM the person used, or to their user id when there is
        none: Discord refuses that as a channel, and a DM is opened to the user instead."""
        assert self.adapter.client is not None
        text = render.fit(render.slash_commands(delivery.text))
        wants_delete = delivery.clip_id is not None and "delete" in (delivery.payload.get("buttons") or [])
        view = discord.ui.View(timeout=None)
        if wants_delete:
            view.add_item(ClipButton("delete", str(delivery.clip_id)))
        nonce = delivery_nonce(delivery)
        destination = delivery.destination
        try:
            message = await self.adapter.messageable(destination).send(text, view=view, nonce=nonce)
        except discord.NotFound as exc:
            if not destination.is_private or exc.code != UNKNOWN_CHANNEL:
                raise
            dm = await self.adapter.client.create_dm(discord.Object(int(destination.channel_id)))
            message = await dm.send(text, view=view, nonce=nonce)
        return str(message.id)

    async def _full_channel(self, destination: Place) -> discord.abc.Messageable:
        """The channel or thread itself (not a partial one): a clip needs its upload limit and, in a text
        channel, a thread opened from its message."""
        assert self.adapter.client is not None
        target = int(destination.thread_id or destination.channel_id)
        channel = self.adapter.client.get_channel(target) or await self.adapter.client.fetch_channel(target)
        assert isinstance(channel, discord.abc.Messageable)
        return channel

    async def post_clip(self, delivery: Delivery) -> tuple[str, str | None]:
        assert self.adapter.client is not None and delivery.clip_id is not None
        channel = await self._full_channel(delivery.destination)
        limit = self.adapter._upload_limits.pop(delivery.job_id or "", None) or _guild_limit(channel)
        path = self.adapter.core.clip_payload_path(delivery)
        data = await asyncio.to_thread(fit_upload, path, min(limit, REQUEST_LIMIT)) if path else None
        link = None
        if data is None and self.adapter._media_url is not None:
            link = self.adapter._media_url(delivery.clip_id)
        elif data is None and self.adapter.settings.public_url:
            link = f"{self.adapter.settings.public_url}/media/{delivery.clip_id}"
        content = render.clip_message(delivery.text, delivery.clip_id, link, too_large=data is None)
        view = clip_view(delivery.clip_id)
        # The nonce makes Discord return the first message instead of making a second one when this post is
        # retried (by discord.py after a 5xx, or by the outbox after a timeout) within a few minutes.
        nonce = delivery_nonce(delivery)
        if data is not None:
            upload = discord.File(io.BytesIO(data), filename=f"{delivery.clip_id}.mp4")
            message = await channel.send(content, file=upload, view=view, nonce=nonce)
        else:
            message = await channel.send(content, view=view, nonce=nonce)
        self.adapter._fresh_posts[str(message.id)] = delivery.clip_id
        return str(message.id), await self._clip_thread(delivery, channel, message)

    async def _clip_thread(self, delivery: Delivery, channel: object, message: discord.Message) -> str | None:
        """The thread the clip's message is in, or the public thread opened from it, where its remixes land (the
        core finds clips by it for replies)."""
        assert delivery.clip_id is not None
        if not isinstance(channel, discord.TextChannel):
            return delivery.destination.thread_id
        prompt = str(delivery.payload.get("prompt") or delivery.text)
        try:
            thread = await channel.create_thread(
                name=render.thread_name(prompt), message=message, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
            thread_id = str(thread.id)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                log.warning("could not open a thread for clip %s: %r", delivery.clip_id, exc)
                return delivery.destination.thread_id
            thread_id = str(message.id)  # a thread started from a message has the message's id
        self.adapter._fresh_threads[delivery.clip_id] = thread_id
        return thread_id

    async def _earlier_post(self, delivery: Delivery) -> tuple[str, str | None] | None:
        """The message an earlier, unconfirmed attempt of `delivery` posted, if it is among the destination's
        latest messages: (message id, thread id)."""
        assert self.adapter.client is not None and self.adapter.client.user is not None
        destination = delivery.destination
        channel: discord.abc.Messageable = (
            await self._full_channel(destination) if delivery.kind == "clip" else self.adapter.messageable(destination)
        )
        notice = render.fit(render.slash_commands(delivery.text))
        if delivery.kind != "clip" and destination.is_private:
            try:
                return await self._earlier_notice(channel, notice)
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_CHANNEL:
                    raise
                return None  # addressed to a user id: a retry opens the DM and posts with the same nonce
        async for message in channel.history(limit=EARLIER_POST_SEARCH):
            if message.author.id != self.adapter.client.user.id:
                continue
            if delivery.kind == "clip" and f"clip `{delivery.clip_id}`" in message.content:
                return str(message.id), await self._clip_thread(delivery, channel, message)
            if delivery.kind != "clip" and message.content == notice:
                return str(message.id), None
        return None

    async def _earlier_notice(self, channel: discord.abc.Messageable, notice: str) -> tuple[str, None] | None:
        assert self.adapter.client is not None and self.adapter.client.user is not None
        async for message in channel.history(limit=EARLIER_POST_SEARCH):
            if message.author.id == self.adapter.client.user.id and message.content == notice:
                return str(message.id), None
        return None


def delivery_nonce(delivery: Delivery) -> str:
    """Discord's de-duplication key for a delivery's message (at most 25 characters)."""
    return f"sorabox-d{delivery.id}"[:25]


def _guild_limit(channel: object) -> int:
    guild = getattr(channel, "guild", None)
    return int(guild.filesize_limit) if guild is not None else DEFAULT_ATTACHMENT_LIMIT
