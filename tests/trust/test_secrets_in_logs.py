"""No configured secret reaches a log line: `sorabox serve` with every adapter, its logs read back whole."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bots.logs import MASK, configure_logging, mask_secrets, secrets_in
from bots.serve import run_service
from core.settings import Settings
from tests.fakes.discord_server import FakeDiscord, fake_discord
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server

__all__ = ["fake_discord", "no_real_network", "telegram_server"]

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "urllib3")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in chatty.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.parametrize("verbose", [False, True], ids=["info", "verbose"])
async def test_serve_with_every_adapter_logs_no_configured_secret(
    tmp_path: Path, telegram_server: FakeTelegram, fake_discord: FakeDiscord, restore_logging: None, verbose: bool
) -> None:
    port = free_port()
    env = {
        "SORABOX_DATA_DIR": str(tmp_path),
        "SORABOX_WEB_PORT": str(port),
        "SORABOX_BACKEND": "tests.support:ToneGenerator",
        "SORABOX_TELEGRAM_TOKEN": telegram_server.token,
        "SORABOX_TELEGRAM_BASE_URL": telegram_server.base_url,
        "SORABOX_TELEGRAM_POLL_TIMEOUT": "1",
        "SORABOX_DISCORD_TOKEN": fake_discord.token,
        "SORABOX_DISCORD_API_BASE": fake_discord.api_base,
        "SORABOX_DISCORD_GATEWAY_URL": fake_discord.gateway_url,
    }
    settings = Settings.from_env(env)
    logs = io.StringIO()
    configure_logging(settings.environ, verbose=verbose, stream=logs)
    stop, ready = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(run_service(settings, stop, io.StringIO(), lambda _: ready.set()))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await fake_discord.wait_ready(within=30)
        alice = telegram_server.add_user("Alice")
        group = telegram_server.add_group("Makers", [alice])
        telegram_server.send_text(group, alice, "/sora a red ball bounces")
        await telegram_server.wait_for(
            lambda: [m for m in telegram_server.bot_messages(group) if "video" in m], within=60
        )
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 30) == 0

    written = logs.getvalue()
    assert written, "serve logged nothing: the check below would prove nothing"
    for secret in (telegram_server.token, fake_discord.token):
        assert secret not in written
    if verbose:  # the request lines are there, with the token masked
        assert f"/bot{MASK}/getUpdates" in written


def test_a_token_is_masked_in_arguments_and_tracebacks() -> None:
    secret = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    from bots.logs import SecretMaskingFormatter

    handler.setFormatter(SecretMaskingFormatter(secrets_in({"SORABOX_TELEGRAM_TOKEN": secret})))
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST %s failed", f"https://api.telegram.org/bot{secret}/sendVideo")
        try:
            raise RuntimeError(f"bad URL https://api.telegram.org/bot{secret}/getMe")
        except RuntimeError:
            log.exception("it broke")
    finally:
        log.removeHandler(handler)
    written = logs.getvalue()
    assert secret not in written
    assert written.count(f"bot{MASK}/") == 2  # in the argument and in the traceback


def test_only_credential_variables_count_as_secrets_and_token_shapes_are_masked_anyway() -> None:
    env = {
        "SORABOX_TELEGRAM_TOKEN": "123456:" + "a" * 35,
        "SORABOX_TELEGRAM_WEBHOOK_SECRET": "s3cret-value",
        "SORABOX_WEB_PORT": "8080",
        "SORABOX_DATA_DIR": "/srv/sorabox",
    }
    assert set(secrets_in(env)) == {env["SORABOX_TELEGRAM_TOKEN"], "s3cret-value"}
    unconfigured = "987654321:" + "B" * 35
    assert mask_secrets(f"prompt was {unconfigured} and port 8080", []) == f"prompt was {MASK} and port 8080"
