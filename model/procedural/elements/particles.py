"""Particles in world space: splash droplets, a pour's stream, rain and snow. Each is a pure function of time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

G = 9.81
WATER = (0.72, 0.84, 0.95)
FOAM = (0.93, 0.96, 0.99)


@dataclass
class Particles:
    """positions: (F, P, 3) world x, y, z per frame; alive: (F, P) whether each is drawn; radius (P,) metres."""

    positions: np.ndarray
    alive: np.ndarray
    radius: np.ndarray
    color: tuple[float, float, float]

    @staticmethod
    def empty(frames: int) -> Particles:
        return Particles(np.zeros((frames, 0, 3)), np.zeros((frames, 0), bool), np.zeros(0), WATER)

    def __add__(self, other: Particles) -> Particles:
        return Particles(np.concatenate([self.positions, other.positions], axis=1),
                         np.concatenate([self.alive, other.alive], axis=1),
                         np.concatenate([self.radius, other.radius]), self.color)  # fmt: skip


def splash(
    time: float, x: float, surface: float, z: float, speed: float, size: float, times: np.ndarray, seed: int
) -> Particles:
    """Droplets thrown up where a body breaks the surface at `speed` m/s: more and higher for a faster, bigger
    entry; each flies ballistically and is gone when it falls back through the surface."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, int(time * 1000) & 0xFFFF, 11])
    count = int(np.clip(60 * speed * max(size, 0.05) / 0.1, 12, 240))
    up = rng.uniform(0.35, 0.9, count) * min(speed, 8.0) * 0.9
    spread = rng.normal(0.0, 0.35, (count, 2)) * min(speed, 8.0) * 0.5
    start = np.stack([x + rng.normal(0, size * 0.6, count), np.full(count, surface),
                      z + rng.normal(0, size * 0.6, count)], axis=-1)  # fmt: skip
    velocity = np.stack([spread[:, 0], up, spread[:, 1]], axis=-1)
    tau = (np.asarray(times, np.float64) - time)[:, None, None]  # (F, 1, 1)
    pos = start[None] + velocity[None] * tau
    pos[..., 1] -= 0.5 * G * tau[..., 0] ** 2
    alive = (tau[..., 0] >= 0) & (pos[..., 1] >= surface - 1e-6)
    radius = rng.uniform(0.006, 0.02, count) * max(1.0, size / 0.15) ** 0.5
    return Particles(pos, alive, radius, WATER)


def pour(
    start: float,
    end: float,
    spout: tuple[float, float, float],
    velocity: tuple[float, float],
    floor: float,
    times: np.ndarray,
    seed: int,
    rate: float = 60.0,
) -> Particles:
    """A stream from a tipped glass or bottle: drops leave the spout at `rate` per second from `start` to `end`
    with the spout's velocity and fall until they reach `floor` (a table top, a glass, the ground)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 13])
    count = max(1, int((end - start) * rate))
    born = start + (np.arange(count) + rng.uniform(0, 1, count)) / rate
    jitter = rng.normal(0.0, 0.05, (count, 2))
    vx = velocity[0] * (1 + jitter[:, 0])
    vy = velocity[1] + jitter[:, 1]
    tau = np.asarray(times, np.float64)[:, None] - born[None]  # (F, P)
    x = spout[0] + vx[None] * tau
    y = spout[1] + vy[None] * tau - 0.5 * G * tau**2
    z = np.broadcast_to(spout[2] + rng.normal(0, 0.004, count), tau.shape)
    alive = (tau >= 0) & (y >= floor)
    radius = np.full(count, 0.007)
    return Particles(np.stack([x, y, z], axis=-1), alive, radius, WATER)


def _falling(
    times: np.ndarray,
    area: tuple[float, float, float, float],
    top: float,
    floor: float,
    count: int,
    fall: float,
    drift: float,
    sway: float,
    seed: int,
    salt: int,
) -> np.ndarray:
    """(F, P, 3) points falling at `fall` m/s through a box, wrapping from floor to top; `drift` sideways (wind)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, salt])
    x0, x1, z0, z1 = area
    px, pz = rng.uniform(x0, x1, count), rng.uniform(z0, z1, count)
    phase = rng.uniform(0, 1, count)
    t = np.asarray(times, np.float64)[:, None]
    height = top - floor
    frac = (phase[None] + t * fall / height) % 1.0
    y = top - frac * height
    x = x0 + (px[None] - x0 + drift * t + sway * np.sin(2.1 * t + 6.28 * phase[None])) % (x1 - x0)
    z = np.broadcast_to(pz, y.shape)
    return np.stack([x, y, z], axis=-1)


def rain(times: np.ndarray, intensity: float, wind: float, area: tuple[float, float, float, float], seed: int,
         top: float = 6.0, floor: float = 0.0) -> Particles:  # fmt: skip
    """Drops at ~9 m/s, drifting with the wind; a downpour (intensity 1) draws about 1500 of them."""
    count = int(1500 * max(0.0, min(intensity, 1.0)))
    pos = _falling(times, area, top, floor, count, 9.0, wind, 0.0, seed, 17)
    return Particles(pos, np.ones(pos.shape[:2], bool), np.full(count, 0.006), (0.75, 0.8, 0.88))


