"""`/cameo create <handle>` on Telegram: a reference video sent in a private chat with that caption."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Chat, Message, User
from telegram.error import BadRequest

from core.commands import split_command
from core.errors import SoraboxError
from core.records import Reply

if TYPE_CHECKING:
    from bots.telegrambot.adapter import TelegramAdapter


def cameo_video(message: Message) -> str | None:
    """The file id of a video sent with the caption `/cameo create ...`, else None."""
    name, rest = split_command(message.caption or "")
    if name != "cameo" or not rest.lower().startswith("create"):
        return None
    if message.video is not None:
        return message.video.file_id
    if message.video_note is not None:
        return message.video_note.file_id
    document = message.document
    if document is not None and (document.mime_type or "").startswith("video/"):
        return document.file_id
    return None


class CameoUpload:
    """Downloads a reference video and hands it to the cameo service."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter = adapter

    async def create(self, message: Message, user: User) -> None:
        """`/cameo create <handle> [name]` with a reference video: download it and hand it to the cameo service."""
        chat, thread = message.chat, self.adapter.thread_of(message)
        parser = getattr(self.adapter.core, "parsers", {}).get("cameo")
        if self.adapter.cameos is None or parser is None:
            await self.adapter.send_text(
                chat.id, "Cameos are not enabled on this service.", thread_id=thread, reply_to=message.message_id
            )
            return
        _, rest = split_command(message.caption or "")
        try:
            command = parser(rest, self.adapter.core.settings.limits)
        except SoraboxError as exc:
            await self.adapter.answer_reply(Reply(str(exc), ok=False), chat.id, thread, message.message_id)
            return
        if chat.type != Chat.PRIVATE:
            # A reference video is personal: not even downloaded from a group.
            reply = Reply("create cameos in a private chat with me, not in a group", ok=False)
            await self.adapter.answer_reply(reply, chat.id, thread, message.message_id)
            return
        file_id = cameo_video(message)
        assert file_id is not None
        try:
            file = await self.adapter._call(lambda: self.adapter.app.bot.get_file(file_id), attempts=3)
            data = bytes(await self.adapter._call(lambda: file.download_as_bytearray(), attempts=3))
        except BadRequest as exc:
            if "too big" not in str(exc).lower():
                raise
            reply = Reply(
                "that video is too big for me to download (Telegram's cloud Bot API gives bots 20 MB at most); "
                "please send a shorter one",
                ok=False,
            )
            await self.adapter.answer_reply(reply, chat.id, thread, message.message_id)
            return
        actor = self.adapter.actor(user)
        reply = await self.adapter.cameos.create(
            actor, self.adapter.place(message), command.handle, data, command.text or None
        )
        await self.adapter.answer_reply(reply, chat.id, thread, message.message_id)
