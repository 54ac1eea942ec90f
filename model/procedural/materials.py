"""Physical and acoustic properties of the materials the prompt grammar knows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    """How a material moves, looks and sounds.

    `modes` are the resonant frequencies (Hz) of a 10 cm object of this material; bigger objects ring lower.
    `decay` is each mode's 1/e time in seconds; `noise` is how much of the hit is a broadband click.
    """

    name: str
    density: float  # kg/m^3
    restitution: float
    friction: float
    color: tuple[float, float, float]
    shininess: float  # 0 matte .. 1 mirror-like highlight
    modes: tuple[float, ...]
    decay: float
    noise: float
    hollow: bool = False  # a hollow object (ball, bottle) rings with a body resonance
    # Rolling resistance: the share of the normal force that resists rolling (felt on a floor soaks up a lot).
    rolling: float = 0.015
    breaks: bool = False  # shatters when it lands hard (glass): the impact sound is breaking, not ringing


MATERIALS: dict[str, Material] = {
    "rubber": Material("rubber", 1100, 0.80, 0.90, (0.75, 0.15, 0.12), 0.25, (180.0, 410.0, 760.0), 0.045, 0.35,
                       hollow=True),
    "wood": Material("wood", 650, 0.45, 0.55, (0.62, 0.42, 0.24), 0.10, (620.0, 1480.0, 2700.0), 0.060, 0.30),
    "metal": Material("metal", 7800, 0.55, 0.35, (0.70, 0.72, 0.75), 0.90, (1250.0, 3390.0, 6180.0, 9800.0), 0.80,
                      0.12),
    "glass": Material("glass", 2500, 0.60, 0.40, (0.75, 0.88, 0.92), 0.95, (2100.0, 4900.0, 8300.0), 0.35, 0.20,
                      breaks=True),
    "plastic": Material("plastic", 950, 0.55, 0.45, (0.20, 0.45, 0.85), 0.45, (820.0, 1900.0, 3600.0), 0.040, 0.40),
    "stone": Material("stone", 2600, 0.30, 0.70, (0.55, 0.54, 0.50), 0.05, (900.0, 2300.0, 4100.0), 0.030, 0.55),
    "ice": Material("ice", 917, 0.35, 0.03, (0.80, 0.92, 0.98), 0.85, (1500.0, 3700.0, 6400.0), 0.090, 0.30),
    "concrete": Material("concrete", 2400, 0.25, 0.75, (0.58, 0.58, 0.56), 0.03, (260.0, 720.0, 1600.0), 0.020, 0.65),
    "leather": Material("leather", 900, 0.70, 0.70, (0.85, 0.40, 0.12), 0.20, (150.0, 360.0, 700.0), 0.050, 0.45,
                        hollow=True),
    "felt": Material("felt", 400, 0.65, 0.80, (0.80, 0.90, 0.20), 0.02, (300.0, 700.0), 0.025, 0.60, hollow=True,
                     rolling=0.12),
    "cloth": Material("cloth", 1000, 0.10, 0.80, (0.40, 0.40, 0.55), 0.02, (150.0,), 0.020, 0.40),
    # Not a solid: a pool's water lifts and drags what is in it; its "impact" is a splash.
    "water": Material("water", 1000, 0.0, 0.0, (0.16, 0.45, 0.72), 0.9, (700.0, 1300.0), 0.15, 0.9),
}  # fmt: skip

MATERIAL_SYNONYMS: dict[str, str] = {
    "rubber": "rubber", "rubbery": "rubber", "bouncy": "rubber",
    "wood": "wood", "wooden": "wood", "timber": "wood", "oak": "wood", "pine": "wood",
    "metal": "metal", "metallic": "metal", "steel": "metal", "iron": "metal", "aluminium": "metal",
    "aluminum": "metal", "tin": "metal", "chrome": "metal", "copper": "metal", "brass": "metal",
    "glass": "glass", "glassy": "glass", "crystal": "glass",
    "plastic": "plastic", "plastics": "plastic",
    "stone": "stone", "rock": "stone", "rocky": "stone", "marble": "stone", "granite": "stone",
    "ice": "ice", "icy": "ice", "frozen": "ice",
    "concrete": "concrete", "cement": "concrete", "asphalt": "concrete", "tarmac": "concrete",
    "leather": "leather",
}  # fmt: skip


def material(name: str) -> Material:
    """The named material; unknown names fall back to plastic rather than failing a whole clip."""
    return MATERIALS.get(name, MATERIALS["plastic"])
