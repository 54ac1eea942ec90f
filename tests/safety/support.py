"""A generator whose clip is a real photograph, for checking what the output check does with real pixels."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback


def astronaut_frames(count: int, width: int = 256, height: int = 256) -> np.ndarray:
    """(count, height, width, 3) uint8: scikit-image's astronaut (Eileen Collins), panning a few pixels a frame."""
    still = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    return np.stack([np.roll(still, 2 * t, axis=1) for t in range(count)])


class AstronautGenerator:
    """Makes the astronaut picture into a clip of the requested size, with a quiet tone; `name` is the backend it
    stands for, so `auto` can be tried for a generative backend and for the procedural one."""

    def __init__(self, name: str = "ltx2") -> None:
        self.name = name

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        cancel.raise_if_cancelled()
        count = max(1, round(request.seconds * request.fps))
        frames = astronaut_frames(count, request.width - request.width % 2, request.height - request.height % 2)
        progress(1, 1)
        rate = 48_000
        samples = int(count / request.fps * rate)
        tone = (0.1 * np.sin(2 * np.pi * 330 * np.arange(samples) / rate)).astype(np.float32)
        return Clip(frames, np.stack([tone, tone]), request.fps, rate, state={"prompt": request.prompt})
