"""Where the camera is: framing a simulated scene, and the pose of each move (static, pan, orbit) over time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.procedural.scene import SceneSpec

FRAMING_SCALE = {"close": 0.55, "medium": 1.0, "wide": 1.6}


@dataclass(frozen=True)
class CameraPose:
    position: tuple[float, float, float]
    forward: tuple[float, float, float]
    right: tuple[float, float, float]
    up: tuple[float, float, float]
    fov: float  # vertical, radians


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def frame_scene(scene: SceneSpec, names: list[str], poses: np.ndarray, aspect: float) -> None:
    """Aim the camera so every object stays in view over the whole simulation (fills scene.camera in place).

    poses: (F, N, 3) x, y, angle per frame for the bodies in `names`.
    """
    cam = scene.camera
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
        if f.kind == "backboard":
            xs.extend([f.circles[1][0] - 0.3, f.boxes[0][0] + 0.1])
            ys.append(f.boxes[0][1] + f.boxes[0][4])
    if not xs:
        xs = [-1.0, 1.0]
    x0, x1 = min(xs), max(xs)
    y1 = max(ys)
    if cam.framing == "close" and names:
        # A close-up follows the first object's opening second.
        first = poses[: max(1, min(len(poses), 24)), 0, :2]
        r = sizes.get(names[0], 0.2)
        x0, x1 = float(first[:, 0].min() - 4 * r), float(first[:, 0].max() + 4 * r)
        y1 = float(first[:, 1].max() + 3 * r)
    width = max(x1 - x0, 1.2)
    height = max(y1, 0.9)
    target = ((x0 + x1) / 2, height * 0.5, 0.0)
    half_v = math.tan(cam.fov / 2)
    # The camera looks down a little, which pulls the frame's top edge down: leave more room above.
    need_h = height * 0.78 / half_v
    need_w = width * 0.58 / (half_v * aspect)
    distance = max(need_h, need_w, 1.5) * FRAMING_SCALE.get(cam.framing, 1.0)
    if cam.framing == "close":
        distance = max(need_h, need_w, 0.6)
    cam.target = target
    cam.distance = float(distance)


def camera_pose(scene: SceneSpec, progress: float) -> CameraPose:
    """The camera at `progress` (0 at the first frame, 1 at the last) of the clip."""
    cam = scene.camera
    target = np.array(cam.target if cam.target is not None else (0.0, 0.8, 0.0))
    distance = cam.distance or 5.0
    yaw = 0.0
    look_yaw = 0.0
    if cam.move == "orbit":
        yaw = -0.6 + 1.2 * progress
    elif cam.move == "pan":
        look_yaw = -0.18 + 0.36 * progress
    el = cam.elevation
    offset = np.array([math.sin(yaw) * math.cos(el), math.sin(el), math.cos(yaw) * math.cos(el)]) * distance
    position = target + offset
    forward = _normalize(target - position)
    if look_yaw:
        c, s = math.cos(look_yaw), math.sin(look_yaw)
        forward = _normalize(np.array([c * forward[0] + s * forward[2], forward[1], -s * forward[0] + c * forward[2]]))
    right = _normalize(np.cross(forward, np.array([0.0, 1.0, 0.0])))
    up = np.cross(right, forward)
    return CameraPose(
        tuple(position.tolist()), tuple(forward.tolist()), tuple(right.tolist()), tuple(up.tolist()), cam.fov
    )  # type: ignore[arg-type]
