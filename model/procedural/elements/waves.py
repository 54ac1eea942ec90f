"""Waves on a sea or a lake: a sum of travelling sines for the surface height, and foam along the crests."""

from __future__ import annotations

import math

import numpy as np

from model.procedural.elements.particles import FOAM, Particles

# (amplitude per unit sea state (m), wavelength (m), direction along +x or -x): deep-water waves travel at
# sqrt(g * L / 2pi), so longer waves are faster, as on a real sea.
SWELL = ((0.12, 6.0, -1.0), (0.05, 2.3, -1.0), (0.025, 1.1, 1.0))


def wave_height(x: np.ndarray | float, z: np.ndarray | float, t: np.ndarray | float, sea_state: float) -> np.ndarray:
    """Surface height above the still level at (x, z) and time t; sea_state 0 is a still pool, 1 a lively sea."""
    out = np.zeros(np.broadcast(np.asarray(x), np.asarray(z), np.asarray(t)).shape)
    for amplitude, length, sign in SWELL:
        k = 2 * math.pi / length
        omega = math.sqrt(9.81 * k)
        out = out + sea_state * amplitude * np.sin(
            k * (np.asarray(x) + 0.3 * np.asarray(z)) - sign * omega * np.asarray(t)
        )
    return out


def crest_foam(times: np.ndarray, sea_state: float, x_range: tuple[float, float], z_range: tuple[float, float],
               surface: float, columns: int = 40, rows: int = 6) -> Particles:  # fmt: skip
    """White foam points on the surface where a wave is near its crest: they move with the waves."""
    xs = np.linspace(x_range[0], x_range[1], columns)
    zs = np.linspace(z_range[0], z_range[1], rows)
    grid_x, grid_z = np.meshgrid(xs, zs, indexing="ij")
    gx, gz = grid_x.ravel(), grid_z.ravel()
    t = np.asarray(times, np.float64)[:, None]
    h = wave_height(gx[None], gz[None], t, sea_state)
    peak = sum(a for a, _, _ in SWELL) * sea_state
    alive = h > 0.6 * peak if peak > 0 else np.zeros(h.shape, bool)
    pos = np.stack([np.broadcast_to(gx, h.shape), surface + h + 0.01, np.broadcast_to(gz, h.shape)], axis=-1)
    return Particles(pos, alive, np.full(gx.size, 0.03), FOAM)
