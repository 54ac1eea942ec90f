"""What the model will really make for a request: sizes in multiples of 32 pixels and 8k+1 frames, within the
operator's caps, and a note for everything that was rounded."""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.ltx2.options import LTX2Options


@dataclass(frozen=True)
class ClipPlan:
    """The sizes the model will use for a request, after rounding, and what was rounded."""

    width: int
    height: int
    num_frames: int
    fps: float
    notes: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


def round_frames(frames: float) -> int:
    """The nearest count the video VAE accepts: 8k+1 frames, at least 9."""
    return 8 * max(1, round((frames - 1) / 8)) + 1


def plan_clip(width: int, height: int, seconds: float, fps: float, options: LTX2Options) -> ClipPlan:
    """Round a requested size and length to what LTX-2 accepts (multiples of 32 pixels, 8k+1 frames)."""
    notes: list[str] = []
    w, h = max(64, round(width / 32) * 32), max(64, round(height / 32) * 32)
    if w * h > options.max_pixels:
        scale = math.sqrt(options.max_pixels / (width * height))
        w, h = max(64, int(width * scale) // 32 * 32), max(64, int(height * scale) // 32 * 32)
        notes.append(f"size capped at {options.max_pixels} pixels")
    if (w, h) != (width, height):
        notes.append(f"size {width}x{height} -> {w}x{h} (the model works in multiples of 32 pixels)")
    if seconds > options.max_seconds:
        notes.append(f"length capped at {options.max_seconds:g} s")
        seconds = options.max_seconds
    frames = round_frames(seconds * fps)
    while frames > 9 and frames > options.max_seconds * fps + 0.5:
        frames -= 8
    if abs(frames / fps - seconds) > 0.5 / fps:
        notes.append(f"length {seconds:g} s -> {frames / fps:.3f} s ({frames} frames: the model makes 8k+1)")
    return ClipPlan(width=w, height=h, num_frames=frames, fps=fps, notes=tuple(notes))
