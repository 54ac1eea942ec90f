"""Audio glue between clips and LTX-2: resampling, exact lengths, the seam of an extension, and log-mel input
for the audio VAE's encoder (used to re-noise a source clip's sound in a remix)."""

from __future__ import annotations

import numpy as np
import torch


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(C, S) float32 at `rate` -> (C, S') at `target`, by linear interpolation (the model's own sound is band-limited
    well below either Nyquist, so nothing audible is lost)."""
    if rate == target or audio.shape[1] == 0:
        return audio.astype(np.float32, copy=False)
    n_out = round(audio.shape[1] * target / rate)
    t_out = np.arange(n_out) * (rate / target)
    t_in = np.arange(audio.shape[1])
    return np.stack([np.interp(t_out, t_in, ch) for ch in audio]).astype(np.float32)


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """(C, S) -> (2, S): mono is duplicated, extra channels are dropped."""
    if audio.shape[0] == 2:
        return audio
    if audio.shape[0] == 1:
        return np.concatenate([audio, audio])
    if audio.shape[0] == 0:
        return np.zeros((2, audio.shape[1]), np.float32)
    return audio[:2]


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Trim or zero-pad (C, S) to exactly `samples`, so the sound lasts exactly as long as the frames."""
    if audio.shape[1] >= samples:
        return np.ascontiguousarray(audio[:, :samples])
    pad = np.zeros((audio.shape[0], samples - audio.shape[1]), np.float32)
    return np.concatenate([audio, pad], axis=1)


def crossfade_join(first: np.ndarray, second: np.ndarray, overlap: int) -> np.ndarray:
    """Join (C, S) tracks where the last `overlap` samples of `first` and the first of `second` cover the same time."""
    overlap = max(0, min(overlap, first.shape[1], second.shape[1]))
    if overlap == 0:
        return np.concatenate([first, second], axis=1)
    # Equal-power fade: the two takes are uncorrelated, so constant power keeps the loudness steady across the seam.
    ramp = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)
    mixed = first[:, -overlap:] * np.cos(ramp) + second[:, :overlap] * np.sin(ramp)
    return np.concatenate([first[:, :-overlap], mixed, second[:, overlap:]], axis=1).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    # Slaney's scale: linear below 1 kHz, logarithmic above (what LTX-2's audio front end uses).
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-9) / min_log_hz) / logstep, hz / f_sp)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_max: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Slaney-normalised triangular filters."""
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(f_max)), n_mels + 2)
    hz = _mel_to_hz(mel_points)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower)
    down = (upper - freqs[None]) / (upper - center)
    filters = np.maximum(0.0, np.minimum(up, down))
    return (filters * (2.0 / (upper - lower))).astype(np.float32)


def log_mel(
    waveform: torch.Tensor, sample_rate: int = 16_000, n_fft: int = 1024, hop: int = 160, n_mels: int = 64
) -> torch.Tensor:
    """(C, S) waveform at `sample_rate` -> (C, frames, n_mels) log-magnitude mel spectrogram, the audio VAE's input."""
    window = torch.hann_window(n_fft, device=waveform.device, dtype=torch.float32)
    spec = torch.stft(
        waveform.float(),
        n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    ).abs()  # (C, n_fft // 2 + 1, frames)
    basis = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels, sample_rate / 2)).to(spec.device)
    mel = torch.matmul(basis, spec)  # (C, n_mels, frames)
    return torch.log(mel.clamp(min=1e-5)).transpose(1, 2)
