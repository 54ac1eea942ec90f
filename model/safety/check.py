"""`check_frames`: sample a clip's frames, score them, and say what scored highest where."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from model.safety import open_nsfw
from model.safety.sampling import sample_indices
from model.safety.verdict import Verdict

# Eight frames spread over a clip: at ~50 ms a frame on one CPU core the check adds well under a second to a job
# that took the GPU tens of seconds, and a scene that lasts a quarter of a 5 s clip is seen at least once.
DEFAULT_FRAME_BUDGET = 8

# What each detector can be asked about, known without loading it (settings are checked against this at start-up).
DETECTOR_CLASSES: dict[str, tuple[str, ...]] = {open_nsfw.NAME: open_nsfw.CLASSES}


class Detector(Protocol):
    """Scores frames: one row per frame, one column per class in `classes`, each in [0, 1]."""

    name: str
    classes: tuple[str, ...]

    def scores(self, frames: np.ndarray) -> np.ndarray: ...


@functools.cache
def load_detector(name: str = open_nsfw.NAME) -> Detector:
    """The named detector, loaded once per process and shared by every job (its session is thread-safe)."""
    if name == open_nsfw.NAME:
        return open_nsfw.OpenNsfwDetector()
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTOR_CLASSES)}")


def check_frames(
    frames: np.ndarray, *, budget: int = DEFAULT_FRAME_BUDGET, detector: Detector | None = None
) -> Verdict:
    """Score at most `budget` frames spread over the clip; the verdict holds each class's highest score."""
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        shape = getattr(frames, "shape", None)
        raise ValueError(f"`frames` must be a (T, H, W, 3) uint8 array, got {shape} {getattr(frames, 'dtype', '')}")
    if frames.shape[0] == 0:
        raise ValueError("`frames` must hold at least one frame, got 0")
    detector = detector if detector is not None else load_detector()
    indices = sample_indices(frames.shape[0], budget)
    table = np.asarray(detector.scores(frames[indices]), dtype=np.float64)  # (N, C)
    if table.shape != (len(indices), len(detector.classes)):
        raise ValueError(
            f"detector {detector.name!r} returned scores of shape {table.shape}, "
            f"expected {(len(indices), len(detector.classes))}"
        )
    row, _ = np.unravel_index(int(np.argmax(table)), table.shape)
    return Verdict(
        detector=detector.name,
        scores={name: float(table[:, c].max()) for c, name in enumerate(detector.classes)},
        frames_checked=tuple(int(i) for i in indices),
        per_frame=tuple(
            {name: float(table[r, c]) for c, name in enumerate(detector.classes)} for r in range(len(indices))
        ),
        worst_frame=int(indices[row]),
    )
