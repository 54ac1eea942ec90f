"""Receiving Telegram updates so that a crash loses none.

Telegram counts an update as delivered once a later `getUpdates` carries a higher offset, and python-telegram-bot's
own updater asks for the next batch while the last is still being handled: a kill in that window lost the command.
Here each batch is written to the core's inbox first, and only then confirmed by the next offset; a webhook update is
written before its 200. Each update is handled (a job, or a refusal) and then marked handled; at start, whatever a
crash cut off is handled again. Jobs carry their request's key, so an update handled twice still makes one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bots.common.outbox import Backoff
from bots.telegrambot.waits import retry_seconds
from core.inbox import Inbox

log = logging.getLogger(__name__)

PLATFORM = "telegram"


def request_key(update: Update) -> str:
    return f"update:{update.update_id}"


class DurableUpdates:
    """Polls (or takes webhook posts), keeps each update in the inbox, then hands it to `handle` once per start."""

    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        handle: Callable[[Update], Awaitable[None]],
        *,
        poll_timeout: float,
        allowed_updates: list[str],
        retry_base: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self.bot = bot
        self.inbox = inbox
        self.handle = handle
        self.poll_timeout = poll_timeout
        self.allowed_updates = allowed_updates
        self.backoff = Backoff(retry_base, retry_max)
        self._handling: set[asyncio.Task[None]] = set()

    async def replay(self) -> int:
        """Handle what was received but not handled before the last stop or crash; returns how many."""
        items = await self.inbox.unhandled(PLATFORM)
        for item in items:
            try:
                update = Update.de_json(json.loads(item.payload), self.bot)
            except (ValueError, KeyError, TypeError):
                log.warning("telegram: inbox row %s is not an update; dropped", item.request_key)
                await self.inbox.handled(PLATFORM, item.request_key)
                continue
            self._spawn(update)
        if items:
            log.info("telegram: handling %d update(s) received before the last stop", len(items))
        with contextlib.suppress(Exception):
            await self.inbox.forget_old()
        return len(items)

    async def receive(self, updates: list[Update]) -> None:
        """Keep a batch durably, then start handling the updates not seen before."""
        rows = [(request_key(u), json.dumps(u.to_dict())) for u in updates]
        new = set(await self.inbox.receive(PLATFORM, rows))
        for update in updates:
            if request_key(update) in new:
                self._spawn(update)

    async def poll(self) -> None:
        """Long-poll getUpdates until cancelled. The offset moves past a batch only after the batch is kept."""
        offset: int | None = None
        failures = 0
        try:  # getUpdates answers 409 while a webhook is set
            await self.bot.delete_webhook(drop_pending_updates=False)
        except InvalidToken:
            raise
        except TelegramError as exc:
            log.info("telegram: deleteWebhook failed (%s); polling anyway", exc)
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=int(self.poll_timeout),
                    allowed_updates=self.allowed_updates,
                    read_timeout=self.poll_timeout + 10,
                )
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except InvalidToken:
                raise
            except TelegramError as exc:
                # Network trouble, a 409 while another poll or a webhook lingers, an answer that would not parse:
                # wait and poll again, never let receiving stop.
                failures += 1
                delay = self.backoff.after(failures)
                log.info("telegram: getUpdates failed (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if not updates:
                continue
            await self.receive(list(updates))
            offset = updates[-1].update_id + 1

    async def drain(self, within: float) -> None:
        """Wait (up to `within` seconds) for the updates being handled; what is cut off stays in the inbox."""
        if self._handling:
            await asyncio.wait(set(self._handling), timeout=within)

    def _spawn(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"telegram-update-{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update: Update) -> None:
        try:
            await self.handle(update)
        except Exception:
            # The application's error handler has had its say; a handler that fails must not come back at every start.
            log.exception("telegram: handling update %s failed", update.update_id)
        await self.inbox.handled(PLATFORM, request_key(update))
