"""Generation on a Ray Serve cluster (`SORABOX_EXECUTOR=ray`): the service side.

The service keeps its fair queue: `capacity` is the number of live replicas, and each `run` sends one
request to one replica (`model.ray_deployment`, `max_ongoing_requests=1`), so Ray's queue stays empty.

Ray runs in a child process, the bridge, never in the service's own process: a Ray driver whose
cluster goes away is terminated by Ray itself after a minute, and the bots must outlive the cluster.
The bridge connects, deploys or attaches to the Serve application, sends requests, forwards step
events from the job board, and retries a request once when its replica dies. When the cluster is out
of reach the bridge exits; `capacity` drops to 0 so jobs wait in the queue (a job caught mid-flight
raises ExecutorUnavailable and goes back to it), and a new bridge tries again every few seconds.

Ray is imported only inside the bridge, so `core` stays importable without the [ray] extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from core.execution.local import Availability, ExecutorUnavailable
from core.execution.ray_bridge import bridge_main
from core.execution.ray_wire import PROGRESS_POLL_SECONDS, RayConfig
from core.settings import Settings
from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest, ProgressCallback

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One request to one replica, as the service saw it: for `sorabox ray status`, tests and the benchmark."""

    key: str
    prompt: str
    pid: int = 0
    replica: str = ""
    outcome: str = ""
    # Wall-clock seconds on the replica's machine.
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass
class _Pending:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[str, Any]]
    progress: ProgressCallback
    prompt: str


