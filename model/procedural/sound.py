"""Sound made from the simulation: impacts by material (modal rings, glass shattering, water splashes), rolling and
sliding noise, ambience, speech placement.

Every sound is placed by the simulation's own clock, so an impact starts on the sample where the contact
happened: at 48 kHz that is a 21 microsecond grid, far inside the 42 ms of one video frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.procedural.materials import material
from model.procedural.physics import ImpactEvent, Trajectory
from model.procedural.scene import EnvironmentSpec

SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class SoundSettings:
    sample_rate: int = SAMPLE_RATE
    impact_gain: float = 0.55
    roll_gain: float = 0.02  # a rolling ball is a low rumble, well under the knock when it hits something
    slide_gain: float = 0.06
    ambience_gain: float = 1.0
    headroom: float = 0.9  # peak level the mix is scaled down to if it would clip


def _pan(x: float) -> tuple[float, float]:
    """Equal-power pan gains for x in [-1 (left), 1 (right)]."""
    a = (max(-1.0, min(1.0, x)) + 1) * math.pi / 4
    return math.cos(a), math.sin(a)


BREAK_SPEED = 3.0  # m/s: glass landing harder than this shatters (a bottle dropped from half a metre: off a table)


def impact_sound(event: ImpactEvent, rng: np.random.Generator, sample_rate: int, pace: float = 1.0) -> np.ndarray:
    """The sound of one impact event, by what met what: a splash in water, glass shattering, else a modal hit."""
    if event.other_material == "water" or event.material == "water":
        return splash_sound(event, rng, sample_rate, pace)
    hit = modal_sound(event, rng, sample_rate, pace)
    if material(event.material).breaks and event.speed >= BREAK_SPEED:
        shards = shatter_sound(event, rng, sample_rate, pace)
        n = max(hit.size, shards.size)
        out = np.zeros(n, np.float32)
        out[: hit.size] += 0.6 * hit
        out[: shards.size] += shards
        return out
    return hit


def _loudness(speed: float) -> float:
    return min(1.0, speed / 6.0) ** 0.8


def splash_sound(event: ImpactEvent, rng: np.random.Generator, sample_rate: int, pace: float = 1.0) -> np.ndarray:
    """Something entering water: a broadband slap, a low-passed wash, then bubbles (short rising chirps)."""
    slow = min(1.0, max(0.25, pace)) ** 0.5
    n = int(0.7 / slow * sample_rate)
    t = np.arange(n) / sample_rate
    big = min(3.0, max(0.5, event.size / 0.1))
    # The slap and the wash: noise whose brightness falls as the crater closes.
    wash = _shaped_noise(rng, n, sample_rate, 80, 5000, -4).astype(np.float64)
    out = wash * np.exp(-t / (0.09 * big / slow)) * 0.8
    slap = min(n, int(0.006 * sample_rate))
    out[:slap] += rng.standard_normal(slap) * np.linspace(1.0, 0.0, slap)
    # Bubbles: each a damped sine whose pitch rises as it nears the surface (Minnaert resonance of a shrinking bubble).
    for _ in range(int(6 * big) + 3):
        start = int(rng.uniform(0.01, 0.35) / slow * sample_rate)
        length = int(rng.uniform(0.03, 0.08) / slow * sample_rate)
        if start + length > n:
            continue
        f0 = rng.uniform(350, 1400) / big**0.5 * slow
        tb = np.arange(length) / sample_rate
        phase = 2 * math.pi * f0 * (tb + 0.5 * 8.0 * tb * tb)
        out[start : start + length] += 0.35 * np.sin(phase) * np.exp(-tb / (0.02 / slow))
    ramp = min(n, int(0.0005 * sample_rate) + 1)
    out[:ramp] *= np.linspace(0, 1, ramp)
    peak = np.abs(out).max() or 1.0
    return (out / peak * _loudness(event.speed)).astype(np.float32)


def shatter_sound(event: ImpactEvent, rng: np.random.Generator, sample_rate: int, pace: float = 1.0) -> np.ndarray:
    """Glass breaking: a sharp crack, then a shower of small shards, each a high, short ring."""
    slow = min(1.0, max(0.25, pace)) ** 0.5
    n = int(0.9 / slow * sample_rate)
    out = np.zeros(n)
    crack = min(n, int(0.01 * sample_rate))
    out[:crack] += rng.standard_normal(crack) * np.exp(-np.arange(crack) / (crack / 5 + 1)) * 1.5
    for k in range(40):
        # Shards land over half a second, thinning out: most right away, a few tinkling late.
        start = int(min(0.6, rng.exponential(0.12)) / slow * sample_rate)
        length = int(0.06 / slow * sample_rate)
        if start + length > n:
            continue
        tb = np.arange(length) / sample_rate
        f = rng.uniform(3000, 12000) * slow
        if f >= sample_rate / 2:
            continue
        level = rng.uniform(0.2, 0.6) * (0.97**k)
        out[start : start + length] += level * np.sin(2 * math.pi * f * tb) * np.exp(-tb / (0.012 / slow))
    ramp = min(n, int(0.0005 * sample_rate) + 1)
    out[:ramp] *= np.linspace(0, 1, ramp)
    peak = np.abs(out).max() or 1.0
    return (out / peak * _loudness(event.speed)).astype(np.float32)


def modal_sound(event: ImpactEvent, rng: np.random.Generator, sample_rate: int, pace: float = 1.0) -> np.ndarray:
    """One hit as damped sinusoids (the hitter's and the surface's modes) plus a short click; mono float32."""
    hitter = material(event.material)
    surface = material(event.other_material)
    # Modes are given for a 10 cm object; a bigger one rings lower, a smaller one higher.
    size_factor = min(3.0, max(0.3, (0.1 / max(event.size, 0.01)) ** 0.7))
    # Slow motion stretches the sound: lower pitch and longer ring, as a slowed recording would.
    slow = min(1.0, max(0.25, pace)) ** 0.5
    loud = _loudness(event.speed)
    decay = max(hitter.decay, surface.decay * 0.6) / slow
    n = int(min(1.6, decay * 6 + 0.02) * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    out = np.zeros(n)
    for k, f in enumerate(hitter.modes):
        freq = f * size_factor * slow * (1 + 0.01 * rng.standard_normal())
        if freq >= sample_rate / 2:
            continue
        out += (0.8**k) * np.exp(-t * (1 + 0.6 * k) / (hitter.decay / slow)) * np.sin(2 * math.pi * freq * t)
    for k, f in enumerate(surface.modes):
        freq = f * slow
        if freq >= sample_rate / 2:
            continue
        out += 0.45 * (0.7**k) * np.exp(-t * (1 + 0.6 * k) / (surface.decay / slow)) * np.sin(2 * math.pi * freq * t)
    click_len = min(n, int(0.004 * sample_rate / slow))
    click = rng.standard_normal(click_len) * np.exp(-np.arange(click_len) / (click_len / 4 + 1))
    out[:click_len] += click * (hitter.noise + surface.noise) * 0.8
    # A 0.5 ms attack ramp keeps the onset sharp but free of a DC step.
    ramp = min(n, int(0.0005 * sample_rate) + 1)
    out[:ramp] *= np.linspace(0, 1, ramp)
    peak = np.abs(out).max() or 1.0
    return (out / peak * loud).astype(np.float32)


def _shaped_noise(
    rng: np.random.Generator, n: int, sample_rate: int, low: float, high: float, tilt: float
) -> np.ndarray:
    """White noise band-limited to [low, high] Hz with a spectral tilt (dB/octave), unit RMS."""
    if n == 0:
        return np.zeros(0, np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    band = ((freqs >= low) & (freqs <= high)).astype(np.float64)
    shape = band * np.power(np.maximum(freqs, 1.0) / max(low, 1.0), tilt / 6.02)
    out = np.fft.irfft(spec * shape, n)
    rms = float(np.sqrt(np.mean(out * out))) or 1.0
    return (out / rms).astype(np.float32)


def ambience(env: EnvironmentSpec, n: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Steady background (room tone or outdoor air, rain, wind): (2, n) float32, no sudden onsets."""
    out = np.zeros((2, n), np.float32)
    t = np.arange(n) / sample_rate
    for ch in range(2):
        if env.setting == "indoor":
            out[ch] += 0.004 * _shaped_noise(rng, n, sample_rate, 30, 400, -6)
        else:
            out[ch] += 0.006 * _shaped_noise(rng, n, sample_rate, 60, 6000, -4)
        if env.rain > 0:
            out[ch] += 0.03 * env.rain * _shaped_noise(rng, n, sample_rate, 1500, 12000, -1)
        if env.wind:
            gust = 0.6 + 0.4 * np.sin(2 * math.pi * (0.17 + 0.03 * ch) * t + ch)
            level = min(1.0, abs(env.wind) / 10) * 0.05
            out[ch] += (level * gust * _shaped_noise(rng, n, sample_rate, 120, 900, -3)).astype(np.float32)
    return out


