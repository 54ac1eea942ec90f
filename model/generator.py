"""The Generator protocol and the values that cross it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

GenerationKind = Literal["generate", "remix", "extend", "stitch"]


class GenerationCancelled(Exception):
    """The request was cancelled between two steps."""


class GenerationError(Exception):
    """The generator could not make the clip; the message is safe to show a user."""


class CancelToken:
    """A flag a worker sets from another thread; generators poll it between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise GenerationCancelled(self.reason)


class ProgressCallback(Protocol):
    def __call__(self, step: int, total: int, stage: str = "generating") -> None: ...


def no_progress(step: int, total: int, stage: str = "generating") -> None:
    """A ProgressCallback that ignores every report."""


@dataclass
class Clip:
    """A generated clip before encoding.

    frames: (T, H, W, 3) uint8 RGB; audio: (channels, samples) float32 in [-1, 1].
    `state` is backend-specific, JSON-serialisable, and lets the same backend remix or extend it.
    `metadata` is what the backend wants to tell the user (words not understood, what was rounded).
    """

    frames: np.ndarray
    audio: np.ndarray
    fps: float
    sample_rate: int
    state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"`frames` must be (T, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if self.audio.ndim != 2 or self.audio.dtype != np.float32:
            raise ValueError(f"`audio` must be (channels, samples) float32, got {self.audio.shape} {self.audio.dtype}")

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames.shape[0] / self.fps


@dataclass(frozen=True)
class SourceClip:
    """A clip a remix, extend or stitch starts from: the stored generator state and its decoded media."""

    clip_id: str
    prompt: str
    backend: str
    state: dict[str, Any]
    clip: Clip


@dataclass(frozen=True)
class CameoRef:
    """A consenting person's likeness handed to the generator.

    face: (H, W, 3) uint8 RGB crop or None; voice: (samples,) float32 mono at `voice_sample_rate` or None.
    """

    handle: str
    display_name: str
    face: np.ndarray | None = None
    voice: np.ndarray | None = None
    voice_sample_rate: int = 16_000
    preferences: str = ""


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. Sizes are what the user asked for; a backend may round them and say so in metadata."""

    kind: GenerationKind
    prompt: str
    width: int = 640
    height: int = 360
    seconds: float = 5.0
    seed: int = 0
    fps: float = 24.0
    sources: tuple[SourceClip, ...] = ()
    cameos: tuple[CameoRef, ...] = ()


@runtime_checkable
class Generator(Protocol):
    """A backend that makes clips. `generate` runs in a worker thread, never on the event loop."""

    name: str

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip: ...