class RayExecutor:
    """An Executor whose replicas live on a Ray Serve cluster; see the module docstring."""

    def __init__(self, config: RayConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._connected = False
        self._replicas = 0
        self._backend = config.backend
        self._error: str | None = None
        # When `_connected` last changed (the start until the first connection): /healthz says "since".
        self._since = datetime.now(UTC)
        self._pending: dict[str, _Pending] = {}
        self._attempts: deque[Attempt] = deque(maxlen=200)
        self._conn: Connection | None = None
        self._process: Any = None
        self._closed = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="sorabox-ray", daemon=True)
        self._supervisor.start()

    @classmethod
    def from_settings(cls, settings: Settings) -> RayExecutor:
        return cls(RayConfig.from_settings(settings))

    # -- the Executor protocol --------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._replicas if self._connected else 0

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def availability(self) -> Availability:
        reason = None
        if not self._connected:
            reason = self._error or f"connecting to the Ray cluster at {self.config.address}"
        return Availability("ray", self._connected, self._since, self.capacity, reason)

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        if not self._connected:
            raise ExecutorUnavailable(self._error or f"not connected to the Ray cluster at {self.config.address} yet")
        loop = asyncio.get_running_loop()
        key = uuid.uuid4().hex
        pending = _Pending(loop, loop.create_future(), progress, request.prompt)
        with self._lock:
            self._pending[key] = pending
        cancel_sent = False
        try:
            await asyncio.to_thread(self._send, ("run", key, request))
            # The core cancels through its token; the replica only hears of it through the board.
            while not pending.future.done():
                await asyncio.wait({pending.future}, timeout=PROGRESS_POLL_SECONDS)
                if cancel.cancelled and not cancel_sent:
                    cancel_sent = True
                    with contextlib.suppress(ExecutorUnavailable):  # then the result says "unavailable"
                        self._send(("cancel", key, cancel.reason))
            outcome, payload = pending.future.result()
        except asyncio.CancelledError:
            if not cancel_sent:
                with contextlib.suppress(ExecutorUnavailable):
                    self._send(("cancel", key, "cancelled"))
            raise
        finally:
            with self._lock:
                self._pending.pop(key, None)
        if outcome == "done":
            shared, backend = payload
            self._backend = backend or self._backend
            return await asyncio.to_thread(shared.take)
        if outcome == "cancelled" or (outcome == "unavailable" and cancel.cancelled):
            # A job cancelled while the cluster went away ends cancelled (or requeued, for a shutdown) all the same.
            raise GenerationCancelled(cancel.reason if outcome == "unavailable" else payload or cancel.reason)
        if outcome == "failed":
            raise GenerationError(payload)
        if outcome == "unavailable":
            raise ExecutorUnavailable(payload)
        raise RuntimeError(f"the Ray replica failed: {payload}")

    async def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(ExecutorUnavailable):
            self._send(("stop",))
        await asyncio.to_thread(self._supervisor.join, 10)
        process = self._process
        if self._supervisor.is_alive() and process is not None and process.is_alive():
            # Still connecting or deploying (a model can take minutes to load): it reads no messages yet.
            process.kill()
            await asyncio.to_thread(self._supervisor.join, 10)

    # -- what operators and tests can look at -----------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def error(self) -> str | None:
        """Why the cluster is out of reach, or None while it is connected."""
        return self._error

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    # -- the bridge process -----------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            conn = self._conn
            if conn is None:
                raise ExecutorUnavailable(self._error or "the Ray bridge is not running")
            try:
                conn.send(message)
            except (OSError, ValueError) as exc:
                raise ExecutorUnavailable(f"lost the Ray bridge: {exc}") from exc

    def _supervise(self) -> None:
        """Keep one bridge process running; after it exits, wait `retry_seconds` and start another."""
        context = multiprocessing.get_context("spawn")
        while not self._closed.is_set():
            parent, child = context.Pipe()
            process = context.Process(
                target=bridge_main, args=(child, self.config), name="sorabox-ray-bridge", daemon=True
            )
            process.start()
            child.close()
            with self._send_lock:
                self._conn, self._process = parent, process
            reason = self._read(parent)
            with self._send_lock:
                self._conn = None
            self._went_down(reason)
            parent.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
            self._closed.wait(self.config.retry_seconds)

    def _read(self, conn: Connection) -> str:
        """Handle the bridge's messages until it exits; returns why it did."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return "the Ray bridge process exited"
            kind = message[0]
            if kind == "ready":
                _, replicas, backend = message
                self._replicas = replicas
                self._set_connected(True)
                if backend:
                    self._backend = backend
                if self._error is not None:
                    log.warning("reached the Ray cluster at %s again", self.config.address)
                self._error = None
                log.info("connected to the Ray cluster at %s: %d replica(s)", self.config.address, replicas)
            elif kind == "replicas":
                self._replicas = message[1]
                if self._replicas == 0:
                    log.warning("no replica of the Ray application is running (%s); jobs wait", message[2])
                else:
                    log.info("%d replica(s) of the Ray application running", self._replicas)
            elif kind == "events":
                self._dispatch_events(message[1])
            elif kind == "result":
                _, key, outcome, payload, attempt = message
                self._resolve(key, outcome, payload, attempt)
            elif kind == "down":
                return str(message[1])

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected:
            self._since = datetime.now(UTC)
        self._connected = connected

    def _went_down(self, reason: str) -> None:
        self._set_connected(False)
        self._replicas = 0
        if self._closed.is_set():
            reason = "the service is stopping"
        elif reason != self._error:
            log.error(
                "the Ray cluster is out of reach: %s; jobs wait in the queue, trying again every %.0f s",
                reason,
                self.config.retry_seconds,
            )
        self._error = reason
        with self._lock:
            keys = list(self._pending)
        for key in keys:
            self._resolve(key, "unavailable", reason, None)

    def _dispatch_events(self, events: dict[str, list[tuple[Any, ...]]]) -> None:
        for key, items in events.items():
            with self._lock:
                pending = self._pending.get(key)
            if pending is None or pending.future.done():
                continue  # a finished job's late event
            for item in items:
                if item[0] == "progress":
                    _, step, total, stage = item
                    pending.progress(step, total, stage)
                elif item[0] == "started":
                    with self._lock:
                        self._attempts.append(Attempt(key, pending.prompt, pid=item[1], replica=item[2]))

    def _resolve(self, key: str, outcome: str, payload: Any, attempt: dict[str, Any] | None) -> None:
        with self._lock:
            pending = self._pending.get(key)
            if attempt is not None:
                for record in reversed(self._attempts):
                    if record.key == key and record.pid == attempt["pid"]:
                        record.outcome = outcome
                        record.started_at, record.finished_at = attempt["started_at"], attempt["finished_at"]
                        break
        shared = payload[0] if outcome == "done" else None
        if pending is None:
            if shared is not None:
                shared.discard()
            return

        def settle() -> None:
            if not pending.future.done():
                pending.future.set_result((outcome, payload))
            elif shared is not None:
                shared.discard()

        try:
            pending.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop already closed: nobody waits
            if shared is not None:
                shared.discard()


def with_address(config: RayConfig, address: str) -> RayConfig:
    """The same configuration aimed at another cluster."""
    return replace(config, address=address)


def wait_connected(executor: RayExecutor, timeout: float) -> bool:
    """Block until the executor reaches its cluster (for the CLI and the benchmark)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if executor.connected:
            return True
        time.sleep(0.1)
    return executor.connected
