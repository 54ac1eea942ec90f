"""Running the Telegram adapter on a real core against FakeTelegram, and reading what it posted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bots.telegrambot import TelegramAdapter, TelegramSettings
from core.service import Sorabox
from tests.fakes.telegram_server import FakeChat, FakeTelegram
from tests.support import ToneGenerator, running_core

Message = dict[str, Any]


def adapter_env(server: FakeTelegram, **overrides: str) -> dict[str, str]:
    env = {
        "SORABOX_TELEGRAM_TOKEN": server.token,
        "SORABOX_TELEGRAM_BASE_URL": server.base_url,
        "SORABOX_TELEGRAM_BASE_FILE_URL": server.base_file_url,
        "SORABOX_TELEGRAM_POLL_TIMEOUT": "1",
        "SORABOX_TELEGRAM_EDIT_INTERVAL": "0.15",
        "SORABOX_TELEGRAM_CHAT_ACTION_INTERVAL": "0.3",
        "SORABOX_TELEGRAM_OUTBOX_POLL": "0.2",
        "SORABOX_TELEGRAM_RETRY_BASE": "0.1",
        "SORABOX_PUBLIC_URL": "https://sora.example.org",
    }
    env.update({f"SORABOX_TELEGRAM_{k.upper()}": v for k, v in overrides.items()})
    return env


@asynccontextmanager
async def running_adapter(core: Sorabox, server: FakeTelegram, **overrides: str) -> AsyncIterator[TelegramAdapter]:
    settings = TelegramSettings.from_env(adapter_env(server, **overrides))
    assert settings is not None
    adapter = TelegramAdapter(core, settings)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()


@asynccontextmanager
async def world(
    tmp_path: Path, generator: object | None = None, server: FakeTelegram | None = None, **overrides: str
) -> AsyncIterator[tuple[Sorabox, FakeTelegram, TelegramAdapter]]:
    server = server or FakeTelegram()
    await server.start()
    try:
        async with (
            running_core(tmp_path, generator or ToneGenerator(steps=4, step_seconds=0.05)) as core,
            running_adapter(core, server, **overrides) as adapter,
        ):
            yield core, server, adapter
    finally:
        await server.stop()
    if server.server_errors:
        raise server.server_errors[0]


def videos(server: FakeTelegram, chat: FakeChat, thread_id: int | None = None) -> list[Message]:
    return [m for m in server.bot_messages(chat, thread_id=thread_id) if "video" in m]


def replies_to(server: FakeTelegram, chat: FakeChat, message: Message) -> list[Message]:
    return [
        m for m in server.bot_messages(chat) if m.get("reply_to_message", {}).get("message_id") == message["message_id"]
    ]


async def reply_text(server: FakeTelegram, chat: FakeChat, message: Message, contains: str = "") -> str:
    found = await server.wait_for(
        lambda: [m for m in replies_to(server, chat, message) if contains in m.get("text", "")], within=10
    )
    return str(found[0]["text"])


async def clip_in(
    server: FakeTelegram, chat: FakeChat, count: int = 1, thread_id: int | None = None, within: float = 20
) -> list[Message]:
    return await server.wait_for(
        lambda: (found := videos(server, chat, thread_id)) and len(found) >= count and found, within=within
    )


def button_data(message: Message, label: str) -> str:
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    return next(str(b["callback_data"]) for b in buttons if b["text"] == label)


def clip_id_of(message: Message) -> str:
    return button_data(message, "Remix").split(":")[1]
