"""The still part of the world as primitives: fixtures and standing figures."""

from __future__ import annotations

import math

import torch

from model.procedural.materials import material
from model.procedural.primitives import EDGES, HEAD, Primitive
from model.procedural.scene import BodySpec, SceneSpec
from model.procedural.sets import set_pieces


def figure_parts(o: BodySpec, mouth: float, face: torch.Tensor | None) -> tuple[list[Primitive], Primitive]:
    """A standing figure as boxes and a sphere head; the head is returned apart because it moves when speaking."""
    x, z = o.position[0], o.z
    s = o.size[1] / 0.85
    robot = o.kind == "robot"
    clothes = o.color
    skin = (0.75, 0.77, 0.8) if robot else (0.93, 0.76, 0.62)
    legs = (0.45, 0.47, 0.5) if robot else (0.18, 0.2, 0.3)
    shin = 0.7 if robot else 0.1
    parts = [
        Primitive("box", (x, 1.05 * s, z), (0.2 * s, 0.32 * s, 0.12 * s), 0.0, clothes, shin, EDGES, owner=o.id),
        Primitive("box", (x - 0.1 * s, 0.37 * s, z), (0.075 * s, 0.37 * s, 0.08 * s), 0.0, legs, shin, owner=o.id),
        Primitive("box", (x + 0.1 * s, 0.37 * s, z), (0.075 * s, 0.37 * s, 0.08 * s), 0.0, legs, shin, owner=o.id),
        Primitive("box", (x - 0.27 * s, 1.02 * s, z), (0.05 * s, 0.3 * s, 0.055 * s), 0.0, clothes, shin, owner=o.id),
        Primitive("box", (x + 0.27 * s, 1.02 * s, z), (0.05 * s, 0.3 * s, 0.055 * s), 0.0, clothes, shin, owner=o.id),
    ]
    r = 0.15 * s
    head = Primitive("sphere", (x, 1.55 * s, z), (r, r, r), 0.0, skin, shin, HEAD, mouth, face, o.id)
    return parts, head


def static_primitives(scene: SceneSpec, animated_heads: frozenset[str] = frozenset()) -> list[Primitive]:
    """Fixtures, figures and set dressing as primitives, cast once per shot; heads in `animated_heads` are drawn
    per frame."""
    prims: list[Primitive] = []
    for f in scene.fixtures:
        shin = material(f.material).shininess
        for cx, cy, cz, hx, hy, hz, angle in f.boxes:
            prims.append(Primitive("box", (cx, cy, cz), (hx, hy, hz), angle, f.color, shin, EDGES, owner=f.kind))
        if len(f.circles) == 2:
            # The rim: a ring of small spheres around the midpoint of its two cross-section points.
            (x0, y, r0), (x1, _, _) = f.circles
            mid, radius = (x0 + x1) / 2, abs(x0 - x1) / 2
            for k in range(12):
                a = 2 * math.pi * k / 12
                c = (mid + radius * math.cos(a), y, radius * math.sin(a))
                prims.append(Primitive("sphere", c, (r0 * 1.3,) * 3, 0.0, (0.95, 0.35, 0.1), 0.5, owner="rim"))
    for o in scene.objects:
        if o.shape == "figure":
            parts, head = figure_parts(o, 0.0, None)
            prims.extend(parts if o.id in animated_heads else [*parts, head])
    prims.extend(set_pieces(scene))  # the place's furniture and backdrops, seen only
    return prims
