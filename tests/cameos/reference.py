"""Reference videos built inside the tests: a real face photo, a blank wall, real synthesized speech."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from model.generator import Clip
from model.media import EncodeOptions, encode_mp4

FPS = 10.0
RATE = 48_000
SIZE = 320

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (.ci/run installs it)"
)


def speech(text: str = "Hello, this is my cameo. I am waving at the camera today.") -> np.ndarray:
    """Real speech from espeak-ng, resampled to 48 kHz mono float32."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=30)
        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32767
    t_out = np.arange(round(len(pcm) * RATE / rate)) * (rate / RATE)
    return np.interp(t_out, np.arange(len(pcm)), pcm).astype(np.float32)


def astronaut_frames(seconds: float) -> np.ndarray:
    """The astronaut photo (a real face), drifting a few pixels a frame like a hand-held phone."""
    from skimage.data import astronaut
    from skimage.transform import resize

    photo = (resize(astronaut(), (SIZE + 16, SIZE + 16), anti_aliasing=True) * 255).astype(np.uint8)
    count = round(seconds * FPS)
    frames = np.empty((count, SIZE, SIZE, 3), np.uint8)
    for t in range(count):
        dx = int(8 + 6 * np.sin(t / 5))
        dy = int(8 + 6 * np.cos(t / 7))
        frames[t] = photo[dy : dy + SIZE, dx : dx + SIZE]
    return frames


def wall_frames(seconds: float) -> np.ndarray:
    """A beige wall with a little sensor noise."""
    rng = np.random.default_rng(7)
    count = round(seconds * FPS)
    base = np.array([214, 200, 176], np.float32)
    noise = rng.normal(0, 3, (count, SIZE, SIZE, 1)).astype(np.float32)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def video(frames: np.ndarray, audio: np.ndarray) -> bytes:
    """Encode frames (T, H, W, 3) and mono audio into an MP4 whose sound lasts as long as the picture."""
    samples = round(frames.shape[0] / FPS * RATE)
    track = np.zeros(samples, np.float32)
    track[: min(samples, audio.size)] = audio[:samples]
    return encode_mp4(Clip(frames, track[None, :], FPS, RATE), EncodeOptions(preset="ultrafast"))


def speaking_astronaut(seconds: float = 4.0) -> bytes:
    return video(astronaut_frames(seconds), speech())


def speaking_wall(seconds: float = 4.0) -> bytes:
    return video(wall_frames(seconds), speech())


def silent_astronaut(seconds: float = 4.0) -> bytes:
    return video(astronaut_frames(seconds), np.zeros(0, np.float32))
