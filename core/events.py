"""What happens to jobs and clips, published to every adapter that subscribes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from core.identity import Place


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    place: Place  # where the job was requested; adapters route by place.platform
    requester_id: str  # the requester's platform user id


@dataclass(frozen=True)
class JobQueued(JobEvent):
    position: int  # 1 = next to run
    estimate_seconds: float


@dataclass(frozen=True)
class JobStarted(JobEvent):
    estimate_seconds: float


@dataclass(frozen=True)
class JobProgress(JobEvent):
    step: int
    total: int
    stage: str  # generating | encoding
    eta_seconds: float


@dataclass(frozen=True)
class JobDone(JobEvent):
    clip_id: str


@dataclass(frozen=True)
class JobFailed(JobEvent):
    reason: str


@dataclass(frozen=True)
class JobCancelled(JobEvent):
    reason: str


@dataclass(frozen=True)
class DeliveriesPending:
    """New outbox rows for this platform: its adapter should fetch and post them."""

    platform: str


@dataclass(frozen=True)
class PostRef:
    """A message the service posted somewhere (so it can be linked to or removed)."""

    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class ClipDeleted:
    """A clip was deleted: each adapter removes its posted messages of it."""

    clip_id: str
    posts: tuple[PostRef, ...]


Event = JobEvent | DeliveriesPending | ClipDeleted


class Subscription:
    """An async iterator over events; events that arrive while nobody reads wait in a bounded queue."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Fan-out of events to subscribers; publishing never blocks the publisher."""

    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                # A stalled subscriber loses progress events, never deliveries: those live in the outbox.
                subscription.dropped += 1
