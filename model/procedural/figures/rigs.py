"""Rigs: the limbs of people and animals, their lengths, thicknesses, joints and colours.

Angles are in the picture plane. A limb's world angle `a` points it along (sin a, -cos a): 0 hangs straight
down, pi/2 points forward (the way the figure faces), pi points up. A limb's world angle is its parent's (or the
root's) plus its `rest` angle plus the verb's joint angle, so a verb only says how joints bend away from rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PI = math.pi
RIG_KINDS = ("adult", "child", "cat", "dog", "bird", "horse")


@dataclass(frozen=True)
class Limb:
    """One rigid part. Boxes are `length` long, 2*`width` thick in the picture plane, 2*`depth` across it."""

    name: str
    parent: str | None  # None: hangs from the root (the pelvis, or an animal's hips)
    at: float  # where along the parent it is attached: 0 its joint, 1 its far end
    length: float
    width: float
    depth: float
    side: float  # depth offset from the figure's plane: left limbs nearer the camera, right limbs behind
    color: str  # a colour role: top, bottom, skin, hair, shoes, fur, belly, beak
    rest: float = 0.0
    shape: str = "box"  # box | sphere (a head: radius `width`, centred `length` - `width` from the joint)


@dataclass(frozen=True)
class Rig:
    kind: str
    limbs: tuple[Limb, ...]
    biped: bool
    height: float  # standing height, metres
    feet: tuple[str, ...]  # limbs whose far ends touch the ground when standing
    hands: tuple[str, ...]  # limbs whose far ends hold things (right first)
    head: str

    def limb(self, name: str) -> Limb:
        for limb in self.limbs:
            if limb.name == name:
                return limb
        raise KeyError(f"rig {self.kind!r} has no limb {name!r}")


def _human(kind: str, s: float, head_scale: float) -> Rig:
    """A person facing +x; `s` scales a 1.75 m adult, a child keeps a larger head for its size."""
    r = 0.11 * s * head_scale
    limbs = (
        Limb("thigh_r", None, 0.0, 0.45 * s, 0.075 * s, 0.08 * s, -0.1 * s, "bottom"),
        Limb("shin_r", "thigh_r", 1.0, 0.43 * s, 0.06 * s, 0.065 * s, -0.1 * s, "bottom"),
        Limb("foot_r", "shin_r", 1.0, 0.2 * s, 0.035 * s, 0.05 * s, -0.1 * s, "shoes", rest=PI / 2),
        Limb("upper_arm_r", "torso", 0.93, 0.3 * s, 0.05 * s, 0.055 * s, -0.26 * s, "top", rest=-PI),
        Limb("forearm_r", "upper_arm_r", 1.0, 0.3 * s, 0.042 * s, 0.045 * s, -0.26 * s, "skin"),
        Limb("torso", None, 0.0, 0.52 * s, 0.13 * s, 0.17 * s, 0.0, "top", rest=PI),
        Limb("head", "torso", 1.0, 0.04 * s + 2 * r, r, r, 0.0, "skin", shape="sphere"),
        Limb("thigh_l", None, 0.0, 0.45 * s, 0.075 * s, 0.08 * s, 0.1 * s, "bottom"),
        Limb("shin_l", "thigh_l", 1.0, 0.43 * s, 0.06 * s, 0.065 * s, 0.1 * s, "bottom"),
        Limb("foot_l", "shin_l", 1.0, 0.2 * s, 0.035 * s, 0.05 * s, 0.1 * s, "shoes", rest=PI / 2),
        Limb("upper_arm_l", "torso", 0.93, 0.3 * s, 0.05 * s, 0.055 * s, 0.26 * s, "top", rest=-PI),
        Limb("forearm_l", "upper_arm_l", 1.0, 0.3 * s, 0.042 * s, 0.045 * s, 0.26 * s, "skin"),
    )
    return Rig(kind, limbs, True, 1.475 * s + 2 * r, ("foot_l", "foot_r", "shin_l", "shin_r"),
               ("forearm_r", "forearm_l"), "head")  # fmt: skip


def _quadruped(kind: str, body: float, leg: float, neck: float, head: float, thick: float, tail: float) -> Rig:
    """Four legs under a level body that points forward from the hips; the root is at the hips."""
    w = thick
    limbs = (
        Limb("hind_upper_r", None, 0.0, leg * 0.5, w * 0.45, w * 0.4, -w * 0.8, "fur", rest=0.25),
        Limb("hind_lower_r", "hind_upper_r", 1.0, leg * 0.52, w * 0.3, w * 0.3, -w * 0.8, "fur", rest=-0.45),
        Limb("fore_upper_r", "torso", 1.0, leg * 0.5, w * 0.4, w * 0.4, -w * 0.8, "fur", rest=-PI / 2),
        Limb("fore_lower_r", "fore_upper_r", 1.0, leg * 0.5, w * 0.3, w * 0.3, -w * 0.8, "fur"),
        Limb("tail", None, 0.0, tail, w * 0.18, w * 0.18, 0.0, "fur", rest=-2.3),
        Limb("torso", None, 0.0, body, w, w, 0.0, "fur", rest=PI / 2),
        Limb("neck", "torso", 0.95, neck, w * 0.5, w * 0.55, 0.0, "fur", rest=0.75),
        Limb("head", "neck", 1.0, head, head * 0.42, head * 0.4, 0.0, "fur", rest=-1.2),
        Limb("hind_upper_l", None, 0.0, leg * 0.5, w * 0.45, w * 0.4, w * 0.8, "fur", rest=0.25),
        Limb("hind_lower_l", "hind_upper_l", 1.0, leg * 0.52, w * 0.3, w * 0.3, w * 0.8, "fur", rest=-0.45),
        Limb("fore_upper_l", "torso", 1.0, leg * 0.5, w * 0.4, w * 0.4, w * 0.8, "fur", rest=-PI / 2),
        Limb("fore_lower_l", "fore_upper_l", 1.0, leg * 0.5, w * 0.3, w * 0.3, w * 0.8, "fur"),
    )
    return Rig(kind, limbs, False, leg + neck, ("hind_lower_l", "hind_lower_r", "fore_lower_l", "fore_lower_r"),
               ("head",), "head")  # fmt: skip


def _bird(s: float) -> Rig:
    limbs = (
        # The body tilts tail-down; folded wings lie back along it, legs hang straight down.
        Limb("leg_r", "torso", 0.45, 0.08 * s, 0.008 * s, 0.008 * s, -0.02 * s, "beak", rest=-PI / 2 - 0.3),
        Limb("wing_r", "torso", 0.75, 0.17 * s, 0.035 * s, 0.012 * s, -0.05 * s, "belly", rest=-PI - 0.3),
        Limb("torso", None, 0.0, 0.2 * s, 0.05 * s, 0.045 * s, 0.0, "fur", rest=PI / 2 + 0.3),
        Limb("head", "torso", 1.0, 0.07 * s, 0.035 * s, 0.035 * s, 0.0, "fur", rest=0.3, shape="sphere"),
        Limb("beak", "head", 0.8, 0.04 * s, 0.01 * s, 0.01 * s, 0.0, "beak", rest=-1.3),
        Limb("leg_l", "torso", 0.45, 0.08 * s, 0.008 * s, 0.008 * s, 0.02 * s, "beak", rest=-PI / 2 - 0.3),
        Limb("wing_l", "torso", 0.75, 0.17 * s, 0.035 * s, 0.012 * s, 0.05 * s, "belly", rest=-PI - 0.3),
    )
    return Rig("bird", limbs, True, 0.25 * s, ("leg_l", "leg_r"), ("beak",), "head")


def rig_for(kind: str, scale: float = 1.0) -> Rig:
    """The rig of a person or animal kind, `scale` times its usual size."""
    if kind == "adult":
        return _human(kind, scale, 1.0)
    if kind == "child":
        return _human(kind, 0.68 * scale, 1.25)
    if kind == "cat":
        return _quadruped(kind, 0.32 * scale, 0.24 * scale, 0.1 * scale, 0.1 * scale, 0.06 * scale, 0.28 * scale)
    if kind == "dog":
        return _quadruped(kind, 0.55 * scale, 0.45 * scale, 0.2 * scale, 0.2 * scale, 0.11 * scale, 0.28 * scale)
    if kind == "horse":
        return _quadruped(kind, 1.3 * scale, 1.3 * scale, 0.75 * scale, 0.5 * scale, 0.3 * scale, 0.6 * scale)
    if kind == "bird":
        return _bird(scale)
    raise ValueError(f"`kind` must be one of {RIG_KINDS}, got {kind!r}")
