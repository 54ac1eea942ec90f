"""Where generation runs: a worker thread on this machine, or (see the Ray issue) a cluster."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from model.generator import CancelToken, Clip, GenerationRequest, Generator, ProgressCallback


class ExecutorUnavailable(Exception):
    """The executor cannot run jobs right now (its cluster is out of reach); the job goes back to the queue."""


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

    @property
    def capacity(self) -> int:
        return self._workers

    @property
    def backend(self) -> str:
        return self.generator.name

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.generator.generate, request, progress, cancel)

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True)
