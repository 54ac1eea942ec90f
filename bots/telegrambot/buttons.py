"""The buttons under a clip on Telegram: remix asks for a prompt, the others run a command; every press is answered."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bots.telegrambot import render
from core.errors import UnknownClip

if TYPE_CHECKING:
    from bots.telegrambot.adapter import TelegramAdapter

PLATFORM = "telegram"


class Buttons:
    """Callback queries from the keyboards under clips and notices."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter = adapter

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under a clip. The query is always answered, whatever happens."""
        query = update.callback_query
        if query is None:
            return
        answered = False

        async def answer(text: str, alert: bool = False) -> None:
            nonlocal answered
            if not answered:
                answered = True
                with contextlib.suppress(TelegramError):
                    await self.adapter._call(lambda: query.answer(render.cut(text, 200), show_alert=alert), attempts=3)

        try:
            await self._button(query, answer)
        finally:
            await answer("Something went wrong; please try again.", alert=True)

    async def _button(self, query: CallbackQuery, answer: Callable[[str, bool], Awaitable[None]]) -> None:
        parsed = render.parse_button(query.data)
        message = query.message
        if parsed is None or not isinstance(message, Message):
            await answer("This button no longer works.", True)
            return
        action, clip_id = parsed
        user, chat = query.from_user, message.chat
        thread_id = self.adapter.thread_of(message)
        if action == "rmx":
            try:
                await self.adapter.core.clip(clip_id)
            except UnknownClip as exc:
                await answer(str(exc), True)
                return
            await answer("Reply to my question with your remix prompt.", False)
            await self.adapter.ask_for_remix(chat.id, thread_id, message.message_id, user, clip_id)
            return
        command = {"ext": f"extend {clip_id}", "rr": f"reroll {clip_id}", "del": f"delete {clip_id}"}[action]
        is_admin = action == "del" and await self.adapter.is_admin(chat, user)
        # A press is a request of its own (the message under it is the clip's, not this person's).
        place = self.adapter.place(message, request_key=f"telegram:button:{query.id}")
        reply = await self.adapter.core.handle_text(self.adapter.actor(user, is_admin), place, command)
        await answer(reply.text.replace("`", ""), not reply.ok)
        if reply.ok and reply.job_id:
            await self.adapter.answer_reply(reply, chat.id, thread_id, message.message_id)
