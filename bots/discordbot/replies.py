"""Remixing on Discord by replying to a clip: the reply's text is the prompt, and the bot's answer to the reply shows
the job's progress."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bots.discordbot import render
from bots.discordbot.delivery import TRANSIENT_ERRORS
from bots.discordbot.progress import JobWatch
from core.commands import Remix
from core.errors import BadCommand
from core.identity import Actor, Place

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

log = logging.getLogger(__name__)

PLATFORM = "discord"
NOT_A_CLIP = "that message is not a sorabox clip"


@dataclass(frozen=True)
class ReplyRemix:
    """A person's reply to one of the bot's messages: the message replied to, and the reply's text (the prompt)."""

    channel_id: int
    message_id: int
    text: str


def strip_leading_mentions(text: str, user_id: int) -> str:
    """`text` without the `<@id>` mentions of `user_id` it starts with (people type them to address the bot)."""
    return re.sub(rf"^(?:\s*<@!?{user_id}>)+", "", text).strip()


class ReplyRemixes:
    """Messages that reply to the bot's clips (the only messages the bot reads)."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter

    @staticmethod
    def message_actor(message: discord.Message) -> Actor:
        """The author of a message, with the roles and Manage Server right the core uses, like `actor`."""
        author = message.author
        if not isinstance(author, discord.Member):  # a DM
            return Actor(PLATFORM, str(author.id), author.display_name)
        roles = tuple(str(r.id) for r in author.roles if not r.is_default())
        perms = author.guild_permissions
        return Actor(PLATFORM, str(author.id), author.display_name, roles, perms.manage_guild or perms.administrator)

    @staticmethod
    def message_place(message: discord.Message) -> Place:
        channel = message.channel
        # A message in an uncached channel has no guild object, but its channel still knows the guild id.
        guild_id = message.guild.id if message.guild is not None else getattr(channel, "guild_id", None)
        if guild_id is None:
            return Place(PLATFORM, str(channel.id), None, is_private=True)
        if isinstance(channel, discord.Thread):
            return Place(PLATFORM, str(channel.parent_id), str(guild_id), str(channel.id))
        return Place(PLATFORM, str(channel.id), str(guild_id))

    async def message_posted(self, message: discord.Message) -> None:
        """A reply to one of our clips is a remix of it, with the reply's text as the prompt.

        Without the Message Content intent, Discord sends the text only when the reply pings the bot (Reply's
        default) or is in a DM; a reply without the ping arrives empty and is left alone.
        """
        try:
            request = self._reply_remix_request(message)
            if request is not None:
                await self._remix_by_reply(message, request)
        except Exception:
            # discord.py would only log it too; this says which message it was, and the person gets an answer.
            log.exception("the reply %s could not be handled", message.id)
            await self._reply(message, render.refusal("something went wrong on our side; please try again"))

    def _reply_remix_request(self, message: discord.Message) -> ReplyRemix | None:
        """What a message asks for when it is a reply to one of our messages with text; None for anything else."""
        me = self.adapter.client.user if self.adapter.client is not None else None
        reference = message.reference
        if me is None or message.author.bot or reference is None or reference.message_id is None:
            return None
        if reference.type is not discord.MessageReferenceType.reply:
            return None  # a forward is not a request
        replied = reference.resolved
        if isinstance(replied, discord.DeletedReferencedMessage):
            return None
        if isinstance(replied, discord.Message) and replied.author.id != me.id:
            return None  # a conversation between people
        if not message.content.strip():
            return None  # a reply without the ping: Discord withheld its text
        return ReplyRemix(
            channel_id=reference.channel_id,
            message_id=reference.message_id,
            text=strip_leading_mentions(message.content, me.id),
        )

    async def _remix_by_reply(self, message: discord.Message, request: ReplyRemix) -> None:
        clip = await self.adapter.clip_of_message(request.channel_id, request.message_id)
        if clip is None:
            await self._reply(message, render.refusal(f"{NOT_A_CLIP}; reply to a clip to remix it"))
            return
        try:
            prompt = self.adapter.prompt_text(request.text, "make it snow")
        except BadCommand as exc:
            await self._reply(message, render.refusal(str(exc)))
            return
        place = await self.adapter.place_for_clip(self.message_place(message), clip)
        reply = await self.adapter.core.execute(self.message_actor(message), place, Remix(clip, prompt))
        if not reply.ok:
            await self._reply(message, render.refusal(reply.text))
            return
        if reply.job_id is None:
            await self._reply(message, reply.text)
            return
        # No interaction to edit: progress goes to this answer, at the pace of ordinary channel messages (or, if
        # the answer could not be posted, to a status message of its own, like any job without one).
        watch = JobWatch(reply.job_id, prompt, None, place, time.monotonic(), text=reply.text, token_valid=False)
        self.adapter.progress.claim(watch)
        watch.fallback = await self._reply(message, reply.text)
        self.adapter.progress.follow(watch)

    async def _reply(self, message: discord.Message, text: str) -> discord.Message | None:
        """Answer a person's message with a reply that does not ping them again (the progress edits follow)."""
        try:
            return await message.reply(render.fit(text), mention_author=False)
        except (discord.HTTPException, *TRANSIENT_ERRORS) as exc:
            log.warning("could not answer message %s: %r", message.id, exc)
            return None
