"""Places: the look of the ground and back wall, and set dressing that stands behind the action.

Everything here is only seen, never touched: it stands at least 2 m behind the action (z <= -2), where nothing
the physics moves can reach, so it needs no collision. What the action meets (tables, walls, stairs, the pool's
water) is a fixture and belongs to the layout.
"""

from __future__ import annotations

import torch

from model.procedural.primitives import EDGES, PLAIN, Primitive
from model.procedural.scene import SceneSpec
from model.procedural.shading import fract

DEFAULT_FLOORS = {"wood", "concrete"}  # a floor the prompt did not choose: the place may dress it
WALL = {  # indoor back wall colour per place
    "gym": (0.82, 0.84, 0.86), "kitchen": (0.93, 0.92, 0.88), "living_room": (0.80, 0.70, 0.58),
}  # fmt: skip
PLAIN_WALL = (0.86, 0.82, 0.74)


def ground_albedo(p: torch.Tensor, t: torch.Tensor, base: torch.Tensor, material: str, place: str,
                  pattern: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The floor's colour at points p (P, 3) seen from distance t: `pattern` is the plain floor's own texture
    (the material's tiles or planks), used where the place adds nothing."""
    if material not in DEFAULT_FLOORS or not place:
        return pattern
    x, z = p[:, 0], p[:, 2]
    fade = (1.0 - t / 25.0).clamp(0, 1)
    if place == "gym":
        maple = p.new_tensor((0.80, 0.58, 0.34))
        plank = torch.floor(x / 0.07)
        tone = 0.92 + 0.08 * fract(torch.sin(plank * 12.9898) * 43758.5453)
        line = ((z - 1.6).abs() < 0.03) | ((x - 1.0).abs() < 0.03)  # court lines
        col = maple * tone[:, None]
        return torch.where((line & (fade > 0))[:, None], p.new_tensor((0.95, 0.95, 0.93)).expand_as(col), col)
    if place == "kitchen":
        check = (torch.floor(x / 0.3) + torch.floor(z / 0.3)) % 2
        light, dark = p.new_tensor((0.90, 0.89, 0.86)), p.new_tensor((0.22, 0.22, 0.25))
        col = torch.where(check[:, None] > 0, dark.expand_as(p), light.expand_as(p))
        mean = (light + dark) / 2  # far tiles blend to their average, so they never shimmer
        return mean + (col - mean) * fade[:, None]
    if place == "living_room":
        rug = (x.abs() < 2.2) & (z > -1.6) & (z < 1.2)
        border = rug & ((x.abs() > 2.0) | (z < -1.4) | (z > 1.0))
        col = torch.where(rug[:, None], p.new_tensor((0.55, 0.16, 0.14)).expand_as(p), pattern)
        return torch.where(border[:, None], p.new_tensor((0.85, 0.72, 0.45)).expand_as(p), col)
    if place == "street":
        asphalt = p.new_tensor((0.24, 0.24, 0.26)) * (0.95 + 0.05 * torch.sin(x * 7.1 + z * 5.3))[:, None]
        kerb = z < -2.0  # the pavement behind the road
        dash = ((z - 1.2).abs() < 0.06) & (fract(x / 3.0) < 0.5)
        col = torch.where(kerb[:, None], p.new_tensor((0.55, 0.54, 0.52)).expand_as(p), asphalt)
        return torch.where(dash[:, None], p.new_tensor((0.92, 0.9, 0.8)).expand_as(p), col)
    if place == "beach":
        sand = p.new_tensor((0.86, 0.76, 0.55)) * (0.96 + 0.04 * torch.sin(x * 9.0 + torch.sin(z * 4.0)))[:, None]
        sea = p.new_tensor((0.12, 0.42, 0.58))
        foam = (z + 6.0).abs() < 0.25 + 0.1 * torch.sin(x * 1.3)
        col = torch.where((z < -6.0)[:, None], sea.expand_as(p), sand)
        return torch.where(foam[:, None], p.new_tensor((0.93, 0.95, 0.95)).expand_as(p), col)
    if place == "pool":
        check = (torch.floor(x / 0.25) + torch.floor(z / 0.25)) % 2
        return torch.where(check[:, None] > 0, p.new_tensor((0.85, 0.9, 0.92)).expand_as(p),
                           p.new_tensor((0.75, 0.84, 0.88)).expand_as(p))  # fmt: skip
    return pattern


def wall_albedo(p: torch.Tensor, place: str) -> torch.Tensor:
    """An indoor back wall's colour at points p (P, 3): a skirting board, and the place's own band or tiles."""
    col = p.new_tensor(WALL.get(place, PLAIN_WALL)).expand_as(p)
    y = p[:, 1]
    if place == "gym":
        col = torch.where(((y > 0.12) & (y < 1.6))[:, None], p.new_tensor((0.16, 0.28, 0.55)).expand_as(p), col)
    elif place == "kitchen":
        tiles = (y > 0.9) & (y < 1.5) & ((fract(p[:, 0] / 0.15) < 0.06) | (fract(y / 0.15) < 0.06))
        col = torch.where(tiles[:, None], col * 0.8, col)
    skirting = (y < 0.12).float()[:, None] * 0.35
    return col * (1 - skirting)


def _box(center: tuple[float, float, float], half: tuple[float, float, float], color: tuple[float, float, float],
         shininess: float = 0.1, pattern: int = EDGES) -> Primitive:  # fmt: skip
    return Primitive("box", center, half, 0.0, color, shininess, pattern, owner="set")


def _ball(center: tuple[float, float, float], r: float, color: tuple[float, float, float]) -> Primitive:
    return Primitive("sphere", center, (r, r, r), 0.0, color, 0.6, PLAIN, owner="set")


def set_pieces(scene: SceneSpec) -> list[Primitive]:
    """Furniture and backdrops for the scene's place, behind the action (z <= -2)."""
    place, indoor = scene.environment.place, scene.environment.setting == "indoor"
    out: list[Primitive] = []
    if place == "kitchen" and indoor:
        out += [_box((0.0, 0.45, -3.65), (2.4, 0.45, 0.32), (0.55, 0.38, 0.25)),  # counter
                _box((0.0, 0.92, -3.65), (2.45, 0.025, 0.34), (0.85, 0.85, 0.83), 0.5),  # worktop
                _box((0.0, 2.0, -3.8), (2.4, 0.35, 0.18), (0.62, 0.44, 0.3)),  # wall cupboards
                _box((3.0, 0.95, -3.55), (0.45, 0.95, 0.4), (0.9, 0.9, 0.92), 0.6)]  # fridge  # fmt: skip
    elif place == "living_room" and indoor:
        out += [_box((-0.6, 0.22, -3.4), (1.3, 0.22, 0.45), (0.3, 0.38, 0.5)),  # sofa seat
                _box((-0.6, 0.6, -3.78), (1.3, 0.4, 0.14), (0.3, 0.38, 0.5)),  # sofa back
                _box((-2.0, 0.38, -3.4), (0.12, 0.38, 0.45), (0.27, 0.34, 0.46)),
                _box((0.8, 0.38, -3.4), (0.12, 0.38, 0.45), (0.27, 0.34, 0.46)),
                _box((2.2, 0.8, -3.7), (0.025, 0.8, 0.025), (0.2, 0.2, 0.2)),  # floor lamp
                _ball((2.2, 1.7, -3.7), 0.2, (1.0, 0.93, 0.75)),
                _box((-0.6, 1.8, -3.96), (0.6, 0.35, 0.02), (0.3, 0.5, 0.35))]  # picture  # fmt: skip
    elif place == "gym" and indoor:
        out += [
            _box((x, 0.25 + 0.3 * k, -3.2 - 0.3 * k), (3.0, 0.15, 0.15), (0.5, 0.4, 0.3))
            for k in range(3)
            for x in (0.0,)
        ]  # bleachers
    elif place == "street":
        for k, (x, h, col) in enumerate(
            (
                (-7.0, 5.0, (0.62, 0.44, 0.38)),
                (-2.5, 7.0, (0.7, 0.66, 0.58)),
                (2.5, 4.0, (0.5, 0.52, 0.58)),
                (7.0, 6.0, (0.66, 0.56, 0.46)),
            )
        ):
            out.append(_box((x, h / 2, -9.0 - (k % 2)), (2.2, h / 2, 1.0), col))
        for x in (-4.0, 4.0):
            out += [_box((x, 1.6, -2.6), (0.05, 1.6, 0.05), (0.25, 0.27, 0.3), 0.5),
                    _ball((x, 3.25, -2.6), 0.16, (1.0, 0.92, 0.7))]  # street lamps  # fmt: skip
    elif place == "beach":
        out += [_box((3.0, 1.0, -3.0), (0.03, 1.0, 0.03), (0.9, 0.9, 0.9)),  # parasol
                _box((3.0, 2.0, -3.0), (0.9, 0.04, 0.9), (0.9, 0.25, 0.2), 0.2, PLAIN)]  # fmt: skip
    return out
