"""Platform fault storms: a share of the bot's calls to the fake Telegram and Discord fail.

The fakes take faults for "the next call(s)" (telegram_server.Fault, discord_server's forced 429s and lost
answers). A storm watches the calls as they come and, for each one with probability `rate`, queues a fault for the
next call of the same kind, so about `rate` of all calls fail. The faults, in turn: 429 with retry_after, 500, 502,
a time-out or dropped connection (the call is carried out and its answer lost), and, for uploads, the answer to
the upload lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram

TELEGRAM_FAULTS = ("429", "500", "502", "lost")
DISCORD_FAULTS = ("429", "500", "502", "lost")
UPLOADS = {"sendvideo", "senddocument"}


class Storm:
    def __init__(self, telegram: FakeTelegram, discord: FakeDiscord, rate: float, *, seed: int = 1) -> None:
        self.telegram = telegram
        self.discord = discord
        self.rate = rate
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fault-storm")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # What is still queued must not outlive the storm.
        self.telegram.faults.clear()
        self.discord.forced_rate_limits.clear()
        self.discord.lost_responses.clear()

    async def _run(self) -> None:
        seen_tg, seen_dc = len(self.telegram.calls), len(self.discord.requests)
        while True:
            await asyncio.sleep(0.02)
            for call in self.telegram.calls[seen_tg:]:
                if call.method.lower() != "getupdates" and self.rng.random() < self.rate:
                    self._telegram_fault(call.method.lower())
            seen_tg = len(self.telegram.calls)
            for record in self.discord.requests[seen_dc:]:
                # The interaction callback (the deferral) is left alone: Discord's 3 s deadline is not the bot's
                # to recover from, and a deferral answered late is counted apart (not acknowledged), not lost.
                if "/callback" not in record.path and self.rng.random() < self.rate:
                    self._discord_fault(record.method, record.path)
            seen_dc = len(self.discord.requests)

    def _telegram_fault(self, method: str) -> None:
        kind = self.rng.choice(TELEGRAM_FAULTS)
        if kind == "lost" or (method in UPLOADS and self.rng.random() < 0.5):
            self.telegram.lose_answer(method)
            self.injected[f"telegram lost {method}"] += 1
        elif kind == "429":
            self.telegram.inject(method, 429, retry_after=1)
            self.injected["telegram 429"] += 1
        else:
            self.telegram.inject(method, int(kind))
            self.injected[f"telegram {kind}"] += 1

    def _discord_fault(self, method: str, path: str) -> None:
        kind = self.rng.choice(DISCORD_FAULTS)
        # The route's shape, ids replaced, so the fault meets the next call of the same kind.
        shape = "^" + "/".join(r"[^/]+" if part.isdigit() or len(part) > 40 else part for part in path.split("/")) + "$"
        if kind == "429":
            self.discord.rate_limit_next(method, shape, retry_after=0.5)
        elif kind == "lost":
            self.discord.lose_next_response(method, shape)
        else:
            self.discord.lose_next_response(method, shape, status=int(kind))
        self.injected[f"discord {kind}"] += 1
