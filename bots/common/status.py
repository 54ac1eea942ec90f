"""The job-status tracker every adapter shares: which job has a status message (or other live view) here, the
latest event of each job, and the adoption of jobs nobody claims.

A job's status is claimed by the answer to the command that admitted it. Events can arrive before that answer is
sent (they are kept: `latest`), and a job admitted before a restart has no answer at all: once `grace` has passed
without a claim, and unless the job has ended, the adapter's `adopt` hook gives it a status message of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, Generic, TypeVar

from core.events import JobCancelled, JobDone, JobEvent, JobFailed

log = logging.getLogger(__name__)

S = TypeVar("S")
# Latest event per job, kept for jobs whose status is claimed after their first events arrived.
RECENT_EVENTS = 512
FINAL_EVENTS = (JobDone, JobFailed, JobCancelled)


def is_final(event: JobEvent) -> bool:
    """Whether the job ended with this event (nothing more will be said about it)."""
    return isinstance(event, FINAL_EVENTS)


class JobStatuses(Generic[S]):
    """Status per job (`S` is the adapter's own record of its status message), latest events, orphan adoption."""

    def __init__(
        self,
        *,
        grace: float | None = None,
        adopt: Callable[[JobEvent], Awaitable[None]] | None = None,
        spawn: Callable[[Coroutine[Any, Any, None], str], object] | None = None,
        memory: int = RECENT_EVENTS,
    ) -> None:
        """`adopt(latest_event)` is called for a job seen without a claim `grace` seconds after its first unclaimed
        event, in a task started with `spawn(coroutine, name)`; without `adopt`, nothing is adopted."""
        self._grace = grace or 0.0
        self._adopt = adopt
        self._spawn = spawn or (lambda coro, name: asyncio.create_task(coro, name=name))
        self._memory = memory
        self._claimed: dict[str, S] = {}
        self._latest: OrderedDict[str, JobEvent] = OrderedDict()
        self._adopting: set[str] = set()

    def claim(self, job_id: str, status: S) -> None:
        """`status` shows this job from now on (and the job is not mistaken for one to adopt)."""
        self._claimed[job_id] = status

    def get(self, job_id: str) -> S | None:
        return self._claimed.get(job_id)

    def release(self, job_id: str, status: S | None = None) -> None:
        """Forget the job's status (only if it is still `status`, when given)."""
        if status is None or self._claimed.get(job_id) is status:
            self._claimed.pop(job_id, None)

    def __iter__(self) -> Iterator[S]:
        return iter(list(self._claimed.values()))

    def latest(self, job_id: str) -> JobEvent | None:
        return self._latest.get(job_id)

    def seen(self, event: JobEvent) -> S | None:
        """Record a job's event; returns the status that shows it, or None (then adoption may start)."""
        self._latest[event.job_id] = event
        self._latest.move_to_end(event.job_id)
        while len(self._latest) > self._memory:
            self._latest.popitem(last=False)
        status = self._claimed.get(event.job_id)
        if status is None and self._adopt is not None and not is_final(event) and event.job_id not in self._adopting:
            self._adopting.add(event.job_id)
            self._spawn(self._adopt_after_grace(event), f"adopt-{event.job_id}")
        return status

    async def _adopt_after_grace(self, event: JobEvent) -> None:
        job_id = event.job_id
        try:
            await asyncio.sleep(self._grace)
            latest = self._latest.get(job_id, event)
            if job_id in self._claimed or is_final(latest):
                return  # claimed by the answer that admitted it, or ended meanwhile (the post says it all)
            assert self._adopt is not None
            await self._adopt(latest)
        finally:
            self._adopting.discard(job_id)
