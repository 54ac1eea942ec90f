"""How long Telegram asks a bot to wait after a 429."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import RetryAfter


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds (python-telegram-bot is moving it from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
