"""The Ray bridge: a child process that connects to the cluster, deploys or attaches to the Serve application,
sends requests, forwards step events and retries a request once when its replica dies (see core/execution/ray.py).

Ray is imported only here, inside the child process, so `core` stays importable without the [ray] extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from multiprocessing.connection import Connection
from typing import Any

from core.execution.ray_wire import (
    PROGRESS_POLL_SECONDS,
    REPLICA_DIED,
    STATUS_POLL_SECONDS,
    STATUS_TIMEOUT_SECONDS,
    RayConfig,
    SharedClip,
)
from model.generator import GenerationRequest

log = logging.getLogger(__name__)


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


def bridge_main(conn: Connection, config: RayConfig) -> None:
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
        from model.ray_deployment import app_state, attach_or_deploy, new_board

        logging.getLogger("ray.serve").setLevel(logging.WARNING)
        spec = replica_spec(self.config)
        try:
            self.handle = await asyncio.to_thread(attach_or_deploy, spec)
        except Exception as exc:
            await self.send(("down", f"could not deploy {spec.backend!r} on the Ray cluster: {exc}"))
            return
        self.board = new_board()  # on this node: it must outlive any GPU box
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