def contact_noise(
    traj: Trajectory,
    materials: list[str],
    n: int,
    sample_rate: int,
    fps: float,
    pans: np.ndarray,
    rng: np.random.Generator,
    settings: SoundSettings,
) -> np.ndarray:
    """Rolling rumble and sliding hiss following each body's per-frame contact speeds: (2, n)."""
    out = np.zeros((2, n), np.float32)
    frames = traj.roll.shape[0]
    if frames == 0 or n == 0:
        return out
    sample_t = np.arange(n) / sample_rate
    frame_t = (np.arange(frames) + 0.5) / fps
    for i, name in enumerate(traj.names):
        _ = name
        mat = material(materials[i])
        for speeds, gain, low, high, tilt in (
            (traj.roll[:, i], settings.roll_gain, 40.0, 700.0, -6.0),
            (traj.slide[:, i], settings.slide_gain * (0.3 if mat.friction < 0.1 else 1.0), 400.0, 7000.0, -2.0),
        ):
            level = np.clip(speeds / 3.0, 0, 1)
            if float(level.max()) < 0.02:
                continue
            env = np.interp(sample_t, frame_t, level).astype(np.float32)
            noise = _shaped_noise(rng, n, sample_rate, low, high, tilt) * env * gain
            pan = np.interp(sample_t, frame_t, pans[:, i])
            a = (np.clip(pan, -1, 1) + 1) * math.pi / 4
            out[0] += (noise * np.cos(a)).astype(np.float32)
            out[1] += (noise * np.sin(a)).astype(np.float32)
    return out


