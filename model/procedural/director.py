"""The camera director: what the shot is about, how near the camera must be for it to read, and where it looks.

The subject is the prompt's first moving object. Its projected area must not fall under 2 % of the frame (a
basketball seen from 7 m covers 0.1 %), so the director chooses the distance from the subject's size and the shot
word (close-up, medium, wide), then picks the simplest shot that keeps it whole and in view:
1. the old still framing of the whole action, when the subject is already big enough in it;
2. a still camera on the subject's own track, when that track fits the frame at the subject's distance;
3. otherwise the camera follows: its aim follows the subject, smoothed, and pulled back wherever the smoothing
   would let the subject drift out of the middle of the frame. Unasked, the camera turns and zooms from one spot
   ("follow") for things, and travels with people and animals ("track"), as "tracking shot" asks it to. A drop
   or a bounce in place is followed too: the camera tilts down with the ball rather than framing the whole
   height with a ball a few pixels wide ("static camera" still gives that whole-height still frame).
A row of dominoes is one subject, framed whole and still. Orbit and pan turn the camera about that (possibly moving)
target. The frame's aspect enters every size, so
portrait and square clips are composed for their shape, not cropped from a landscape shot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.procedural.scene import BodySpec, SceneSpec

# Share of the frame the subject's projected area aims for, per framing. 2 % is the floor the issue sets; aim
# above it, since a shaded ball's dark side and its anti-aliased rim read smaller than its outline.
AREA = {"close": 0.10, "medium": 0.045, "wide": 0.032}
WIDE_SCALE = 1.6  # a wide shot's distance, against the medium framing of the whole action
TRACK_SMOOTH_SECONDS = 0.25  # the camera's lag behind the subject: a steady follow, not a jittery lock
FOLLOW = 0.6  # share of the subject's travel the camera follows: the rest is seen as motion across the frame
# How far (as a share of the half frame) the subject may sit from the frame's centre in a tracking shot.
TRACK_SLACK_X, TRACK_SLACK_Y = 0.45, 0.4
ABOVE_ELEVATION = 1.0  # "from above": about 57 degrees down
PORTRAIT_ELEVATION = 0.32  # a tall frame shows more ground in front of the subject


@dataclass(frozen=True)
class Framing:
    """A still framing: what to aim at and from how far."""

    target: tuple[float, float, float]
    distance: float


def subject_index(scene: SceneSpec, names: list[str]) -> int | None:
    """Index in `names` of the prompt's subject: the first object of the scene that moves."""
    for o in scene.objects:
        if o.id in names:
            return names.index(o.id)
    return None


def subject_radius(o: BodySpec) -> float:
    """Radius of the disc whose area equals the body's side-on silhouette."""
    if o.shape == "sphere":
        return o.size[0]
    if o.shape == "cylinder":
        return math.sqrt(4 * o.size[0] * o.size[1] / math.pi)
    if o.shape == "figure":
        return math.sqrt(2.0 * o.size[1] * 0.45 * o.size[1] / math.pi)
    return math.sqrt(4 * o.size[0] * o.size[1] / math.pi)


def distance_for_area(radius: float, area: float, fov: float, aspect: float) -> float:
    """Distance at which a disc of `radius` covers `area` of a frame with vertical field `fov` and `aspect`."""
    focal = 0.5 / math.tan(fov / 2)  # in frame heights
    return radius * focal / math.sqrt(area * aspect / math.pi)


def whole_action(scene: SceneSpec, names: list[str], poses: np.ndarray, aspect: float) -> Framing:
    """A still framing of everything that moves and the fixtures it meets (the framing before the director)."""
    fov = scene.camera.fov
    sizes = {o.id: max(o.size[0], o.size[1]) for o in scene.objects}
    xs: list[float] = []
    ys: list[float] = [0.0]
    for i, name in enumerate(names):
        r = sizes.get(name, 0.2)
        track = poses[:, i, :2]
        # Ignore what leaves far to the side; a ball that rolls away should not shrink the whole shot.
        xs.extend([float(np.clip(track[:, 0].min() - r, -6, 6)), float(np.clip(track[:, 0].max() + r, -6, 6))])
        ys.extend([float(track[:, 1].max() + r)])
    for o in scene.objects:
        if o.shape == "figure":
            xs.extend([o.position[0] - 0.35, o.position[0] + 0.35])
            ys.append(o.position[1] + o.size[1] + 0.1)
    for f in scene.fixtures:
        for cx, cy, _cz, hx, hy, _hz, _a in f.boxes:
            if f.kind in {"ramp", "stairs", "table", "wall"}:
                xs.extend([max(cx - hx, -6.0), min(cx + hx, 6.0)])
                ys.append(min(cy + hy, 3.0))
        if f.kind == "backboard" and len(f.circles) >= 2 and f.boxes:
            xs.extend([f.circles[1][0] - 0.3, f.boxes[0][0] + 0.1])
            ys.append(f.boxes[0][1] + f.boxes[0][4])
    if not xs:
        xs = [-1.0, 1.0]
    x0, x1 = min(xs), max(xs)
    width = max(x1 - x0, 1.2)
    height = max(max(ys), 0.9)
    half_v = math.tan(fov / 2)
    # The camera looks down a little, which pulls the frame's top edge down: leave more room above.
    distance = max(height * 0.78 / half_v, width * 0.58 / (half_v * aspect), 1.5)
    return Framing(((x0 + x1) / 2, height * 0.5, 0.0), float(distance))


