"""What the service and its Ray bridge process share: the cluster configuration, the constants of their
conversation, and clips handed over in shared memory (core/execution/ray.py, core/execution/ray_bridge.py)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing import resource_tracker, shared_memory
from typing import Any

import numpy as np

from core.settings import Settings, SettingsError, env_float
from model.generator import Clip

log = logging.getLogger(__name__)

# How often the bridge collects step events from the board; progress must reach chats within a second.
PROGRESS_POLL_SECONDS = 0.1
# How often the bridge reads the replica count, which is also how it notices the cluster went away.
STATUS_POLL_SECONDS = 1.0
# A status call slower than this means the cluster is out of reach.
STATUS_TIMEOUT_SECONDS = 10.0
REPLICA_DIED = "the cluster machine making this clip stopped, and so did the one it was retried on (a Ray replica died)"


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
