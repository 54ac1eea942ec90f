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
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from core.execution.local import Availability, ExecutorUnavailable
from core.settings import Settings, SettingsError, env_float
from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest, ProgressCallback

log = logging.getLogger(__name__)

# How often the bridge collects step events from the board; progress must reach chats within a second.
PROGRESS_POLL_SECONDS = 0.1
# How often the bridge reads the replica count, which is also how it notices the cluster went away.
STATUS_POLL_SECONDS = 1.0
# A status call slower than this means the cluster is out of reach.
STATUS_TIMEOUT_SECONDS = 10.0
REPLICA_DIED = (
    "the cluster machine making this clip stopped, and so did the one it was retried on (a Ray replica died)"
)


@dataclass(frozen=True)
class RayConfig:
    """Where the cluster is and what to deploy on it; read from `SORABOX_RAY_*` settings."""

    address: str = "auto"
    backend: str = "procedural"
    model_dir: str | None = None
    # The model's own settings (SORABOX_DEVICE, SORABOX_LTX2_*...); chat tokens never leave the main box.
    model_environ: Mapping[str, str] = field(default_factory=dict)
    app_name: str = "sorabox"
    # None: one replica per GPU in the cluster (one when it has none).
    replicas: int | None = None
    cpus_per_replica: float = 1.0
    # Seconds between attempts to reach a cluster that is out of reach.
    retry_seconds: float = 5.0
    connect_timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RayConfig:
        env = settings.environ
        replicas_raw = env.get("SORABOX_RAY_REPLICAS", "")
        try:
            replicas = int(replicas_raw) if replicas_raw not in ("", "auto") else None
        except ValueError:
            raise SettingsError(f"SORABOX_RAY_REPLICAS must be a whole number or auto, got {replicas_raw!r}") from None
        if replicas is not None and replicas < 1:
            raise SettingsError(f"SORABOX_RAY_REPLICAS must be at least 1, got {replicas}")
        return cls(
            address=settings.ray_address,
            backend=settings.backend,
            model_dir=str(settings.model_dir) if settings.model_dir else None,
            model_environ=_model_environ(env),
            app_name=env.get("SORABOX_RAY_APP", "sorabox"),
            replicas=replicas,
            cpus_per_replica=env_float(env, "SORABOX_RAY_REPLICA_CPUS", 1.0, above=True),
            retry_seconds=env_float(env, "SORABOX_RAY_RETRY_SECONDS", 5.0, above=True),
        )


def _model_environ(environ: Mapping[str, str]) -> dict[str, str]:
    # The same filter as model.ray_deployment.model_environ, which cannot be imported without ray.
    keep = ("SORABOX_DEVICE", "SORABOX_BACKEND", "SORABOX_MODEL_DIR")
    return {k: v for k, v in environ.items() if k in keep or k.startswith(("SORABOX_LTX2_", "SORABOX_PROCEDURAL_"))}


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


@dataclass(frozen=True)
class SharedClip:
    """A clip whose arrays wait in a shared-memory block: the bridge and the service share a host, not a pickle."""

    name: str
    frames_shape: tuple[int, ...]
    audio_shape: tuple[int, ...]
    fps: float
    sample_rate: int
    state: dict[str, Any]
    metadata: dict[str, Any]

    @classmethod
    def put(cls, clip: Clip) -> SharedClip:
        """Copy the clip's arrays into a new block; `take` frees it."""
        frames = np.ascontiguousarray(clip.frames, dtype=np.uint8)
        audio = np.ascontiguousarray(clip.audio, dtype=np.float32)
        block = shared_memory.SharedMemory(create=True, size=max(1, frames.nbytes + audio.nbytes))
        # The service unlinks the block once it has its copy; this process must not unlink it on exit.
        resource_tracker.unregister(block._name, "shared_memory")  # type: ignore[attr-defined]
        try:
            np.ndarray(frames.shape, np.uint8, block.buf, 0)[...] = frames
            np.ndarray(audio.shape, np.float32, block.buf, frames.nbytes)[...] = audio
        finally:
            block.close()
        return cls(block.name, frames.shape, audio.shape, clip.fps, clip.sample_rate, clip.state, clip.metadata)

    def take(self) -> Clip:
        """The clip, copied out of the block, which is then freed."""
        block = shared_memory.SharedMemory(name=self.name)
        try:
            frames = np.ndarray(self.frames_shape, np.uint8, block.buf, 0).copy()
            offset = frames.nbytes
            audio = np.ndarray(self.audio_shape, np.float32, block.buf, offset).copy()
        finally:
            block.close()
            block.unlink()
        return Clip(frames, audio, self.fps, self.sample_rate, state=self.state, metadata=self.metadata)

    def discard(self) -> None:
        """Free the block of a clip nobody waits for any more."""
        with contextlib.suppress(FileNotFoundError):
            block = shared_memory.SharedMemory(name=self.name)
            block.close()
            block.unlink()


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
                target=_bridge_main, args=(child, self.config), name="sorabox-ray-bridge", daemon=True
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


