"""Articulated people and animals: rigs (limbs and joints), verbs (joint angles over time) and forward kinematics.

A figure moves in the picture plane like every body of the procedural world: each limb is a box or a sphere with
an (x, y, angle) per frame at its own depth, so the renderer draws it as it draws any other body.
"""

from model.procedural.figures.kinematics import FigureTrack, Release, animate
from model.procedural.figures.rigs import RIG_KINDS, Limb, Rig, rig_for
from model.procedural.figures.verbs import VERBS, Motion, verbs_for

__all__ = [
    "RIG_KINDS",
    "VERBS",
    "FigureTrack",
    "Limb",
    "Motion",
    "Release",
    "Rig",
    "animate",
    "rig_for",
    "verbs_for",
]
