"""Each material sounds like itself when it hits: rings, thuds, shatters and splashes from the same impact events."""

from __future__ import annotations

import numpy as np

from model.procedural.physics import ImpactEvent
from model.procedural.sound import SAMPLE_RATE, impact_sound

RATE = SAMPLE_RATE


def _hit(material: str, other: str = "concrete", speed: float = 3.0, size: float = 0.1) -> np.ndarray:
    event = ImpactEvent(0.0, "thing", "floor", speed, 0.0, 0.0, 0.0, material, other, size)
    return impact_sound(event, np.random.default_rng(0), RATE)


def _centroid(sound: np.ndarray) -> float:
    """Spectral centroid (Hz) of the first 100 ms: where the sound's brightness sits."""
    seg = sound[: RATE // 10].astype(np.float64)
    power = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(seg.size, 1 / RATE)
    return float((freqs * power).sum() / power.sum())


def _lasts(sound: np.ndarray, level: float = 0.05) -> float:
    """Seconds until the sound last rises above `level` of its peak."""
    loud = np.nonzero(np.abs(sound) > level * np.abs(sound).max())[0]
    return float(loud[-1]) / RATE


def test_metal_rings_brighter_and_longer_than_wood_and_rubber() -> None:
    metal, wood, rubber = _hit("metal"), _hit("wood"), _hit("rubber")
    assert _centroid(metal) > 1.5 * _centroid(wood) > 1.5 * _centroid(rubber)
    assert _lasts(metal) > 2 * _lasts(wood)


def test_stone_is_a_dull_short_knock() -> None:
    stone, metal = _hit("stone", "stone"), _hit("metal", "stone")
    assert _lasts(stone) < 0.5 * _lasts(metal)


def test_glass_shatters_when_it_lands_hard_and_only_then() -> None:
    soft, hard = _hit("glass", speed=2.0), _hit("glass", speed=6.0)
    # Breaking adds a shower of small shards, each ringing at its own high pitch: the half second after the crack
    # holds energy at many pitches above 3 kHz, where a plain ring of the same glass has only its few modes.
    assert _pitches_above(hard, 3000) > 3 * _pitches_above(soft, 3000)


def _pitches_above(sound: np.ndarray, low: float) -> int:
    """How many 100 Hz bands above `low` carry at least 1 % of the strongest band's power, 0.1-0.6 s in."""
    seg = sound[int(0.1 * RATE) : int(0.6 * RATE)].astype(np.float64)
    power = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(seg.size, 1 / RATE)
    bands = np.array([power[(freqs >= f) & (freqs < f + 100)].sum() for f in np.arange(low, 16000, 100)])
    return int((bands > 0.01 * bands.max()).sum())


def test_water_is_a_splash_not_a_ring() -> None:
    splash, knock = _hit("stone", "water", speed=4.0), _hit("stone", "concrete", speed=4.0)
    # A splash is broadband and washes on: flat spectrum (no few strong modes) and longer than the knock.
    assert _lasts(splash) > 2 * _lasts(knock)
    seg = splash[: RATE // 5].astype(np.float64)
    power = np.abs(np.fft.rfft(seg)) ** 2 + 1e-12
    flatness = np.exp(np.log(power).mean()) / power.mean()
    seg_k = knock[: RATE // 5].astype(np.float64)
    power_k = np.abs(np.fft.rfft(seg_k)) ** 2 + 1e-12
    assert flatness > 3 * (np.exp(np.log(power_k).mean()) / power_k.mean())


def test_harder_hits_are_louder() -> None:
    assert np.abs(_hit("wood", speed=5.0)).max() > 1.5 * np.abs(_hit("wood", speed=1.5)).max()