# -- inside the bridge process ----------------------------------------------------------------------


def probe(address: str, timeout: float) -> None:
    """Fail fast with a clear message when nothing listens at a `host:port` or `ray://host:port` address."""
    if address == "auto" or address.startswith("local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(f"SORABOX_RAY_ADDRESS must be auto, host:port or ray://host:port, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Ray cluster at {address}: {exc}") from exc


def connect(address: str, timeout: float = 10.0) -> None:
    """`ray.init` against an existing cluster; never starts one of its own."""
    import ray

    probe(address, timeout)
    options: dict[str, Any] = {"namespace": "sorabox", "logging_level": logging.WARNING}
    if not address.startswith("ray://"):
        options["log_to_driver"] = False
        host = address.rpartition(":")[0]
        if host in ("127.0.0.1", "localhost"):
            # A loopback cluster (tests, one box): keep this driver on loopback too.
            options["_node_ip_address"] = "127.0.0.1"
    try:
        ray.init(address=address, **options)
    except Exception as exc:  # ConnectionError, RuntimeError, AuthenticationError...
        raise ConnectionError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc


def replica_spec(config: RayConfig) -> Any:
    from model.ray_deployment import ReplicaSpec

    return ReplicaSpec(
        backend=config.backend,
        environ=dict(config.model_environ),
        model_dir=config.model_dir,
        app_name=config.app_name,
        replicas=config.replicas,
        cpus_per_replica=config.cpus_per_replica,
    )


def _bridge_main(conn: Connection, config: RayConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s sorabox-ray-bridge: %(message)s")
    # Serve's per-request INFO lines would flood the service's log.
    logging.getLogger("ray").setLevel(logging.WARNING)
    code = 0
    loop = asyncio.new_event_loop()
    try:
        # Not asyncio.run: its clean-up waits for worker threads that may hang on a cluster that is gone.
        loop.run_until_complete(_Bridge(conn, config).main())
    except Exception as exc:
        log.exception("the Ray bridge failed")
        with contextlib.suppress(OSError, ValueError):
            conn.send(("down", f"{type(exc).__name__}: {exc}"))
        code = 1
    # ray.shutdown can hang on a cluster that is gone; nothing here needs a clean exit.
    os._exit(code)


class _Bridge:
    """The Ray driver: one per RayExecutor, in its own process."""

    def __init__(self, conn: Connection, config: RayConfig) -> None:
        self.conn = conn
        self.config = config
        self.send_lock = asyncio.Lock()
        self.handle: Any = None
        self.board: Any = None
        self.down: asyncio.Future[str] | None = None
        self.runs: set[asyncio.Task[None]] = set()

    async def send(self, message: tuple[Any, ...]) -> None:
        async with self.send_lock:
            # A clip is megabytes: pickling it into the pipe must not stall the progress forwarding.
            await asyncio.to_thread(self.conn.send, message)

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        self.down = loop.create_future()
        try:
            await asyncio.wait_for(
                asyncio.to_thread(connect, self.config.address, self.config.connect_timeout_seconds),
                self.config.connect_timeout_seconds + 30,
            )
        except (TimeoutError, ConnectionError) as exc:
            await self.send(("down", str(exc) or f"cannot reach the Ray cluster at {self.config.address}"))
            return
        from model.ray_deployment import JobBoard, app_state, attach_or_deploy

        logging.getLogger("ray.serve").setLevel(logging.WARNING)
        spec = replica_spec(self.config)
        try:
            self.handle = await asyncio.to_thread(attach_or_deploy, spec)
        except Exception as exc:
            await self.send(("down", f"could not deploy {spec.backend!r} on the Ray cluster: {exc}"))
            return
        self.board = JobBoard.remote()  # type: ignore[attr-defined]
        state = await asyncio.to_thread(app_state, spec.app_name)
        await self.send(("ready", state.running_replicas, ""))
        inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        threading.Thread(target=self._read, args=(loop, inbox), daemon=True, name="bridge-inbox").start()
        workers = [
            asyncio.create_task(self._forward_progress()),
            asyncio.create_task(self._watch(spec.app_name, state.running_replicas)),
            asyncio.create_task(self._serve_inbox(inbox)),
        ]
        reason = await self.down
        for task in workers:
            task.cancel()
        if reason:
            await self.send(("down", reason))

    def _read(self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = ("stop",)  # the service exited
            loop.call_soon_threadsafe(inbox.put_nowait, message)
            if message[0] == "stop":
                return

    def _go_down(self, reason: str) -> None:
        if self.down is not None and not self.down.done():
            self.down.set_result(reason)

    async def _serve_inbox(self, inbox: asyncio.Queue[tuple[Any, ...]]) -> None:
        while True:
            message = await inbox.get()
            if message[0] == "run":
                task = asyncio.create_task(self._run(message[1], message[2]))
                self.runs.add(task)
                task.add_done_callback(self.runs.discard)
            elif message[0] == "cancel":
                self.board.cancel.remote(message[1], message[2])
            elif message[0] == "stop":
                self._go_down("")
                return

    async def _forward_progress(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_POLL_SECONDS)
            await self._drain()

    async def _drain(self) -> None:
        async with self.send_lock:
            events = await self.board.drain.remote()
            if events:
                await asyncio.to_thread(self.conn.send, ("events", events))

    async def _watch(self, app_name: str, replicas: int) -> None:
        from model.ray_deployment import app_state

        while True:
            await asyncio.sleep(STATUS_POLL_SECONDS)
            try:
                state = await asyncio.wait_for(asyncio.to_thread(app_state, app_name), STATUS_TIMEOUT_SECONDS)
            except Exception as exc:
                self._go_down(f"lost the Ray cluster at {self.config.address}: {type(exc).__name__} {exc}".strip())
                return
            if not state.exists:
                self._go_down(f"the Serve application {app_name!r} was deleted from the cluster")
                return
            if state.running_replicas != replicas:
                replicas = state.running_replicas
                await self.send(("replicas", replicas, f"{state.status} {state.message}".strip()))

    async def _cluster_alive(self) -> bool:
        import ray

        try:
            await asyncio.wait_for(asyncio.to_thread(ray.cluster_resources), 5)
        except Exception:
            return False
        return True

    async def _run(self, key: str, request: GenerationRequest) -> None:
        import ray

        deaths = 0
        try:
            while True:
                try:
                    result = await self.handle.generate.remote(request, key, self.board)
                    break
                except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                    if not await self._cluster_alive():
                        reason = f"lost the Ray cluster at {self.config.address} mid-job"
                        await self.send(("result", key, "unavailable", reason, None))
                        self._go_down(reason)
                        return
                    deaths += 1
                    if deaths >= 2:
                        await self.send(("result", key, "failed", REPLICA_DIED, None))
                        return
                    log.warning("a replica died mid-job (%s); retrying once on another", type(exc).__name__)
                except Exception as exc:
                    await self.send(("result", key, "error", f"{type(exc).__name__}: {exc}", None))
                    return
            # Step events still on the board go out before the result.
            await self._drain()
            attempt = {"pid": result.pid, "started_at": result.started_at, "finished_at": result.finished_at}
            payload: Any = result.message
            if result.outcome == "done":
                payload = (await asyncio.to_thread(SharedClip.put, result.clip), result.backend)
            await self.send(("result", key, result.outcome, payload, attempt))
        finally:
            with contextlib.suppress(Exception):
                self.board.forget.remote(key)


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
