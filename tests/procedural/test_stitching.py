"""model.stitching: joining clips of any backend with crossfades."""

from __future__ import annotations

import numpy as np
import pytest

from model.generator import Clip
from model.media import decode_clip, encode_mp4
from model.stitching import stitch_clips


def _solid(value: int, frames: int, size: tuple[int, int] = (36, 64), fps: float = 24.0, rate: int = 48_000,
           channels: int = 2, tone: float = 440.0) -> Clip:  # fmt: skip
    n = round(frames / fps * rate)
    t = np.arange(n) / rate
    audio = np.tile((0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32), (channels, 1))
    return Clip(np.full((frames, *size, 3), value, np.uint8), audio, fps, rate)


def test_stitched_length_is_the_sum_less_each_crossfade() -> None:
    out = stitch_clips([_solid(0, 24), _solid(200, 24), _solid(100, 12)], crossfade_seconds=0.25)
    overlap = 6
    assert out.frames.shape[0] == 24 + 24 + 12 - 2 * overlap
    assert out.audio.shape == (2, round(out.frames.shape[0] / 24 * 48_000))


def test_crossfade_dissolves_monotonically_between_clips() -> None:
    out = stitch_clips([_solid(0, 24), _solid(240, 24)], crossfade_seconds=0.25)
    levels = out.frames[:, 0, 0, 0].astype(int)
    seam = levels[18:24]
    assert levels[17] == 0 and levels[24] == 240
    assert np.all(np.diff(seam) > 0) and 0 < seam[0] < seam[-1] < 240


def test_audio_crossfade_keeps_loudness_of_two_unrelated_sounds() -> None:
    out = stitch_clips([_solid(0, 48, tone=300), _solid(0, 48, tone=470)], crossfade_seconds=0.5)
    rate = 48_000
    mid = out.audio[:, int(1.75 * rate) : int(2.0 * rate)]
    before = out.audio[:, int(1.0 * rate) : int(1.25 * rate)]
    ratio = np.sqrt((mid**2).mean()) / np.sqrt((before**2).mean())
    assert 0.8 < ratio < 1.25  # equal-power: no dip in the middle of the fade


def test_clips_of_other_size_rate_and_channels_are_conformed() -> None:
    first = _solid(50, 24)
    other = _solid(150, 30, size=(72, 128), fps=30.0, rate=16_000, channels=1)
    out = stitch_clips([first, other])
    assert out.frames.shape[1:] == (36, 64, 3)
    assert out.fps == 24.0 and out.sample_rate == 48_000 and out.audio.shape[0] == 2
    assert out.frames.shape[0] == 24 + 24 - 6
    decoded = decode_clip(encode_mp4(out))
    assert decoded.frames.shape[0] == out.frames.shape[0]


def test_single_clip_is_returned_unchanged_and_empty_list_is_an_error() -> None:
    clip = _solid(80, 10)
    out = stitch_clips([clip])
    assert np.array_equal(out.frames, clip.frames) and np.array_equal(out.audio, clip.audio)
    with pytest.raises(ValueError, match="at least one clip"):
        stitch_clips([])
