"""Where generation runs: a worker thread on this machine, or (see the Ray issue) a cluster."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from model.generator import CancelToken, Clip, GenerationRequest, Generator, ProgressCallback


class ExecutorUnavailable(Exception):
    """The executor cannot run jobs right now (its cluster is out of reach); the job goes back to the queue."""


@dataclass(frozen=True)
class Availability:
    """Whether the executor can make clips now: what /healthz and /metrics tell operators.

    Without it an unreachable cluster shows only as jobs that wait and a line in the log.
    """

    kind: str  # "local" (this process) or "ray" (a cluster)
    reachable: bool  # its workers can be reached
    since: datetime  # when `reachable` last changed; the executor's start when it never did
    workers: int = 0  # jobs it can run at once right now (its capacity)
    reason: str | None = None  # why it is out of reach, while it is

    @property
    def up(self) -> bool:
        """Whether a job would start now: reachable and with at least one worker."""
        return self.reachable and self.workers > 0


class Executor(Protocol):
    """Runs `Generator.generate` somewhere else than the event loop."""

    @property
    def capacity(self) -> int:
        """How many jobs may run at once; 0 while nothing can run (they wait in the queue)."""
        ...

    @property
    def backend(self) -> str:
        """The generator's name, recorded with each clip."""
        ...

    @property
    def availability(self) -> Availability:
        """Whether it can generate now, and since when; read often, so it must not block."""
        ...

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        """Make the clip; raises ExecutorUnavailable when it cannot be made now but may be later."""
        ...

    async def close(self) -> None: ...


class LocalExecutor:
    """One generator in this process, run in worker threads (torch releases the GIL while it computes)."""

    def __init__(self, generator: Generator, workers: int = 1) -> None:
        self.generator = generator
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sorabox-gen")
        self._started = datetime.now(UTC)

    @property
    def capacity(self) -> int:
        return self._workers

    @property
    def backend(self) -> str:
        return self.generator.name

    @property
    def availability(self) -> Availability:
        # Its workers are threads of this process: up for as long as the process is.
        return Availability("local", True, self._started, self._workers)

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.generator.generate, request, progress, cancel)

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True)