def mix_impacts(
    events: list[ImpactEvent],
    n: int,
    sample_rate: int,
    pace: float,
    time_offset: float,
    pan_of: Callable[[ImpactEvent], float],
    rng: np.random.Generator,
    settings: SoundSettings,
) -> np.ndarray:
    """Place each impact at its own sample: video time = simulated time / pace + offset. (2, n)."""
    out = np.zeros((2, n), np.float32)
    for event in events:
        start = round((event.time / pace + time_offset) * sample_rate)
        sound = impact_sound(event, rng, sample_rate, pace) * settings.impact_gain
        if start >= n or start + sound.size <= 0:
            continue
        lo = max(0, -start)
        seg = sound[lo : max(lo, min(sound.size, n - start))]
        left, right = _pan(pan_of(event))
        out[0, start + lo : start + lo + seg.size] += seg * left
        out[1, start + lo : start + lo + seg.size] += seg * right
    return out


def place_mono(out: np.ndarray, mono: np.ndarray, rate: int, start_s: float, pan: float, sample_rate: int) -> None:
    """Mix a mono clip (resampled to the output rate) into `out` (2, n) at `start_s`, panned."""
    if mono.size == 0:
        return
    if rate != sample_rate:
        n_out = round(mono.size * sample_rate / rate)
        mono = np.interp(np.arange(n_out) * (rate / sample_rate), np.arange(mono.size), mono).astype(np.float32)
    start = round(start_s * sample_rate)
    end = min(out.shape[1], start + mono.size)
    if end <= start:
        return
    left, right = _pan(pan)
    out[0, start:end] += mono[: end - start] * left
    out[1, start:end] += mono[: end - start] * right


def limit(audio: np.ndarray, headroom: float) -> np.ndarray:
    """Scale down (never up) so the peak stays under `headroom`; keeps relative loudness intact."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > headroom:
        audio = audio * (headroom / peak)
    return audio.astype(np.float32)


def envelope_per_frame(mono: np.ndarray, rate: int, start_s: float, frames: int, fps: float) -> np.ndarray:
    """RMS loudness of a line per video frame, 0..1: drives the speaking figure's mouth."""
    out = np.zeros(frames, np.float32)
    if mono.size == 0:
        return out
    hop = rate / fps
    for f in range(frames):
        a = round((f / fps - start_s) * rate)
        b = round(a + hop)
        if b <= 0 or a >= mono.size:
            continue
        seg = mono[max(a, 0) : min(b, mono.size)]
        if seg.size:
            out[f] = float(np.sqrt(np.mean(seg * seg)))
    peak = float(out.max())
    return out / peak if peak > 0 else out
