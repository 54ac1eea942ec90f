"""Forward kinematics: a rig and a script of verbs -> every limb's (x, y, angle) per frame, contact points, and
the moments the world needs (a throw's release with the hand's position and velocity, a jump's landing).

The root's height comes from the ground: on the ground, the figure's lowest point rests on the support under
it; in a flight, the root follows the verb's ballistic lift over take-off and landing heights; swimming or
sitting on a seat, the verb places it. So a verb never has to know its own leg lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from model.procedural.figures.rigs import Rig
from model.procedural.figures.verbs import Motion, Segment, natural_seconds, segment, smooth, verbs_for

BLEND = 0.2  # seconds over which one verb's joints ease into the next's
HOLD_AT_END = frozenset({"sit", "fall", "climb"})  # verbs whose last pose is kept once they are done
KEEP_GOING = frozenset({"walk", "run", "swim", "fly", "dance", "wave"})  # verbs that go on to the clip's end


@dataclass(frozen=True)
class Release:
    """A held thing leaves the hand: when (seconds), where (x, y) and how fast (vx, vy)."""

    time: float
    position: tuple[float, float]
    velocity: tuple[float, float]


@dataclass
class FigureTrack:
    """Per-frame limb poses of one figure. poses: (F, L, 3) x, y, angle; depth: (L,) each limb's z."""

    names: list[str]
    poses: np.ndarray
    depth: np.ndarray
    root: np.ndarray  # (F, 3) x, y, angle of the root
    points: dict[str, np.ndarray]  # (F, 2): hand, hand_l, foot, foot_l, head
    lowest: np.ndarray  # (F,) the lowest point of the figure
    events: dict[str, float] = field(default_factory=dict)  # absolute seconds
    release: Release | None = None


@dataclass(frozen=True)
class _Planned:
    motion: Motion
    start: float
    end: float  # inf for the last verb: it goes on (walking) or holds its last pose (sitting)
    x0: float  # root travel and support height where it starts
    support0: float
    angle0: float
    seconds: float  # the verb's own length


def _order(rig: Rig) -> list[int]:
    """Limb indices with every parent before its children."""
    index = {limb.name: i for i, limb in enumerate(rig.limbs)}
    done: list[int] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen:
            return
        parent = rig.limbs[i].parent
        if parent is not None:
            visit(index[parent])
        seen.add(i)
        done.append(i)

    for i in range(len(rig.limbs)):
        visit(i)
    return done


