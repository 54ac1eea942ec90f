"""The Telegram adapter: `TelegramAdapter(core, TelegramSettings.from_env(environ))`."""

from bots.telegrambot.adapter import TelegramAdapter
from bots.telegrambot.settings import TelegramSettings, TelegramSettingsError

__all__ = ["TelegramAdapter", "TelegramSettings", "TelegramSettingsError"]
