"""What a figure wears: colour roles (clothes, skin, fur) per kind, and its limbs as drawable bodies."""

from __future__ import annotations

from dataclasses import dataclass

from model.procedural.figures.kinematics import FigureTrack
from model.procedural.figures.rigs import Rig
from model.procedural.scene import BodySpec

Color = tuple[float, float, float]

# Usual coats and clothes; a colour named in the prompt replaces the main one (a person's top, an animal's fur).
DEFAULT_ROLES: dict[str, dict[str, Color]] = {
    "adult": {"top": (0.2, 0.35, 0.7), "bottom": (0.18, 0.2, 0.3), "skin": (0.93, 0.76, 0.62),
              "shoes": (0.12, 0.1, 0.1), "hair": (0.25, 0.16, 0.1)},
    "child": {"top": (0.9, 0.55, 0.15), "bottom": (0.25, 0.3, 0.55), "skin": (0.95, 0.78, 0.64),
              "shoes": (0.85, 0.85, 0.9), "hair": (0.45, 0.3, 0.15)},
    "cat": {"fur": (0.85, 0.5, 0.2), "belly": (0.95, 0.9, 0.85), "beak": (0.9, 0.6, 0.6)},
    "dog": {"fur": (0.78, 0.46, 0.2), "belly": (0.9, 0.85, 0.75), "beak": (0.1, 0.08, 0.08)},
    "horse": {"fur": (0.45, 0.28, 0.15), "belly": (0.35, 0.22, 0.12), "beak": (0.1, 0.08, 0.06)},
    "bird": {"fur": (0.35, 0.45, 0.85), "belly": (0.25, 0.3, 0.6), "beak": (0.95, 0.7, 0.15)},
}  # fmt: skip
MAIN_ROLE = {"adult": "top", "child": "top", "cat": "fur", "dog": "fur", "horse": "fur", "bird": "fur"}


@dataclass(frozen=True)
class FigureLook:
    roles: dict[str, Color]
    material: str  # what its limbs sound and shine like: cloth for people, fur for animals


def look_for(kind: str, color: Color | None = None, secondary: Color | None = None) -> FigureLook:
    """The kind's usual colours with the prompt's colour on its main part ("a red shirt", "a black cat")."""
    roles = dict(DEFAULT_ROLES[kind])
    if color is not None:
        roles[MAIN_ROLE[kind]] = color
    if secondary is not None:
        roles["bottom" if kind in {"adult", "child"} else "belly"] = secondary
    return FigureLook(roles, "cloth")


def limb_bodies(owner: str, rig: Rig, track: FigureTrack, look: FigureLook) -> list[BodySpec]:
    """One drawable body per limb, named `owner/limb`, at its depth, posed at the track's first frame."""
    out = []
    for i, limb in enumerate(rig.limbs):
        color = look.roles.get(limb.color, look.roles.get("fur", (0.5, 0.5, 0.5)))
        x, y, angle = (float(v) for v in track.poses[0, i])
        if limb.shape == "sphere":
            size = (limb.width, limb.width, limb.width)
            shape = "sphere"
        else:
            size = (limb.width, limb.length / 2, limb.depth)
            shape = "box"
        out.append(BodySpec(id=f"{owner}/{limb.name}", kind=f"{rig.kind}_{limb.name}", shape=shape, size=size,
                            material=look.material, color=color, color_name="", position=(x, y), angle=angle,
                            z=float(track.depth[i]), static=True))  # fmt: skip
    return out