def _smooth(track: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed (F, 3) track."""
    if sigma < 0.5 or track.shape[0] < 3:
        return track.copy()
    radius = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    # Odd reflection at the ends keeps the speed there (holding the end values would brake the camera).
    head = 2 * track[:1] - track[1 : radius + 1][::-1]
    tail = 2 * track[-1:] - track[-radius - 1 : -1][::-1]
    if head.shape[0] < radius:
        return track.copy()
    padded = np.concatenate([head, track, tail])
    return np.stack([np.convolve(padded[:, c], k, mode="valid") for c in range(track.shape[1])], axis=1)


def direct(scene: SceneSpec, names: list[str], poses: np.ndarray, aspect: float, fps: float = 24.0) -> None:
    """Choose the shot and fill scene.camera in place: target, distance, elevation and, when it tracks, a path."""
    cam = scene.camera
    cam.path = []
    if aspect < 0.9 and cam.elevation < PORTRAIT_ELEVATION and cam.elevation != ABOVE_ELEVATION:
        cam.elevation = PORTRAIT_ELEVATION
    context = whole_action(scene, names, poses, aspect)
    scale = WIDE_SCALE if cam.framing == "wide" else 1.0
    k = subject_index(scene, names)
    if k is None or not cam.follow:
        # Nothing moves, or the prompt asked for a still camera: frame everything, closer for a close-up.
        cam.target, cam.distance = context.target, context.distance * (0.55 if cam.framing == "close" else scale)
        return
    body = next(o for o in scene.objects if o.id == names[k])
    row = [i for i, name in enumerate(names) if any(o.id == name and o.kind == "domino" for o in scene.objects)]
    if body.kind == "domino" and len(row) >= 3:
        # A row of dominoes is one subject: the chain is what falls, so the still frame holds all of it.
        whole = whole_action(scene, [names[i] for i in row], poses[:, row], aspect)
        cam.target, cam.distance = whole.target, whole.distance * (0.8 if cam.framing == "close" else scale)
        return
    radius = subject_radius(body)
    near = distance_for_area(radius, AREA.get(cam.framing, AREA["medium"]), cam.fov, aspect)
    centre = np.column_stack([poses[:, k, 0], poses[:, k, 1], np.full(poses.shape[0], body.z)])
    half_v = math.tan(cam.fov / 2)
    if cam.move != "track" and context.distance * scale <= near:
        cam.target, cam.distance = context.target, context.distance * scale
        return
    distance = max(near, radius * 3.0, 0.25)
    # Does the subject's whole track fit a still frame at that distance (with its own size and some air)?
    span_x = float(np.ptp(centre[:, 0])) + 2 * radius
    span_y = float(np.ptp(centre[:, 1])) + 2 * radius
    fits = span_x <= 1.2 * distance * half_v * aspect and span_y <= 1.1 * distance * half_v
    if cam.move != "track" and fits:
        mid = (centre.min(axis=0) + centre.max(axis=0)) / 2
        cam.target, cam.distance = (float(mid[0]), float(mid[1]), float(mid[2])), float(distance)
        return
    cam.path = _follow(centre, distance * half_v * aspect, distance * half_v, TRACK_SMOOTH_SECONDS * fps)
    cam.target = cam.path[0]
    cam.distance = float(distance)
    if cam.move == "static":
        # Balls, boxes and bottles: the camera turns and zooms from where it stands ("tracking shot" asks for one
        # that travels). People and animals run and swim past fixtures that a camera standing back would put in
        # the way, so it travels with them.
        figures = any(o.shape == "figure" for o in scene.objects)
        cam.move = "track" if figures else "follow"


def _follow(centre: np.ndarray, half_w: float, half_h: float, sigma: float) -> list[tuple[float, float, float]]:
    """A tracking target per frame: it follows part of the subject's (smoothed) way, so the subject still drifts
    across the frame in the direction it travels, centred on that drift, and never leaves the middle band
    (TRACK_SLACK of the half frame)."""
    smooth = _smooth(centre, sigma)
    travel = smooth[-1] - smooth[0]
    path = smooth.copy()
    for axis, slack in ((0, TRACK_SLACK_X * half_w), (1, TRACK_SLACK_Y * half_h)):
        # Follow just enough that the whole drift spans the middle band: the subject then crosses it steadily
        # over the clip, never parked at an edge (and an extension carries the same drift on).
        span = abs(float(travel[axis]))
        follow = max(FOLLOW, 1 - 2 * slack / span) if span > 1e-6 else FOLLOW
        path[:, axis] = smooth[0, axis] + follow * (smooth[:, axis] - smooth[0, axis]) + (1 - follow) * travel[axis] / 2
        path[:, axis] = np.clip(path[:, axis], centre[:, axis] - slack, centre[:, axis] + slack)
    path[:, 2] = centre[:, 2]
    return [(float(x), float(y), float(z)) for x, y, z in path]


def target_at(path: list[tuple[float, float, float]], progress: float) -> np.ndarray:
    """The tracked target at `progress` of the clip; past the end (an extension) it goes on at its last speed."""
    if len(path) == 1:
        return np.array(path[0])
    pos = max(progress, 0.0) * (len(path) - 1)
    i = min(int(pos), len(path) - 2)
    w = pos - i
    return np.array(path[i]) * (1 - w) + np.array(path[i + 1]) * w
