"""Spoken lines through espeak-ng, when it is installed; the clip says so when it is not."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ESPEAK = "espeak-ng"
SKIPPED = "skipped: espeak-ng not installed"


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # (n,) float32 mono
    sample_rate: int


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def speak(text: str, pitch: int = 50, words_per_minute: int = 160, timeout: float = 20.0) -> Speech | None:
    """Speak `text` with espeak-ng; None when espeak-ng is not installed or fails.

    The text goes in on stdin, never on the command line, so a line that starts with "-" is not an option.
    """
    exe = shutil.which(ESPEAK)
    if exe is None or not text.strip():
        return None
    with tempfile.TemporaryDirectory(prefix="sorabox-speech-") as tmp:
        path = Path(tmp) / "line.wav"
        try:
            subprocess.run(
                [exe, "-v", "en", "-s", str(words_per_minute), "-p", str(max(0, min(99, pitch))), "-w", str(path),
                 "--stdin"],
                input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=True,
            )  # fmt: skip
            with wave.open(str(path)) as wav:
                rate = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
                width = wav.getsampwidth()
                channels = wav.getnchannels()
        except (OSError, subprocess.SubprocessError, wave.Error):
            return None
    if width != 2:
        return None
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return Speech(samples, rate)


def voice_pitch(voice: np.ndarray, sample_rate: int) -> int | None:
    """An espeak-ng pitch (0-99) near a cameo voice clip's fundamental, from autocorrelation; None if unvoiced."""
    if voice.size < sample_rate // 4:
        return None
    x = voice[: sample_rate * 3].astype(np.float64)
    x = x - x.mean()
    if np.sqrt(np.mean(x * x)) < 1e-3:
        return None
    spectrum = np.fft.rfft(x, n=2 * x.size)
    corr = np.fft.irfft(spectrum * np.conj(spectrum))[: x.size]
    lo, hi = sample_rate // 400, sample_rate // 70  # 70..400 Hz: the range of speaking voices
    if hi >= corr.size:
        return None
    lag = lo + int(np.argmax(corr[lo:hi]))
    f0 = sample_rate / lag
    # espeak-ng's default pitch 50 is about 120 Hz for its default voice; map octaves around it.
    return int(max(0, min(99, 50 + 40 * np.log2(f0 / 120.0))))
