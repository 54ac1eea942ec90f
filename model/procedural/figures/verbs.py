"""Verbs as time functions: joint angles, root travel, lift and support height over a verb's own clock.

Each verb returns a `Segment` for local times t (seconds from the verb's start). Joint angles are added to the
rig's rest angles (see rigs.py for the angle convention: positive swings a hanging limb forward). The root's
height is not set here: kinematics puts the lowest point of the figure on the ground, except where a verb says
the figure is in the air (a jump's flight, interpolated between take-off and landing) or placed absolutely
(swimming at the surface, sitting on a seat).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model.procedural.figures.rigs import Rig

G = 9.81
TAU = 2 * math.pi

VERBS = ("stand", "walk", "run", "jump", "climb", "throw", "kick", "catch", "wave", "dance", "fall", "sit", "swim",
         "backflip", "fly")  # fmt: skip


@dataclass(frozen=True)
class Motion:
    """One verb in a figure's script. `distance` is how far it travels forward; `height` a support it ends on
    (a sofa's seat, a box's top) or, for sit, the seat height; `seconds` overrides the verb's natural length."""

    verb: str
    seconds: float | None = None
    distance: float = 0.0
    height: float = 0.0
    speed: float = 1.0  # a multiplier on the verb's natural pace
    surface: float = 0.0  # swimming: the water's surface height


@dataclass
class Segment:
    """A verb's poses at local times (F,). `events`: name -> local time (release, contact, takeoff, landing)."""

    joints: dict[str, np.ndarray]
    dx: np.ndarray
    lift: np.ndarray
    angle: np.ndarray
    air: np.ndarray  # bool: flight, the root's height is the ballistic lift over interpolated ground offsets
    absolute: np.ndarray  # bool: the root sits at support + lift exactly (swimming, sitting on a seat)
    support: np.ndarray  # support height under the figure, relative to where the verb started
    events: dict[str, float] = field(default_factory=dict)


def smooth(u: np.ndarray | float) -> np.ndarray:
    """Smoothstep clamped to [0, 1]: starts and ends at rest."""
    v = np.clip(np.asarray(u, np.float64), 0.0, 1.0)
    return v * v * (3 - 2 * v)


def bump(u: np.ndarray | float) -> np.ndarray:
    """0 -> 1 -> 0 over u in [0, 1], smooth at both ends."""
    v = np.clip(np.asarray(u, np.float64), 0.0, 1.0)
    return np.sin(math.pi * v) ** 2


def _segment(rig: Rig, t: np.ndarray) -> Segment:
    z = np.zeros_like(t)
    return Segment({}, z.copy(), z.copy(), z.copy(), np.zeros(t.shape, bool), np.zeros(t.shape, bool), z.copy())


def _feet_flat(seg: Segment, rig: Rig) -> None:
    """Keep a person's feet level whatever the hip and knee do."""
    if not rig.biped or rig.kind == "bird":
        return
    for s in ("l", "r"):
        seg.joints[f"foot_{s}"] = -(seg.angle + seg.joints.get(f"thigh_{s}", 0.0) + seg.joints.get(f"shin_{s}", 0.0))


def _scale(rig: Rig) -> float:
    return rig.height / 1.7 if rig.biped and rig.kind != "bird" else rig.height


# -- people -------------------------------------------------------------------------------------------------------
def _gait(rig: Rig, t: np.ndarray, hz: float, swing: float, knee: float, arms: float, elbow: float) -> Segment:
    seg = _segment(rig, t)
    p = TAU * hz * t
    seg.joints["thigh_r"] = swing * np.sin(p)
    seg.joints["thigh_l"] = swing * np.sin(p + math.pi)
    seg.joints["shin_r"] = -(0.1 + knee * np.maximum(0.0, np.cos(p)))
    seg.joints["shin_l"] = -(0.1 + knee * np.maximum(0.0, np.cos(p + math.pi)))
    seg.joints["upper_arm_r"] = -arms * np.sin(p)
    seg.joints["upper_arm_l"] = arms * np.sin(p)
    seg.joints["forearm_r"] = elbow + 0.0 * t
    seg.joints["forearm_l"] = elbow + 0.0 * t
    return seg


