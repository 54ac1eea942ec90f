"""The one delivery worker: claims a platform's outbox rows, has the adapter post each one, records the result.

The schedule lives in the core's `deliveries` rows (attempts, next_attempt_at, in_doubt), so it survives a restart;
the worker only computes the next wait (`Backoff`) and wakes itself when it is due. No retry library: tenacity or
backoff would retry inside this process, holding the claim, and forget the schedule on a restart.

An adapter gives a `DeliveryTarget`: `post()` and the sorting of its platform's errors into `Retry` (with an
optional wait and whether the post may have landed anyway) or `Final`. A delivery whose earlier attempt may have
landed is first looked for (`earlier_post`), so nothing is posted twice where the platform lets us look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from core.identity import Place
from core.records import Delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    """Where a delivery landed: the message, the thread opened for it, or a place other than its destination."""

    message_id: str
    thread_id: str | None = None
    posted_to: Place | None = None


@dataclass(frozen=True)
class Retry:
    """Try again: after `after` seconds (the platform said so), else after the worker's backoff."""

    error: str
    after: float | None = None
    # The request went out and its answer was lost (timeout, cut connection, 5xx): the post may be there.
    may_have_posted: bool = False


@dataclass(frozen=True)
class Final:
    """The platform refused the post for good (no such chat, no permission, a malformed request)."""

    error: str


Failure = Retry | Final


class Undeliverable(Exception):
    """Raised by a `post()` that finds it can never post this delivery (a destination of another shape)."""


@dataclass(frozen=True)
class Backoff:
    """Seconds before the next attempt after `attempts` tries: base, doubled per try, at most `longest`."""

    base: float
    longest: float

    def after(self, attempts: int) -> float:
        return min(self.longest, self.base * 2 ** max(0, attempts - 1))


class DeliveryTarget(Protocol):
    """What an adapter gives the worker: only what is its platform's."""

    async def post(self, delivery: Delivery) -> Posted:
        """Post the delivery (a clip or a notice); raise the platform's error when it fails."""

    def classify(self, exc: Exception) -> Failure | None:
        """Sort a failure of `post()` (or `earlier_post()`): None for an error the adapter does not know."""

    async def earlier_post(self, delivery: Delivery) -> Posted | None:
        """The post an earlier, unconfirmed attempt made, if the platform lets us find it; else None."""

    async def after_sent(self, delivery: Delivery, posted: Posted) -> None:
        """Anything to do once the core has recorded the post (show it live, forget caches)."""


class OutboxCore(Protocol):
    """The part of the core's API the worker uses (docs/CORE_API.md, "Deliveries")."""

    async def claim_deliveries(self, platform: str, limit: int = 10) -> list[Delivery]: ...
    async def delivery_posting(self, delivery_id: int) -> None: ...
    async def delivery_sent(
        self, delivery_id: int, message_id: str, thread_id: str | None = None, *, posted_to: Place | None = None
    ) -> None: ...
    async def delivery_failed(
        self, delivery_id: int, error: str, retry_in: float | None, *, may_have_posted: bool = False
    ) -> None: ...


class DeliveryWorker:
    """Posts one platform's deliveries: `start()`, `wake()` when the core says some are pending, `stop()`."""

    def __init__(
        self,
        core: OutboxCore,
        platform: str,
        target: DeliveryTarget,
        *,
        backoff: Backoff,
        poll_seconds: float,
        batch: int = 10,
        look_for_earlier: Literal["in_doubt", "always"] = "in_doubt",
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`batch`: rows claimed at once (1 leaves nothing claimed and hidden when the adapter stops between posts).
        `look_for_earlier`: "always" where looking is a cheap local query, so even a post the core does not know
        to doubt is never repeated. `ready`: returns once the adapter can post (its client connected)."""
        self.core = core
        self.platform = platform
        self.target = target
        self.backoff = backoff
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.look_for_earlier = look_for_earlier
        self._ready = ready
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    def start(self) -> None:
        self._stopping.clear()
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name=f"{self.platform}-deliveries")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop posting. With a `grace`, a post in flight may finish first: cut between posting and delivery_sent,
        the next start would have to find the post (and may not be able to)."""
        self._stopping.set()
        self._wake.set()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        task, self._task = self._task, None
        if task is None:
            return
        if grace > 0:
            await asyncio.wait({task}, timeout=grace)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    def wake(self) -> None:
        """Deliveries are pending (the core said so): look now rather than at the next poll."""
        self._wake.set()

    def wake_in(self, seconds: float) -> None:
        """Look again in `seconds` (when a retry falls due), not only at the next poll."""

        def fire() -> None:
            self._timers.discard(timer)
            self._wake.set()

        timer = asyncio.get_running_loop().call_later(seconds, fire)
        self._timers.add(timer)

    async def _run(self) -> None:
        if self._ready is not None:
            ready = asyncio.ensure_future(self._ready())
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            stopping.cancel()
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: delivery round failed; trying again shortly", self.platform)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def deliver_pending(self) -> int:
        """Post every due delivery; returns how many were posted."""
        posted = 0
        while not self._stopping.is_set():
            batch = await self.core.claim_deliveries(self.platform, limit=self.batch)
            for delivery in batch:
                posted += await self.deliver(delivery)
            if len(batch) < self.batch:
                break
        return posted

    async def deliver(self, delivery: Delivery) -> bool:
        """Post one claimed row and record what happened; True when this call posted it."""
        try:
            if delivery.may_have_posted or self.look_for_earlier == "always":
                earlier = await self.target.earlier_post(delivery)
                if earlier is not None:
                    log.info(
                        "%s: delivery %s was posted before as %s; recording it",
                        self.platform,
                        delivery.id,
                        earlier.message_id,
                    )
                    await self._sent(delivery, earlier)
                    return False
            await self.core.delivery_posting(delivery.id)
            posted = await self.target.post(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(delivery, exc)
            return False
        await self._sent(delivery, posted)
        await self.target.after_sent(delivery, posted)
        return True

    async def _sent(self, delivery: Delivery, posted: Posted) -> None:
        await self.core.delivery_sent(delivery.id, posted.message_id, posted.thread_id, posted_to=posted.posted_to)

    async def _failed(self, delivery: Delivery, exc: Exception) -> None:
        failure = Final(str(exc)) if isinstance(exc, Undeliverable) else self.target.classify(exc)
        if failure is None:
            log.exception("%s: delivery %s failed", self.platform, delivery.id, exc_info=exc)
            failure = Retry(f"adapter error: {exc!r}")
        if isinstance(failure, Final):
            log.warning("%s: delivery %s cannot be posted: %s", self.platform, delivery.id, failure.error)
            await self.core.delivery_failed(delivery.id, failure.error, None)
            return
        wait = failure.after if failure.after is not None else self.backoff.after(delivery.attempts)
        log.info("%s: delivery %s failed (%s); next try in %.1f s", self.platform, delivery.id, failure.error, wait)
        await self.core.delivery_failed(delivery.id, failure.error, wait, may_have_posted=failure.may_have_posted)
        self.wake_in(wait + 0.05)
