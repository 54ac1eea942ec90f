"""`sorabox serve`: the core, the web server and every adapter whose token is configured, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Protocol, TextIO

from aiohttp import web

from bots.composition import build_core
from bots.web import WebConsole
from core.service import Sorabox
from core.settings import Settings, SettingsError

log = logging.getLogger("sorabox.serve")


class Adapter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_adapters(core: Sorabox, settings: Settings, app: web.Application) -> tuple[list[Adapter], WebConsole]:
    """Every adapter the settings enable; the web console is always on."""
    adapters: list[Adapter] = []
    console = WebConsole(core, settings)
    console.setup(app)
    adapters.append(console)

    def media_url(clip_id: str) -> str:
        # Chat platforms fetch and show links long after posting: a month before they expire.
        return console.media_url(clip_id, expires_in=30 * 86400)

    if settings.environ.get("SORABOX_TELEGRAM_TOKEN"):
        from bots.telegrambot import TelegramAdapter, TelegramSettings

        telegram_settings = TelegramSettings.from_env(settings.environ)
        if telegram_settings is not None:
            telegram = TelegramAdapter(core, telegram_settings, media_url=media_url)
            if hasattr(telegram, "setup_webhook"):
                telegram.setup_webhook(app)
            adapters.append(telegram)
    if settings.environ.get("SORABOX_DISCORD_TOKEN"):
        from bots.discordbot import DiscordAdapter, DiscordSettings

        discord_settings = DiscordSettings.from_env(settings.environ)
        if discord_settings is not None:
            adapters.append(DiscordAdapter(core, discord_settings, media_url=media_url))
    return adapters, console


async def run_service(
    settings: Settings,
    stop: asyncio.Event,
    out: TextIO | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Run until `stop` is set; returns the process exit code."""
    # Looked up per call, not bound as a default at import: the stream in place then may be closed by now
    # (a test harness swaps sys.stdout per test), which once failed a start with "I/O operation on closed file".
    out = out if out is not None else sys.stdout
    # With its features: cameo commands, consent checks, the watermark and (when configured) C2PA signing.
    parts = build_core(settings, features=True)
    core = parts.core
    app = web.Application(client_max_size=64 * 1024 * 1024)
    try:
        adapters, console = build_adapters(core, settings, app)
        _ = console.signer  # the signing key now: a bad key file stops the start, not a member's first request
    except BaseException:
        # A bad adapter setting: close what was opened, so the error reaches the operator alone.
        await parts.close()
        raise
    runner = web.AppRunner(app, handle_signals=False)
    await core.start()
    started: list[Adapter] = []
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            raise SettingsError(
                f"cannot listen on {settings.web_host}:{settings.web_port} ({exc.strerror or exc}); "
                "set SORABOX_WEB_PORT to a free port"
            ) from exc
        port = runner.addresses[0][1] if runner.addresses else settings.web_port
        address = settings.public_url or f"http://{settings.web_host}:{port}"
        console.set_base_url(address)
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
        _tell(out, f"sorabox is serving on {address} (backend: {core.executor.backend})")
        notice = await console.first_start_notice()
        if notice:
            _tell(out, notice)
        if on_ready is not None:
            on_ready(address)
        await stop.wait()
        _tell(out, "shutting down: running jobs go back to the queue")
    finally:
        for adapter in reversed(started):
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping %s failed", type(adapter).__name__)
        await core.stop()
        await runner.cleanup()
        await parts.close()
    return 0


def _tell(out: TextIO, line: str) -> None:
    """Print a status line for the operator; a closed stdout (a detached terminal) must not stop the service."""
    try:
        out.write(line + "\n")
        out.flush()
    except (ValueError, OSError):
        log.info("%s", line)


def serve(settings: Settings) -> int:
    """Blocking entry point: SIGINT and SIGTERM stop the service cleanly with exit code 0."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await run_service(settings, stop)

    return asyncio.run(main())