def _walk(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    if not rig.biped or rig.kind == "bird":
        return _quad_gait(rig, m, t, run=False)
    speed = 1.3 * _scale(rig) * m.speed
    seg = _gait(rig, t, 0.9 * m.speed, 0.42, 0.7, 0.35, 0.25)
    seg.dx = speed * t
    _feet_flat(seg, rig)
    return seg


def _run(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    if not rig.biped or rig.kind == "bird":
        return _quad_gait(rig, m, t, run=True)
    speed = 4.0 * _scale(rig) * m.speed
    hz = 1.4 * m.speed
    seg = _gait(rig, t, hz, 0.75, 1.5, 0.8, 1.4)
    seg.joints["torso"] = -0.18 + 0.0 * t
    seg.dx = speed * t
    seg.lift = 0.05 * _scale(rig) * np.abs(np.sin(TAU * hz * t))
    _feet_flat(seg, rig)
    return seg


def _ballistic(rig: Rig, t: np.ndarray, t0: float, apex: float, rise: float, seg: Segment) -> float:
    """Flight from local time t0: up `apex` above take-off, landing `rise` higher than take-off. Returns the
    landing time and fills lift/air/support."""
    vy = math.sqrt(2 * G * max(apex, rise + 0.05))
    fall = math.sqrt(2 * max(vy * vy / (2 * G) - rise, 1e-6) / G)
    flight = vy / G + fall
    tau = t - t0
    inside = (tau > 0) & (tau < flight)
    seg.lift = np.where(inside, vy * tau - 0.5 * G * tau * tau, 0.0)
    seg.air = inside
    seg.support = np.where(tau >= flight, rise, 0.0)
    seg.events.update({"takeoff": t0, "landing": t0 + flight})
    return t0 + flight


def _jump(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """Crouch, spring, fly (forward `distance`, up onto `height`), land with bent knees, stand up."""
    seg = _segment(rig, t)
    s = _scale(rig)
    crouch = 0.35 / m.speed
    apex = max(
        0.35 * s if rig.biped else 0.6 * rig.height, m.height + 0.25 * s if rig.biped else m.height + 0.3 * rig.height
    )
    land = _ballistic(rig, t, crouch, apex, m.height, seg)
    flight = land - crouch
    tau = np.clip((t - crouch) / flight, 0, 1)
    down = bump(t / (2 * crouch)) * (t < crouch) + bump((t - land) / 0.6) * (t > land)
    seg.dx = m.distance * smooth(tau)
    tuck = bump(tau)
    if rig.biped and rig.kind != "bird":
        seg.joints["thigh_r"] = seg.joints["thigh_l"] = 1.1 * down + 0.9 * tuck
        seg.joints["shin_r"] = seg.joints["shin_l"] = -1.7 * down - 1.1 * tuck
        seg.joints["torso"] = -0.45 * down
        seg.joints["upper_arm_r"] = seg.joints["upper_arm_l"] = -0.9 * down + 2.6 * tuck
        _feet_flat(seg, rig)
    else:
        _quad_spring(seg, down, tau, tuck)
    return seg


def _quad_spring(seg: Segment, down: np.ndarray, tau: np.ndarray, tuck: np.ndarray) -> None:
    """An animal's jump: haunches down, then fore legs reach forward and hind legs push back in flight."""
    for s in ("l", "r"):
        seg.joints[f"hind_upper_{s}"] = 0.9 * down - 0.9 * tuck * (tau < 0.5) + 0.6 * tuck * (tau >= 0.5)
        seg.joints[f"hind_lower_{s}"] = -1.0 * down + 0.3 * tuck
        seg.joints[f"fore_upper_{s}"] = -0.5 * down + 1.1 * tuck
        seg.joints[f"fore_lower_{s}"] = 0.3 * down - 0.5 * tuck
    seg.joints["torso"] = 0.25 * tuck * (1 - 2 * tau) + 0.12 * down
    seg.joints["tail"] = 0.6 * tuck
    seg.joints["wing_r"] = seg.joints["wing_l"] = -2.2 * tuck


def _climb(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """Walk up to a support and step up onto it: knee high, one leg then the other, arms reaching."""
    if not rig.biped or rig.kind == "bird":
        return _jump(rig, m, t)
    s = _scale(rig)
    approach = max(0.0, m.distance - 0.35 * s)
    walk_time = approach / (1.3 * s)
    seg = _walk(rig, Motion("walk"), t)
    stepping = t >= walk_time
    tau = (t - walk_time) / 1.2
    up = smooth(tau)
    seg.dx = np.where(stepping, approach + 0.45 * s * up, 1.3 * s * t)
    seg.support = m.height * up
    for k in ("r", "l"):
        lag = 0.0 if k == "r" else 0.35
        knee = bump((tau - lag) / 0.65)
        seg.joints[f"thigh_{k}"] = np.where(stepping, 1.5 * knee, seg.joints[f"thigh_{k}"])
        seg.joints[f"shin_{k}"] = np.where(stepping, -1.9 * knee, seg.joints[f"shin_{k}"])
        seg.joints[f"upper_arm_{k}"] = np.where(stepping, 1.6 * bump(tau), seg.joints[f"upper_arm_{k}"])
    seg.joints["torso"] = np.where(stepping, -0.35 * bump(tau), 0.0)
    seg.events["on_top"] = walk_time + 1.2
    _feet_flat(seg, rig)
    return seg


# Overarm throw: the arm goes back (windup), then whips forward over the shoulder. The ball leaves the hand with
# the arm pointing up and a little back, so it flies forward and slightly up (overarm the hand moves forward-down
# once the arm points forward).
THROW_BACK, THROW_END, THROW_RELEASE = -1.6, -4.2, -math.pi + 0.3


def _throw(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    windup, swing = 0.45, 0.22 / m.speed
    back = smooth(t / windup)
    fwd = smooth((t - windup) / swing)
    recover = smooth((t - windup - swing - 0.3) / 0.5)
    arm = THROW_BACK * back + (THROW_END - THROW_BACK) * fwd
    seg.joints["upper_arm_r"] = arm * (1 - recover)
    seg.joints["forearm_r"] = (0.9 * back - 0.8 * fwd) * (1 - recover)
    seg.joints["upper_arm_l"] = (1.2 * back - 1.0 * fwd) * (1 - recover)
    seg.joints["torso"] = (0.2 * back - 0.45 * fwd) * (1 - recover)
    seg.joints["thigh_l"] = 0.35 * back * (1 - recover)
    seg.joints["thigh_r"] = -0.25 * back * (1 - recover)
    # Where the swing's smoothstep passes the release angle: solve 3u^2 - 2u^3 = share by bisection.
    share = (THROW_RELEASE - THROW_BACK) / (THROW_END - THROW_BACK)
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 3 * mid**2 - 2 * mid**3 < share else (lo, mid)
    seg.events["release"] = windup + swing * lo
    _feet_flat(seg, rig)
    return seg


def _kick(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    back = bump(t / 0.7) * (t < 0.35)
    swing = smooth((t - 0.35) / (0.2 / m.speed))
    recover = smooth((t - 0.75) / 0.5)
    thigh = np.where(t < 0.35, -0.6 * smooth(t / 0.35), -0.6 + 1.9 * swing) * (1 - recover)
    seg.joints["thigh_r"] = thigh
    seg.joints["shin_r"] = (-1.3 * back - 0.2) * (1 - recover)
    seg.joints["upper_arm_l"] = 0.8 * swing * (1 - recover)
    seg.joints["upper_arm_r"] = -0.6 * swing * (1 - recover)
    seg.joints["torso"] = 0.25 * swing * (1 - recover)
    seg.events["contact"] = 0.35 + (0.2 / m.speed) * 0.45
    _feet_flat(seg, rig)
    return seg


def _catch(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """Arms reach forward to take something at `seconds` (default 0.8 s), then draw it to the chest."""
    seg = _segment(rig, t)
    at = m.seconds * 0.6 if m.seconds else 0.8
    reach = smooth(t / at)
    pull = smooth((t - at) / 0.4)
    for k in ("r", "l"):
        seg.joints[f"upper_arm_{k}"] = 1.55 * reach - 0.6 * pull
        seg.joints[f"forearm_{k}"] = 0.15 * reach + 1.2 * pull
    seg.joints["thigh_l"] = 0.25 * reach
    seg.events["catch"] = at
    _feet_flat(seg, rig)
    return seg


def _wave(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    up = smooth(t / 0.4)
    seg.joints["upper_arm_r"] = 2.7 * up
    seg.joints["forearm_r"] = up * (0.35 + 0.55 * np.sin(TAU * 2.2 * m.speed * t))
    seg.joints["head"] = 0.1 * up
    _feet_flat(seg, rig)
    return seg


def _dance(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    if not rig.biped or rig.kind == "bird":
        seg = _quad_gait(rig, Motion("walk", speed=1.5), t, run=False)
        seg.dx = 0.15 * rig.height * np.sin(TAU * 0.5 * t)
        return seg
    seg = _segment(rig, t)
    beat = TAU * 2.0 * m.speed * t  # two beats a second
    seg.joints["thigh_r"] = 0.35 * np.maximum(0, np.sin(beat))
    seg.joints["thigh_l"] = 0.35 * np.maximum(0, -np.sin(beat))
    seg.joints["shin_r"] = -0.6 * np.maximum(0, np.sin(beat))
    seg.joints["shin_l"] = -0.6 * np.maximum(0, -np.sin(beat))
    seg.joints["upper_arm_r"] = 2.2 + 0.6 * np.sin(beat / 2)
    seg.joints["upper_arm_l"] = 2.2 - 0.6 * np.sin(beat / 2)
    seg.joints["forearm_r"] = seg.joints["forearm_l"] = 0.6 + 0.3 * np.cos(beat)
    seg.joints["torso"] = 0.12 * np.sin(beat / 2)
    seg.dx = 0.25 * _scale(rig) * np.sin(beat / 4)
    seg.lift = 0.04 * _scale(rig) * np.abs(np.sin(beat))
    _feet_flat(seg, rig)
    return seg


def _fall(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """Topple forward as a stiff body does (slow, then fast), arms out to break the fall, and lie there."""
    seg = _segment(rig, t)
    u = np.clip((t - 0.2) / 0.75, 0, 1)
    seg.angle = -(math.pi / 2) * u * u * (1 if rig.biped else 0.0) + (math.pi / 2) * u * u * (0 if rig.biped else 1)
    if rig.biped and rig.kind != "bird":
        seg.joints["upper_arm_r"] = seg.joints["upper_arm_l"] = 2.6 * smooth(u * 1.5)
        seg.joints["thigh_r"] = 0.2 * u
    else:
        for s in ("l", "r"):
            seg.joints[f"fore_upper_{s}"] = 0.5 * u
            seg.joints[f"hind_upper_{s}"] = -0.5 * u
    seg.dx = 0.3 * rig.height * u
    return seg


def _sit(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    u = smooth(t / 0.9)
    if rig.biped and rig.kind != "bird":
        seg.joints["thigh_r"] = seg.joints["thigh_l"] = (math.pi / 2) * u
        seg.joints["shin_r"] = seg.joints["shin_l"] = -(math.pi / 2) * u if m.height > 0 else 0.0 * u
        seg.joints["torso"] = 0.12 * u
        seg.joints["upper_arm_r"] = seg.joints["upper_arm_l"] = 0.5 * u
        seg.joints["forearm_r"] = seg.joints["forearm_l"] = 0.6 * u
        if m.height > 0:  # onto a seat: the hips go down to the seat, whatever the legs reach
            seg.absolute = t >= 0.9
            seg.lift = np.where(seg.absolute, m.height + 0.08 * _scale(rig), 0.0)
        _feet_flat(seg, rig)
    elif rig.kind != "bird":
        for s in ("l", "r"):  # haunches folded under, fore legs straight
            seg.joints[f"hind_upper_{s}"] = 1.3 * u
            seg.joints[f"hind_lower_{s}"] = -2.0 * u
            seg.joints[f"fore_upper_{s}"] = -0.0 * u
        seg.angle = 0.55 * u
        seg.joints["neck"] = -0.35 * u
    return seg


def _swim(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    seg.absolute = np.ones(t.shape, bool)
    if rig.biped and rig.kind != "bird":
        s = _scale(rig)
        seg.angle = np.full_like(t, -math.pi / 2)  # lying on the water, head forward
        stroke = TAU * 0.7 * m.speed * t
        seg.joints["upper_arm_r"] = -stroke
        seg.joints["upper_arm_l"] = -stroke - math.pi
        seg.joints["thigh_r"] = 0.3 * np.sin(TAU * 2.5 * t)
        seg.joints["thigh_l"] = -0.3 * np.sin(TAU * 2.5 * t)
        seg.joints["head"] = -0.5 + 0.0 * t
        seg.lift = np.full_like(t, m.surface - 0.05 * s)
        seg.dx = 0.9 * s * m.speed * t
    else:
        seg = _quad_gait(rig, Motion("walk", speed=1.6), t, run=False)
        seg.absolute = np.ones(t.shape, bool)
        seg.lift = np.full_like(t, m.surface - rig.height * 0.2)  # legs paddle below, back and head above
        seg.dx = 0.6 * rig.height * m.speed * t
    seg.events["in_water"] = 0.0
    return seg


def _backflip(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """A standing back somersault: crouch and swing the arms, jump, tuck and turn through 2*pi, land, stand."""
    seg = _segment(rig, t)
    s = _scale(rig)
    crouch = 0.4
    land = _ballistic(rig, t, crouch, 0.95 * s, 0.0, seg)
    flight = land - crouch
    tau = np.clip((t - crouch) / flight, 0, 1)
    # The turn is slow at take-off and landing (arms and legs out) and fast while tucked: angular momentum.
    seg.angle = TAU * smooth(tau)
    seg.dx = -0.4 * s * smooth(tau)
    down = bump(t / (2 * crouch)) * (t < crouch) + bump((t - land) / 0.6) * (t > land)
    tuck = bump(tau)
    seg.joints["thigh_r"] = seg.joints["thigh_l"] = 1.0 * down + 2.3 * tuck
    seg.joints["shin_r"] = seg.joints["shin_l"] = -1.6 * down - 2.3 * tuck
    seg.joints["torso"] = -0.4 * down
    seg.joints["upper_arm_r"] = seg.joints["upper_arm_l"] = -1.0 * down + 3.0 * smooth(tau * 3) - 1.4 * tuck
    seg.joints["forearm_r"] = seg.joints["forearm_l"] = 1.2 * tuck
    _feet_flat(seg, rig)
    return seg


def _fly(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    seg.absolute = np.ones(t.shape, bool)
    flap = np.sin(TAU * 4.0 * m.speed * t)
    for s in ("l", "r"):
        seg.joints[f"wing_{s}"] = -1.7 - 1.0 * flap
        seg.joints[f"leg_{s}"] = 0.8 + 0.0 * t
        seg.joints[f"fore_upper_{s}"] = 1.2 + 0.0 * t
        seg.joints[f"hind_upper_{s}"] = -1.0 + 0.0 * t
    seg.lift = m.height + 1.5 * rig.height + 0.05 * flap
    seg.dx = 3.0 * m.speed * t
    return seg


def _stand(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    seg = _segment(rig, t)
    breathe = np.sin(TAU * 0.3 * t)
    if rig.biped and rig.kind != "bird":
        seg.joints["upper_arm_r"] = 0.08 + 0.02 * breathe
        seg.joints["upper_arm_l"] = -0.08 - 0.02 * breathe
        _feet_flat(seg, rig)
    else:
        seg.joints["tail"] = 0.25 * np.sin(TAU * 0.8 * t)
    return seg


def _quad_gait(rig: Rig, m: Motion, t: np.ndarray, run: bool) -> Segment:
    seg = _segment(rig, t)
    if rig.kind == "bird":  # a bird walks with small quick steps
        p = TAU * 3.0 * t
        seg.joints["leg_r"] = 0.4 * np.sin(p)
        seg.joints["leg_l"] = -0.4 * np.sin(p)
        seg.dx = 0.4 * rig.height * 2 * m.speed * t
        return seg
    hz = (2.2 if run else 1.3) * m.speed * (0.55 / max(rig.height, 0.2)) ** 0.5
    phases = {"hind_l": 0.0, "hind_r": 0.1, "fore_l": 0.5, "fore_r": 0.6} if run else {
        "hind_l": 0.0, "fore_l": 0.25, "hind_r": 0.5, "fore_r": 0.75}  # fmt: skip
    amp = 0.65 if run else 0.35
    for leg, phase in phases.items():
        end, s = leg.split("_")
        p = TAU * (hz * t + phase)
        seg.joints[f"{end}_upper_{s}"] = amp * np.sin(p)
        flex = np.maximum(0.0, np.cos(p))
        seg.joints[f"{end}_lower_{s}"] = (0.8 if end == "hind" else -0.9) * flex * (1.4 if run else 1.0)
    stride = (2.6 if run else 0.9) * rig.height
    seg.dx = stride * hz / 1.3 * t * (1.0 if run else 0.9)
    if run:
        seg.joints["torso"] = 0.08 * np.sin(TAU * hz * t)
        seg.lift = 0.12 * rig.height * np.maximum(0.0, np.sin(TAU * hz * t))
    seg.joints["tail"] = 0.3 * np.sin(TAU * hz * t)
    return seg


_VERB_FUNCS: dict[str, Callable[[Rig, Motion, np.ndarray], Segment]] = {
    "stand": _stand, "walk": _walk, "run": _run, "jump": _jump, "climb": _climb, "throw": _throw, "kick": _kick,
    "catch": _catch, "wave": _wave, "dance": _dance, "fall": _fall, "sit": _sit, "swim": _swim,
    "backflip": _backflip, "fly": _fly,
}  # fmt: skip
# What an animal does instead of a verb its body cannot do ("a dog throws" runs; "a bird swims" flies).
_ANIMAL_VERB = {"throw": "jump", "kick": "jump", "catch": "jump", "wave": "stand", "backflip": "jump",
                "climb": "jump", "fly": "jump"}  # fmt: skip
_BIRD_VERB = {"run": "fly", "swim": "fly", "climb": "fly", "throw": "fly", "kick": "fly", "catch": "fly",
              "backflip": "fly", "dance": "walk", "sit": "stand", "fall": "stand", "wave": "fly"}  # fmt: skip


def verbs_for(rig: Rig, verb: str) -> str:
    """The verb this rig actually performs for `verb` (an animal cannot throw; it jumps instead)."""
    if verb not in _VERB_FUNCS:
        raise ValueError(f"`verb` must be one of {VERBS}, got {verb!r}")
    if rig.kind == "bird":
        return _BIRD_VERB.get(verb, verb)
    if not rig.biped:
        return _ANIMAL_VERB.get(verb, verb)
    return "jump" if verb == "fly" else verb


def natural_seconds(rig: Rig, m: Motion) -> float:
    """How long a verb takes when the prompt does not say: travel verbs until they have gone `distance`."""
    if m.seconds is not None:
        return m.seconds
    probe = np.linspace(0.0, 30.0, 3001)
    if m.verb in {"walk", "run", "swim", "fly"}:
        if m.distance <= 0:
            return 3.0
        dx = _VERB_FUNCS[m.verb](rig, m, probe).dx
        reach = np.nonzero(dx >= m.distance)[0]
        return float(probe[reach[0]]) if reach.size else 30.0
    if m.verb in {"jump", "backflip"}:
        seg = _VERB_FUNCS[m.verb](rig, m, probe)
        return seg.events["landing"] + 0.6
    fixed = {"stand": 1.0, "throw": 1.6, "kick": 1.3, "catch": 1.4, "wave": 2.5, "dance": 4.0, "fall": 1.6,
             "sit": 1.4}  # fmt: skip
    if m.verb == "climb":
        seg = _climb(rig, m, probe)
        return seg.events["on_top"] + 0.3
    return fixed.get(m.verb, 2.0)


def segment(rig: Rig, m: Motion, t: np.ndarray) -> Segment:
    """Poses of `m.verb` at local times `t` (seconds from the verb's start)."""
    return _VERB_FUNCS[m.verb](rig, m, np.asarray(t, np.float64))
