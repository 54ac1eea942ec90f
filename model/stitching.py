"""Join clips end to end with short crossfades; backend-agnostic, so every generator can reuse it."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from model.generator import Clip


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (T, H, W, 3) uint8 frames with bilinear filtering (area when shrinking)."""
    if frames.shape[1:3] == (height, width):
        return frames
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    shrinking = height < frames.shape[1] and width < frames.shape[2]
    y = F.interpolate(x, size=(height, width), mode="area" if shrinking else "bilinear",
                      align_corners=None if shrinking else False)  # fmt: skip
    return y.round().clamp(0, 255).byte().permute(0, 2, 3, 1).contiguous().numpy()


def _retime(frames: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Nearest-frame resampling to another frame rate (keeps the clip's duration)."""
    if math.isclose(fps, target_fps):
        return frames
    count = max(1, round(frames.shape[0] * target_fps / fps))
    index = np.minimum((np.arange(count) * fps / target_fps).round().astype(np.int64), frames.shape[0] - 1)
    return frames[index]


def _audio(clip: Clip, sample_rate: int, samples: int) -> np.ndarray:
    """Stereo audio at `sample_rate`, trimmed or padded to exactly `samples` so it stays in step with the frames."""
    audio = clip.audio
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    audio = audio[:2]
    if clip.sample_rate != sample_rate and audio.shape[1]:
        n_out = round(audio.shape[1] * sample_rate / clip.sample_rate)
        t_out = np.arange(n_out) * (clip.sample_rate / sample_rate)
        audio = np.stack([np.interp(t_out, np.arange(audio.shape[1]), ch) for ch in audio])
    out = np.zeros((2, samples), np.float32)
    n = min(samples, audio.shape[1])
    out[:, :n] = audio[:, :n]
    return out


def stitch_clips(clips: list[Clip], crossfade_seconds: float = 0.25) -> Clip:
    """Join clips in order; each seam is a crossfade of `crossfade_seconds` (shortened for very short clips).

    Frames take the first clip's size and frame rate, audio its sample rate; video is a linear dissolve and
    audio an equal-power crossfade over the same span, so picture and sound stay in sync across the seam.
    """
    if not clips:
        raise ValueError("`clips` must hold at least one clip, got an empty list")
    first = clips[0]
    fps, rate = first.fps, first.sample_rate
    height, width = first.height, first.width
    video: np.ndarray = _retime(first.frames, first.fps, fps)
    audio = _audio(first, rate, round(video.shape[0] / fps * rate))
    for clip in clips[1:]:
        frames = resize_frames(_retime(clip.frames, clip.fps, fps), height, width)
        sound = _audio(clip, rate, round(frames.shape[0] / fps * rate))
        overlap = min(round(crossfade_seconds * fps), video.shape[0] // 2, frames.shape[0] // 2)
        if overlap > 0:
            w = ((np.arange(overlap) + 1) / (overlap + 1)).astype(np.float32)[:, None, None, None]
            blend = video[-overlap:].astype(np.float32) * (1 - w) + frames[:overlap].astype(np.float32) * w
            video = np.concatenate([video[:-overlap], blend.round().astype(np.uint8), frames[overlap:]])
        else:
            video = np.concatenate([video, frames])
        a_overlap = round(overlap / fps * rate)
        if a_overlap > 0:
            theta = (np.arange(a_overlap) + 0.5) / a_overlap * (math.pi / 2)
            mixed = audio[:, -a_overlap:] * np.cos(theta) + sound[:, :a_overlap] * np.sin(theta)
            audio = np.concatenate([audio[:, :-a_overlap], mixed.astype(np.float32), sound[:, a_overlap:]], axis=1)
        else:
            audio = np.concatenate([audio, sound], axis=1)
    return Clip(
        frames=np.ascontiguousarray(video),
        audio=np.clip(audio, -1.0, 1.0).astype(np.float32),
        fps=fps,
        sample_rate=rate,
        metadata={"stitched": len(clips), "crossfade_seconds": crossfade_seconds},
    )
