"""Clips to measure, and measurements on decoded clips: where a coloured ball is in each frame, and where loud
sounds start."""

from __future__ import annotations

import numpy as np

from model.generator import CancelToken, GenerationRequest, no_progress
from model.media import encode_mp4
from model.procedural import ProceduralGenerator


def generated_mp4(generator: ProceduralGenerator, prompt: str, width: int, height: int, seconds: float) -> bytes:
    """The MP4 of a generated clip, as a member would receive it."""
    request = GenerationRequest("generate", prompt, width=width, height=height, seconds=seconds)
    return encode_mp4(generator.generate(request, no_progress, CancelToken()))


def colour_mask(frames: np.ndarray, channel: int, margin: int = 70) -> np.ndarray:
    """(T, H, W) mask of pixels where `channel` beats both others by `margin` (a saturated red/green/blue)."""
    f = frames.astype(np.int16)
    others = [c for c in range(3) if c != channel]
    return (f[..., channel] - np.maximum(f[..., others[0]], f[..., others[1]])) > margin


def centroids(mask: np.ndarray) -> np.ndarray:
    """(T, 2) x, y centroid per frame of a (T, H, W) mask; NaN where the mask is empty."""
    out = np.full((mask.shape[0], 2), np.nan)
    for t, m in enumerate(mask):
        ys, xs = np.nonzero(m)
        if xs.size:
            out[t] = (xs.mean(), ys.mean())
    return out


def bottoms(mask: np.ndarray) -> np.ndarray:
    """(T,) lowest mask row per frame (larger = lower on screen); NaN where empty."""
    out = np.full(mask.shape[0], np.nan)
    for t, m in enumerate(mask):
        rows = np.nonzero(m.any(axis=1))[0]
        if rows.size:
            out[t] = rows.max()
    return out


def contact_frames(bottom: np.ndarray, min_rise: float = 4.0) -> list[int]:
    """Frames where the ball is lowest between two rises of at least `min_rise` pixels: the bounces seen."""
    floor = np.nanmax(bottom)
    frames: list[int] = []
    for k in range(1, len(bottom) - 1):
        b = bottom[k]
        # A fast ball can touch the floor between two frames: the lowest frame seen may sit a few pixels higher.
        if np.isnan(b) or b < floor - 8:
            continue
        if b >= bottom[k - 1] and b > bottom[k + 1]:
            before = np.nanmin(bottom[max(0, k - 12) : k]) if k else b
            after = np.nanmin(bottom[k + 1 : k + 13])
            if b - before >= min_rise and b - after >= min_rise:
                frames.append(k)
    return frames


def onsets(audio: np.ndarray, sample_rate: int, rel_threshold: float = 0.2, quiet_ms: float = 60.0) -> list[float]:
    """Times (s) where the 1 ms peak envelope crosses `rel_threshold` of its maximum after `quiet_ms` below half."""
    mono = np.abs(audio).max(axis=0) if audio.ndim == 2 else np.abs(audio)
    hop = sample_rate // 1000
    n = mono.size // hop
    env = mono[: n * hop].reshape(n, hop).max(axis=1)
    threshold = rel_threshold * env.max()
    quiet = int(quiet_ms)
    out: list[float] = []
    for i in range(quiet, n):
        # The last few milliseconds before the crossing are the sound's own rising edge, not silence.
        if env[i] >= threshold and env[i - 1] < threshold and env[i - quiet : i - 5].max() < threshold / 2:
            # Refine to the sample where the signal first rises above a tenth of the threshold.
            seg = mono[(i - 5) * hop : (i + 1) * hop]
            first = int(np.argmax(seg >= threshold / 10))
            out.append(((i - 5) * hop + first) / sample_rate)
    return out


def rms(audio: np.ndarray, sample_rate: int, start: float, seconds: float) -> float:
    a = audio[:, int(start * sample_rate) : int((start + seconds) * sample_rate)]
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2))) if a.size else 0.0


def areas(mask: np.ndarray) -> np.ndarray:
    """(T,) share of the frame the mask covers."""
    return mask.reshape(mask.shape[0], -1).mean(axis=1)


def extents(mask: np.ndarray) -> np.ndarray:
    """(T, 2) width and height in pixels of the mask's bounding box per frame; NaN where empty."""
    out = np.full((mask.shape[0], 2), np.nan)
    for t, m in enumerate(mask):
        rows, cols = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
        if rows.size:
            out[t] = (cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
    return out


def track(mask: np.ndarray, min_pixels: int = 3) -> np.ndarray:
    """(T, 4) centroid x, y, pixel count and lowest row of ONE object per frame: the connected blob nearest to
    where it was last seen (the largest blob to begin with), so other things of the same colour do not pull it.
    Pixels of that colour in more than 80 % of the frames are ignored as part of the set (with a still camera).
    NaN where it is not seen."""
    import cv2

    out = np.full((mask.shape[0], 4), np.nan)
    # With a still camera, what is there in nearly every frame is the set (a red rug, a blue wall), not the object.
    mask = mask & ~(mask.mean(axis=0) > 0.8)
    last: tuple[float, float] | None = None
    for t, m in enumerate(mask):
        count, _labels, stats, cents = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        blobs = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= min_pixels]
        if not blobs:
            continue
        if last is None:
            k = max(blobs, key=lambda b: stats[b, cv2.CC_STAT_AREA])
        else:
            k = min(blobs, key=lambda b: (cents[b, 0] - last[0]) ** 2 + (cents[b, 1] - last[1]) ** 2)
        bottom = stats[k, cv2.CC_STAT_TOP] + stats[k, cv2.CC_STAT_HEIGHT] - 1
        out[t] = (cents[k, 0], cents[k, 1], stats[k, cv2.CC_STAT_AREA], bottom)
        last = (float(cents[k, 0]), float(cents[k, 1]))
    return out