def _fk(rig: Rig, joints: dict[str, np.ndarray], root_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limb joints, world angles and far ends relative to the root, facing +x: (F, L, 2), (F, L), (F, L, 2)."""
    f = root_angle.shape[0]
    n = len(rig.limbs)
    index = {limb.name: i for i, limb in enumerate(rig.limbs)}
    start = np.zeros((f, n, 2))
    end = np.zeros((f, n, 2))
    angle = np.zeros((f, n))
    for i in _order(rig):
        limb = rig.limbs[i]
        j = joints.get(limb.name)
        local = limb.rest + (j if j is not None else 0.0)
        if limb.parent is None:
            angle[:, i] = root_angle + local
        else:
            p = index[limb.parent]
            angle[:, i] = angle[:, p] + local
            start[:, i] = start[:, p] + (end[:, p] - start[:, p]) * limb.at
        direction = np.stack([np.sin(angle[:, i]), -np.cos(angle[:, i])], axis=-1)
        end[:, i] = start[:, i] + direction * limb.length
    return start, angle, end


def _centres_and_lowest(rig: Rig, start: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each limb's drawn centre (F, L, 2) and the figure's lowest point relative to the root (F,)."""
    centres = np.zeros_like(start)
    low = np.full(start.shape[0], np.inf)
    for i, limb in enumerate(rig.limbs):
        direction = np.stack([np.sin(angle[:, i]), -np.cos(angle[:, i])], axis=-1)
        if limb.shape == "sphere":
            centres[:, i] = start[:, i] + direction * (limb.length - limb.width)
            bottom = centres[:, i, 1] - limb.width
        else:
            centres[:, i] = start[:, i] + direction * (limb.length / 2)
            bottom = centres[:, i, 1] - limb.length / 2 * np.abs(np.cos(angle[:, i])) - limb.width * np.abs(
                np.sin(angle[:, i]))  # fmt: skip
        low = np.minimum(low, bottom)
    return centres, low


def plan(rig: Rig, script: list[Motion]) -> list[_Planned]:
    """Lay the verbs end to end; the last goes on (walking, swimming) or holds its final pose (sitting)."""
    out: list[_Planned] = []
    t, x, support, angle = 0.0, 0.0, 0.0, 0.0
    moves = [Motion(verbs_for(rig, m.verb), m.seconds, m.distance, m.height, m.speed, m.surface) for m in script]
    if not moves:
        moves = [Motion("stand")]
    for k, m in enumerate(moves):
        last = k == len(moves) - 1
        seconds = natural_seconds(rig, m)
        end = math.inf if last and (m.verb in KEEP_GOING or m.verb in HOLD_AT_END) else t + seconds
        out.append(_Planned(m, t, end, x, support, angle, seconds))
        probe = segment(rig, m, np.array([seconds]))
        x += float(probe.dx[0])
        support += float(probe.support[0])
        angle = (angle + float(probe.angle[0])) if m.verb in HOLD_AT_END else 0.0
        t += seconds
    final = out[-1]
    if final.end != math.inf and final.motion.verb not in HOLD_AT_END:
        out.append(_Planned(Motion("stand"), t, math.inf, x, support, 0.0, 1.0))
    return out


def _segment_at(rig: Rig, p: _Planned, local: np.ndarray) -> Segment:
    t = local
    if p.motion.verb in HOLD_AT_END:
        t = np.minimum(local, p.seconds)
    return segment(rig, p.motion, t)


def animate(
    rig: Rig,
    script: list[Motion],
    times: np.ndarray,
    x0: float = 0.0,
    facing: float = 1.0,
    z: float = 0.0,
    ground: float = 0.0,
    with_release: bool = True,
) -> FigureTrack:
    """Pose `rig` doing `script` at absolute `times` (seconds), starting at x0 on a support `ground` high."""
    times = np.asarray(times, np.float64)
    planned = plan(rig, script)
    f = times.shape[0]
    joints: dict[str, np.ndarray] = {limb.name: np.zeros(f) for limb in rig.limbs}
    dx, lift, angle, support = np.zeros(f), np.zeros(f), np.zeros(f), np.zeros(f)
    air, absolute = np.zeros(f, bool), np.zeros(f, bool)
    air_offset = np.zeros(f)  # in flight: the ground offset, take-off's easing into landing's
    events: dict[str, float] = {}
    for k, p in enumerate(planned):
        mask = (times >= p.start) & (times < p.end)
        for name, at in segment(rig, p.motion, np.zeros(1)).events.items():
            events.setdefault(name, p.start + at)  # the first verb that releases or lands names the moment
        if not mask.any():
            continue
        local = times[mask] - p.start
        seg = _segment_at(rig, p, local)
        w = np.ones_like(local)
        prev_joints: dict[str, float] = {}
        if k > 0:
            before = planned[k - 1]
            last = _segment_at(rig, before, np.array([p.start - before.start]))
            prev_joints = {n: float(np.broadcast_to(v, (1,))[0]) for n, v in last.joints.items()}
            w = smooth(local / BLEND)
        for name in joints:
            mine = np.broadcast_to(seg.joints.get(name, 0.0), local.shape)
            joints[name][mask] = prev_joints.get(name, 0.0) * (1 - w) + mine * w if prev_joints else mine
        dx[mask] = p.x0 + seg.dx
        lift[mask] = seg.lift
        angle[mask] = p.angle0 + seg.angle
        support[mask] = p.support0 + seg.support
        air[mask] = seg.air
        absolute[mask] = seg.absolute
        if seg.air.any():
            # Ground offsets at take-off and landing: the flight's root height is interpolated between them.
            t0, t1 = seg.events["takeoff"], seg.events["landing"]
            ends = _segment_at(rig, p, np.array([t0, t1]))
            s_end, a_end, _ = _fk(rig, {n: np.broadcast_to(v, (2,)) for n, v in ends.joints.items()},
                                  ends.angle + p.angle0)  # fmt: skip
            _, low_end = _centres_and_lowest(rig, s_end, a_end)
            u = np.clip((local - t0) / (t1 - t0), 0, 1)
            air_offset[mask] = -low_end[0] * (1 - u) - low_end[1] * u
    start, world, _ = _fk(rig, joints, angle)
    centres, low = _centres_and_lowest(rig, start, world)
    root_y = np.where(air, ground + support + air_offset + lift, ground + support - low + lift)
    root_y = np.where(absolute, lift, root_y)
    root_x = x0 + facing * dx
    side = np.array([limb.side for limb in rig.limbs]) * facing
    poses = np.zeros((f, len(rig.limbs), 3))
    poses[..., 0] = root_x[:, None] + facing * centres[..., 0]
    poses[..., 1] = root_y[:, None] + centres[..., 1]
    # A sphere's angle only turns its pattern: a head's face is upright when the head points up (world pi).
    spheres = np.array([limb.shape == "sphere" for limb in rig.limbs])
    poses[..., 2] = np.where(spheres[None], facing * (world - math.pi), facing * world)
    ends = (
        start + np.stack([np.sin(world), -np.cos(world)], axis=-1) * np.array([lm.length for lm in rig.limbs])[:, None]
    )

    def point(limb_name: str) -> np.ndarray:
        i = [limb.name for limb in rig.limbs].index(limb_name)
        return np.stack([root_x + facing * ends[:, i, 0], root_y + ends[:, i, 1]], axis=-1)

    head = [limb.name for limb in rig.limbs].index(rig.head)
    points = {
        "hand": point(rig.hands[0]),
        "hand_l": point(rig.hands[-1]),
        "foot": point(rig.feet[-1]),
        "foot_l": point(rig.feet[0]),
        "head": np.stack([poses[:, head, 0], poses[:, head, 1]], axis=-1),
    }
    track = FigureTrack([limb.name for limb in rig.limbs], poses, z + side, np.stack([root_x, root_y, angle], -1),
                        points, root_y + low, events)  # fmt: skip
    if with_release and "release" in events:
        track.release = _release(rig, script, events["release"], x0, facing, z, ground)
    return track


def _release(rig: Rig, script: list[Motion], at: float, x0: float, facing: float, z: float, ground: float) -> Release:
    """The hand's position and velocity (central difference) at the release instant."""
    h = 1e-3
    probe = animate(rig, script, np.array([at - h, at, at + h]), x0, facing, z, ground, with_release=False)
    hand = probe.points["hand"]
    v = (hand[2] - hand[0]) / (2 * h)
    return Release(at, (float(hand[1, 0]), float(hand[1, 1])), (float(v[0]), float(v[1])))
