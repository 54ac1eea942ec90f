"""Fan-out of live updates to the browsers watching each thread (one queue per open event stream)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

# A browser that stops reading loses live updates past this many; it catches up from history on reconnect.
QUEUE_SIZE = 500


class LiveHub:
    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = defaultdict(set)
        self._closed = False

    def join(self, thread_id: str) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        if self._closed:
            queue.put_nowait(None)
        self._watchers[thread_id].add(queue)
        return queue

    def leave(self, thread_id: str, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        watchers = self._watchers.get(thread_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[thread_id]

    def publish(self, thread_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._watchers.get(thread_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                pass

    def watchers(self, thread_id: str) -> int:
        return len(self._watchers.get(thread_id, ()))

    def close(self) -> None:
        """End every open stream (the service is stopping)."""
        self._closed = True
        for queues in self._watchers.values():
            for queue in queues:
                try:
                    queue.put_nowait(None)
                except asyncio.QueueFull:
                    queue.get_nowait()
                    queue.put_nowait(None)

    def reopen(self) -> None:
        self._closed = False
