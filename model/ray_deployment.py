"""The cluster side of `SORABOX_EXECUTOR=ray`: a Ray Serve deployment that keeps one backend warm per replica.

Each replica builds the configured backend once (`model.registry.create_generator`) and makes one clip
at a time (`max_ongoing_requests=1`), so the service's fair queue, not Ray's, decides what runs next.
Progress and cancel travel through a small `JobBoard` actor the service owns: the replica pushes step
events into it and polls it for a cancel between steps. The clip comes back through Ray's object store.

Needs the [ray] extra; `core.execution.ray` is the service side.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ray
from ray import serve

from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest
from model.registry import create_generator

DEPLOYMENT_NAME = "SoraboxReplica"
# Only these variables travel to the cluster: the model's own settings, never chat tokens or secrets.
MODEL_VARIABLES = ("SORABOX_DEVICE", "SORABOX_BACKEND", "SORABOX_MODEL_DIR")
MODEL_PREFIXES = ("SORABOX_LTX2_", "SORABOX_PROCEDURAL_")
# How often a replica asks the board whether its job was cancelled: well under a step of any backend.
CANCEL_POLL_SECONDS = 0.1

Outcome = Literal["done", "cancelled", "failed", "error"]


def model_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of the service's settings a replica needs to build the backend."""
    return {k: v for k, v in environ.items() if k in MODEL_VARIABLES or k.startswith(MODEL_PREFIXES)}


@dataclass(frozen=True)
class ReplicaSpec:
    """What to deploy: the backend, and how much of the cluster each replica takes."""

    backend: str
    environ: Mapping[str, str] = field(default_factory=dict)
    # A path on the GPU machines (each holds its own copy of the weights; nothing is shared).
    model_dir: str | None = None
    app_name: str = "sorabox"
    # None: one replica per GPU in the cluster, or one when it has no GPU.
    replicas: int | None = None
    # A replica mostly waits on its GPU; on a CPU-only cluster give it what the backend needs.
    cpus_per_replica: float = 1.0
    # None: one whole GPU per replica when the cluster has GPUs, none otherwise.
    gpus_per_replica: float | None = None


@dataclass
class ReplicaResult:
    """What one request to a replica gives back; `clip` travels through the object store."""

    outcome: Outcome
    clip: Clip | None = None
    message: str = ""
    backend: str = ""
    pid: int = 0
    replica: str = ""
    # Wall-clock seconds on the replica's machine, for the benchmark's overhead figure.
    started_at: float = 0.0
    finished_at: float = 0.0


@ray.remote(num_cpus=0)
class JobBoard:
    """Step events and cancel flags of the jobs in flight, keyed by the service's request key."""

    def __init__(self) -> None:
        self._events: dict[str, list[tuple[Any, ...]]] = {}
        self._cancels: dict[str, str] = {}

    def report(self, key: str, step: int, total: int, stage: str) -> None:
        self._events.setdefault(key, []).append(("progress", step, total, stage))

    def started(self, key: str, pid: int, replica: str) -> None:
        self._events.setdefault(key, []).append(("started", pid, replica))

    def flush(self) -> None:
        """A replica's last call: actor calls from one caller run in order, so its reports are all in."""

    def drain(self) -> dict[str, list[tuple[Any, ...]]]:
        events, self._events = self._events, {}
        return events

    def cancel(self, key: str, reason: str) -> None:
        self._cancels[key] = reason

    def cancelled(self, key: str) -> str | None:
        return self._cancels.get(key)

    def forget(self, key: str) -> None:
        self._cancels.pop(key, None)
        self._events.pop(key, None)


