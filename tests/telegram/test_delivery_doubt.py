"""Which failed Bot API calls may still have been carried out: only those whose whole request went out and whose
answer never came. The exceptions are built as python-telegram-bot raises them (`raise ... from httpx_error`)."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bots.telegrambot.delivery import may_have_reached_telegram


def raised(error: Exception, cause: BaseException | None) -> Exception:
    try:
        raise error from cause
    except Exception as exc:
        return exc


def json_error() -> json.JSONDecodeError:
    try:
        json.loads("<html>502 Bad Gateway</html>")
    except json.JSONDecodeError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "in_doubt"),
    [
        (raised(TimedOut(), httpx.ReadTimeout("read")), True),
        (raised(NetworkError("httpx.ReadError: reset"), httpx.ReadError("reset")), True),
        (raised(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("disconnected")), True),
        (raised(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")), False),
        (raised(TimedOut(), httpx.ConnectTimeout("connect")), False),
        (raised(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")), False),
        (raised(TimedOut(), httpx.WriteTimeout("write")), False),  # the request never fully arrived
        (raised(NetworkError("Bad Gateway (502). Parsing failed"), json_error()), False),  # Telegram answered
        (NetworkError("Internal Server Error"), False),
        (BadRequest("chat not found"), False),
        (RetryAfter(3), False),
    ],
)
def test_only_a_lost_answer_to_a_sent_request_leaves_the_post_in_doubt(error: Exception, in_doubt: bool) -> None:
    assert may_have_reached_telegram(error) is in_doubt
