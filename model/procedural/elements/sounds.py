"""Sounds of water and weather, synthesised: a splash, pouring, rain, wind and footsteps. Mono float32 arrays;
the caller places them at the event's sample (model/procedural/sound.place_mono)."""

from __future__ import annotations

import math

import numpy as np


def _noise(rng: np.random.Generator, n: int, sample_rate: int, low: float, high: float) -> np.ndarray:
    """White noise band-passed to [low, high] Hz in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spec[(freqs < low) | (freqs > high)] = 0
    out = np.fft.irfft(spec, n)
    peak = float(np.abs(out).max()) or 1.0
    return out / peak


def splash_sound(speed: float, size: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A body entering water: a low 'plunk' (the air cavity closing, lower for a bigger body), a broadband burst
    of spray, then a patter of droplets falling back for about half a second."""
    seconds = 0.25 + min(speed, 8.0) * 0.08
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    loud = min(1.0, 0.25 + speed / 6.0)
    cavity = 90.0 + 60.0 / max(size, 0.05)  # Minnaert-like: bigger bubbles ring lower
    plunk = np.exp(-t / 0.05) * np.sin(2 * math.pi * cavity * t * (1 + 0.6 * np.exp(-t / 0.03)))
    spray = _noise(rng, n, sample_rate, 600.0, 9000.0) * np.exp(-t / (0.05 + 0.02 * speed)) * (1 - np.exp(-t / 0.002))
    patter = np.zeros(n)
    for _ in range(int(10 + 12 * loud)):
        at = int(rng.uniform(0.05, seconds * 0.9) * sample_rate)
        length = int(0.012 * sample_rate)
        f = rng.uniform(900, 2600)
        drop = np.exp(-np.arange(length) / (0.003 * sample_rate)) * np.sin(
            2 * math.pi * f * np.arange(length) / sample_rate
        )
        end = min(n, at + length)
        patter[at:end] += drop[: end - at] * rng.uniform(0.1, 0.35)
    out = loud * (0.8 * plunk + 0.6 * spray + patter)
    return out.astype(np.float32)


def pour_sound(seconds: float, rng: np.random.Generator, sample_rate: int, fill: float = 0.0) -> np.ndarray:
    """Liquid poured into a vessel: a gurgling noise whose resonance rises as the vessel fills (fill 0 -> 1);
    poured onto a table or the floor (fill < 0), a flatter splatter."""
    n = int(max(seconds, 0.05) * sample_rate)
    t = np.arange(n) / sample_rate
    base = _noise(rng, n, sample_rate, 300.0, 5000.0)
    if fill < 0:
        return (0.35 * base * (1 - np.exp(-t / 0.02)) * np.exp(-t / max(seconds, 0.1) * 0.5)).astype(np.float32)
    pitch = 400.0 + 900.0 * np.clip(fill + t / max(seconds, 0.1) * (1 - fill), 0, 1)
    resonance = np.sin(2 * math.pi * np.cumsum(pitch) / sample_rate)
    gurgle = 0.5 + 0.5 * np.sin(2 * math.pi * 9.0 * t + 3 * np.sin(2 * math.pi * 2.3 * t))
    return (0.3 * base * (0.4 + 0.6 * gurgle) + 0.15 * resonance * gurgle).astype(np.float32) * np.minimum(1, t / 0.03)


def rain_sound(seconds: float, intensity: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Steady hiss plus distinct drops: more drops and a louder hiss the harder it rains."""
    n = int(seconds * sample_rate)
    hiss = _noise(rng, n, sample_rate, 1500.0, 12000.0) * 0.12 * intensity
    drops = np.zeros(n)
    count = int(seconds * 60 * intensity)
    length = int(0.006 * sample_rate)
    k = np.arange(length)
    for at in rng.integers(0, max(1, n - length), count):
        # Each drop is a tiny bright ping (a few kHz), not a thump.
        f = rng.uniform(2500.0, 6000.0)
        drops[at : at + length] += np.exp(-k / (0.0012 * sample_rate)) * np.sin(2 * math.pi * f * k / sample_rate) * (
            rng.uniform(0.05, 0.3))  # fmt: skip
    return (hiss + drops * intensity).astype(np.float32)


def wind_sound(seconds: float, wind: float, rng: np.random.Generator, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Low rumble and a whistle that swell with the gusts (model/procedural/elements/wind.gust)."""
    from model.procedural.elements.wind import gust

    n = int(seconds * sample_rate)
    strength = min(1.0, abs(wind) / 10.0)
    rumble = _noise(rng, n, sample_rate, 40.0, 400.0 + 60 * abs(wind))
    env_t = np.arange(0, seconds + 0.1, 0.05)
    env = np.array([gust(float(x), seed) for x in env_t])
    swell = np.interp(np.arange(n) / sample_rate, env_t, env)
    return (rumble * 0.35 * strength * swell).astype(np.float32)


def footstep_sound(softness: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """One footfall: a short thud plus a scuff; softness 1 is a paw on grass, 0 a shoe on concrete."""
    n = int(0.09 * sample_rate)
    t = np.arange(n) / sample_rate
    thud = np.sin(2 * math.pi * (70 + 60 * (1 - softness)) * t) * np.exp(-t / 0.02)
    scuff = _noise(rng, n, sample_rate, 800.0, 6000.0) * np.exp(-t / 0.015) * (1 - softness) * 0.5
    return (0.4 * (thud + scuff)).astype(np.float32)