def new_board() -> Any:
    """A JobBoard on the caller's own node (the main box), not wherever Ray finds room.

    A board on a GPU box dies with that box, and with it the progress and results of jobs running
    elsewhere: the service would wait forever for a clip made on a machine that is still up.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    try:
        here = ray.get_runtime_context().get_node_id()
    except Exception:  # a driver that is no node of the cluster (Ray Client): Ray chooses
        return JobBoard.remote()  # type: ignore[attr-defined]
    # Hard affinity: a soft one still let Ray place the board on the GPU box in one CI run of the two-node test.
    return JobBoard.options(  # type: ignore[attr-defined]
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False)
    ).remote()


def _replica_name() -> str:
    try:
        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside a replica (a direct test): the process is name enough
        return f"pid-{os.getpid()}"


@serve.deployment(name=DEPLOYMENT_NAME, max_ongoing_requests=1, health_check_period_s=2.0)
class SoraboxReplica:
    """One warm backend; `generate` makes one clip at a time off the replica's event loop."""

    def __init__(self, backend: str, environ: dict[str, str], model_dir: str | None) -> None:
        self.generator = create_generator(backend, environ, Path(model_dir) if model_dir else None)
        self.replica = _replica_name()

    async def generate(self, request: GenerationRequest, key: str, board: Any) -> ReplicaResult:
        # The generator blocks for seconds to minutes; a thread keeps the replica's loop free for health checks.
        return await asyncio.to_thread(self._generate, request, key, board)

    def _generate(self, request: GenerationRequest, key: str, board: Any) -> ReplicaResult:
        started = time.time()
        token = CancelToken()
        done = threading.Event()
        board.started.remote(key, os.getpid(), self.replica)
        watcher = threading.Thread(target=_watch_cancel, args=(board, key, token, done), daemon=True)
        watcher.start()

        def progress(step: int, total: int, stage: str = "generating") -> None:
            board.report.remote(key, step, total, stage)

        result = ReplicaResult("error", backend=self.generator.name, pid=os.getpid(), replica=self.replica)
        try:
            result.clip = self.generator.generate(request, progress, token)
            result.outcome = "done"
        except GenerationCancelled as exc:
            result.outcome, result.message = "cancelled", str(exc) or token.reason
        except GenerationError as exc:
            result.outcome, result.message = "failed", str(exc)
        except Exception as exc:  # a backend bug: the service logs it and refunds the job
            result.outcome, result.message = "error", f"{type(exc).__name__}: {exc}"
        finally:
            done.set()
            try:
                ray.get(board.flush.remote(), timeout=5)
            except Exception:
                pass  # the service went away; nobody is waiting for the progress
        result.started_at, result.finished_at = started, time.time()
        return result


def _watch_cancel(board: Any, key: str, token: CancelToken, done: threading.Event) -> None:
    """Turn the board's cancel flag into the generator's CancelToken, which it polls between steps."""
    while not done.wait(CANCEL_POLL_SECONDS):
        try:
            reason = ray.get(board.cancelled.remote(key), timeout=10)
        except ray.exceptions.GetTimeoutError:
            continue
        except ray.exceptions.RayActorError:
            # The board dies with the service that owns it: nobody will collect this clip.
            token.cancel("the service that asked for this clip went away")
            return
        if reason is not None:
            token.cancel(reason)
            return


def deploy(spec: ReplicaSpec) -> Any:
    """(Re)deploy the application on the connected cluster and wait until it runs; returns its DeploymentHandle."""
    gpus = float(ray.cluster_resources().get("GPU", 0))
    gpus_per_replica = spec.gpus_per_replica if spec.gpus_per_replica is not None else (1.0 if gpus > 0 else 0.0)
    replicas = spec.replicas if spec.replicas is not None else max(1, int(gpus // max(gpus_per_replica, 1.0)))
    app = SoraboxReplica.options(  # type: ignore[attr-defined]  # a serve.Deployment, not the class
        num_replicas=replicas,
        ray_actor_options={"num_cpus": spec.cpus_per_replica, "num_gpus": gpus_per_replica},
    ).bind(spec.backend, dict(spec.environ), spec.model_dir)
    # Requests come through handles from the service; no HTTP proxy is needed on any node.
    serve.start(proxy_location="Disabled")
    return serve.run(app, name=spec.app_name, route_prefix=None)


@dataclass(frozen=True)
class AppState:
    """What `serve.status()` says about the application."""

    exists: bool
    status: str = ""
    replica_states: Mapping[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def running_replicas(self) -> int:
        return int(self.replica_states.get("RUNNING", 0))


def app_state(app_name: str) -> AppState:
    """The application's status and its replicas by state; `exists=False` when it is not deployed."""
    app = serve.status().applications.get(app_name)
    if app is None:
        return AppState(False)
    deployment = app.deployments.get(DEPLOYMENT_NAME)
    states = {str(getattr(k, "value", k)): n for k, n in deployment.replica_states.items()} if deployment else {}
    message = app.message or (deployment.message if deployment is not None else "")
    return AppState(True, str(app.status.value if hasattr(app.status, "value") else app.status), states, message)


def attach_or_deploy(spec: ReplicaSpec) -> Any:
    """The application's handle, deploying it first when it is missing or broken.

    A running or still-deploying application is attached to as it is (its replicas stay warm): after
    changing the backend or the replica count, run `sorabox ray deploy`.
    """
    state = app_state(spec.app_name)
    if state.exists and state.status in ("RUNNING", "DEPLOYING"):
        return serve.get_app_handle(spec.app_name)
    return deploy(spec)
