"""The one event dispatcher: the core's events, filtered to one platform, handed to an adapter's small hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.events import ClipDeleted, DeliveriesPending, JobEvent, Subscription

log = logging.getLogger(__name__)

Hook = Callable[[Any], Awaitable[None]]


class EventDispatch:
    """`DeliveriesPending` for this platform wakes the delivery worker, `ClipDeleted` goes to `clip_deleted`, and a
    job event of this platform goes to the hook of its type (the most specific registered class wins, so one hook
    on `JobEvent` takes them all)."""

    def __init__(
        self,
        platform: str,
        *,
        deliveries_pending: Callable[[], None],
        clip_deleted: Callable[[ClipDeleted], Awaitable[None]],
        job_hooks: Mapping[type[JobEvent], Hook],
    ) -> None:
        self.platform = platform
        self._deliveries_pending = deliveries_pending
        self._clip_deleted = clip_deleted
        self._job_hooks = dict(job_hooks)

    async def handle(self, event: object) -> None:
        if isinstance(event, DeliveriesPending):
            if event.platform == self.platform:
                self._deliveries_pending()
        elif isinstance(event, ClipDeleted):
            await self._clip_deleted(event)
        elif isinstance(event, JobEvent) and event.place.platform == self.platform:
            for cls in type(event).__mro__:
                hook = self._job_hooks.get(cls)
                if hook is not None:
                    await hook(event)
                    return

    async def run(self, subscription: Subscription) -> None:
        """Handle every event of a bus subscription; one that fails is logged, and the next one handled."""
        try:
            async for event in subscription:
                try:
                    await self.handle(event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: handling %r failed", self.platform, event)
        finally:
            subscription.close()