def snow(times: np.ndarray, intensity: float, wind: float, area: tuple[float, float, float, float], seed: int,
         top: float = 6.0, floor: float = 0.0) -> Particles:  # fmt: skip
    """Flakes at ~1 m/s that sway as they fall and drift with the wind."""
    count = int(900 * max(0.0, min(intensity, 1.0)))
    pos = _falling(times, area, top, floor, count, 1.0, wind * 0.6, 0.25, seed, 19)
    return Particles(pos, np.ones(pos.shape[:2], bool), np.full(count, 0.018), (0.97, 0.97, 1.0))


def ripple_rings(time: float, x: float, surface: float, z: float, speed: float, times: np.ndarray,
                 rings: int = 3, points: int = 48) -> Particles:  # fmt: skip
    """Rings spreading from a splash at ~0.6 m/s across the surface, fading after two seconds; drawn as foam."""
    tau = np.asarray(times, np.float64) - time
    angles = np.linspace(0, 2 * math.pi, points, endpoint=False)
    out = []
    for k in range(rings):
        r = np.clip(tau - 0.18 * k, 0, None) * (0.45 + 0.1 * k) * min(1.0, 0.4 + speed / 5)
        ring = np.stack([x + r[:, None] * np.cos(angles)[None], np.full((tau.size, points), surface + 0.005),
                         z + r[:, None] * np.sin(angles)[None]], axis=-1)  # fmt: skip
        out.append(ring)
    pos = np.concatenate(out, axis=1)
    alive = np.repeat(((tau > 0) & (tau < 2.0))[:, None], pos.shape[1], axis=1)
    return Particles(pos, alive, np.full(pos.shape[1], 0.01), FOAM)


def drips(times: np.ndarray, intensity: float, area: tuple[float, float, float, float], seed: int,
          floor: float = 0.0) -> Particles:  # fmt: skip
    """Rain landing: each frame a fresh scatter of tiny bright splashes on the ground, one frame long."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 29])
    frames = np.asarray(times).size
    count = int(260 * max(0.0, min(intensity, 1.0)))
    x0, x1, z0, z1 = area
    pos = np.stack([rng.uniform(x0, x1, (frames, count)), np.full((frames, count), floor + 0.01),
                    rng.uniform(z0, z1, (frames, count))], axis=-1)  # fmt: skip
    return Particles(pos, np.ones((frames, count), bool), np.full(count, 0.012), (0.82, 0.86, 0.92))


GLINT = (0.97, 0.99, 1.0)
SHARD_BOUNCE = 0.3  # a sliver keeps little of its fall when it hits the floor
SHARD_FRICTION = 6.0  # m/s^2 a sliding sliver loses: glass on a floor stops within a few centimetres
SHARD_STEP = 1 / 240  # s: fine enough that a bounce lands within a millimetre of the surface


def shards(time: float, x: float, surface: float, z: float, speed: float, size: float, times: np.ndarray,
           seed: int, color: tuple[float, float, float], count: int = 40) -> Particles:  # fmt: skip
    """Glass breaking where a body hit `surface` at `speed` m/s: fragments burst out from the impact, fall,
    bounce low on the surface, slide to a stop and stay there scattered (drawn from `time` to the end)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, int(time * 1000) & 0xFFFF, 43])
    hard = min(speed, 8.0)
    heading = rng.uniform(0.0, 2 * math.pi, count)
    out = rng.uniform(0.1, 1.0, count) ** 0.5 * hard * 0.2  # outwards across the floor, in x and depth
    pos = np.stack([x + rng.normal(0, size * 0.4, count), np.full(count, surface + 0.01),
                    z + rng.normal(0, size * 0.4, count)], axis=-1)  # fmt: skip
    vel = np.stack([out * np.cos(heading), rng.uniform(0.1, 0.35, count) * hard, out * np.sin(heading)], axis=-1)
    tau = np.asarray(times, np.float64) - time
    positions = np.zeros((tau.size, count, 3))
    clock = 0.0
    for f in np.argsort(tau, kind="stable"):
        if tau[f] < 0:
            positions[f] = pos  # not drawn (see `alive`); only keeps the array finite
            continue
        while clock < tau[f] - 1e-9:
            dt = min(SHARD_STEP, tau[f] - clock)
            pos, vel = _shard_step(pos, vel, surface, dt)
            clock += dt
        positions[f] = pos
    alive = np.repeat((tau >= 0)[:, None], count, axis=1)
    radius = rng.uniform(0.005, 0.014, count) * max(1.0, size / 0.15) ** 0.5
    return Particles(positions, alive, radius, color)


def _shard_step(pos: np.ndarray, vel: np.ndarray, surface: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """One explicit step of falling fragments that bounce on a level surface and slide to rest on it."""
    vel = vel.copy()
    vel[:, 1] -= G * dt
    pos = pos + vel * dt
    below = pos[:, 1] < surface
    pos[below, 1] = surface
    vel[below, 1] = -vel[below, 1] * SHARD_BOUNCE
    vel[below, 0] *= 0.7  # each bounce scrubs off some of the sideways speed too
    vel[below, 2] *= 0.7
    resting = below & (vel[:, 1] < 0.25)
    vel[resting, 1] = 0.0
    flat = np.hypot(vel[:, 0], vel[:, 2])
    on = (pos[:, 1] <= surface + 1e-6) & (vel[:, 1] == 0.0)
    slow = np.where(on & (flat > 0), np.maximum(flat - SHARD_FRICTION * dt, 0.0) / np.maximum(flat, 1e-9), 1.0)
    vel[:, 0] *= slow
    vel[:, 2] *= slow
    return pos, vel
