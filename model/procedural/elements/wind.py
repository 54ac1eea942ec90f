"""Wind as a force: quadratic drag of moving air on a body's side, with seeded gusts."""

from __future__ import annotations

import math

import numpy as np

AIR_DENSITY = 1.2  # kg/m^3
DRAG_COEFFICIENT = 1.0  # a bluff body


def gust(t: float, seed: int) -> float:
    """A multiplier around 1 that rises and falls over seconds: three incommensurate slow sines per seed."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 23])
    phases = rng.uniform(0, 2 * math.pi, 3)
    return 1.0 + 0.25 * math.sin(0.7 * t + phases[0]) + 0.15 * math.sin(1.9 * t + phases[1]) + 0.08 * math.sin(
        4.3 * t + phases[2])  # fmt: skip


def wind_force(wind: float, vx: float, frontal_area: float, t: float = 0.0, seed: int = 0) -> float:
    """Horizontal force (N) of a `wind` m/s wind (positive blows towards +x) on a body moving at `vx` with
    `frontal_area` m^2 facing it: 0.5 rho Cd A |v_rel| v_rel. It pushes a balloon away and barely moves a brick."""
    relative = wind * gust(t, seed) - vx
    return 0.5 * AIR_DENSITY * DRAG_COEFFICIENT * frontal_area * abs(relative) * relative


def moves_in_wind(mass: float, frontal_area: float, wind: float, friction: float = 0.5) -> bool:
    """Whether the wind's push beats static friction on the ground: light, broad things move."""
    return 0.5 * AIR_DENSITY * DRAG_COEFFICIENT * frontal_area * wind * wind > friction * mass * 9.81
