"""The visible watermark: the service's name and the creator's handle, drifting across every frame.

It moves (a slow Lissajous path) so that cropping one corner does not remove it, and it is
half-transparent so it does not hide the picture.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import cv2
import numpy as np

from core.extensions import JobExtension
from core.records import JobRecord
from model.generator import Clip


@dataclass(frozen=True)
class WatermarkStyle:
    opacity: float = 0.6
    # Text height as a fraction of the frame height: readable on a phone, small on a desktop.
    height_fraction: float = 0.05
    # Seconds for one sweep across the frame, horizontally and vertically (different, so the path covers it).
    period_x: float = 7.0
    period_y: float = 5.0


def watermark_text(service_name: str, creator: str) -> str:
    """`sorabox @ana_b`: ASCII only, because OpenCV's built-in fonts draw nothing else."""
    handle = re.sub(r"[^A-Za-z0-9_.-]+", "_", creator.strip()).strip("_") or "someone"
    return f"{service_name} @{handle[:32]}"


def position(t: float, free_w: int, free_h: int, style: WatermarkStyle) -> tuple[int, int]:
    """Top-left corner of the text at time `t` seconds, within the free space of the frame."""
    x = 0.5 + 0.5 * math.sin(2 * math.pi * t / style.period_x)
    y = 0.5 + 0.5 * math.sin(2 * math.pi * t / style.period_y + 1.0)
    return round(x * max(0, free_w)), round(y * max(0, free_h))


def draw_watermark(clip: Clip, text: str, style: WatermarkStyle | None = None) -> Clip:
    """A copy of the clip with `text` blended into every frame, white on a dark outline."""
    style = style or WatermarkStyle()
    frames = clip.frames.copy()
    _, height, width, _ = frames.shape
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.3, style.height_fraction * height / 22)  # Hershey simplex is ~22 px tall at scale 1
    thickness = max(1, round(scale * 1.5))
    (tw, th), baseline = cv2.getTextSize(text, font, scale, thickness)
    box_w, box_h = tw + 4 * thickness, th + baseline + 4 * thickness
    margin = max(2, height // 60)
    # The letters are the same in every frame, only their place changes: draw them once.
    mask = np.zeros((box_h, box_w), np.uint8)
    origin = (2 * thickness, th + 2 * thickness)
    cv2.putText(mask, text, origin, font, scale, 128, thickness + 2, cv2.LINE_AA)  # the outline
    cv2.putText(mask, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    outline = (mask >= 100).astype(np.float32)[..., None] * style.opacity
    fill = (mask >= 200).astype(np.float32)[..., None] * style.opacity
    for index in range(frames.shape[0]):
        x, y = position(index / clip.fps, width - box_w - 2 * margin, height - box_h - 2 * margin, style)
        x, y = x + margin, y + margin
        region = frames[index, y : y + box_h, x : x + box_w]
        h, w = region.shape[:2]  # smaller than the box when the frame is smaller than the text
        blended = region.astype(np.float32) * (1 - outline[:h, :w]) + 20 * outline[:h, :w]  # darken under letters
        blended = blended * (1 - fill[:h, :w]) + 255 * fill[:h, :w]
        region[...] = np.clip(blended, 0, 255).astype(np.uint8)
    return Clip(frames, clip.audio, clip.fps, clip.sample_rate, clip.state, {**clip.metadata, "watermark": text})


class Watermark(JobExtension):
    """Draws `<service> @<creator>` into every clip before it is encoded."""

    def __init__(self, service_name: str = "sorabox", style: WatermarkStyle | None = None) -> None:
        self.service_name = service_name
        self.style = style or WatermarkStyle()

    def finish_clip(self, clip: Clip, job: JobRecord) -> Clip:
        if job.kind == "stitch":
            # A stitch joins clips that already carry their own creators' watermarks.
            return clip
        return draw_watermark(clip, watermark_text(self.service_name, job.requester.display_name), self.style)
