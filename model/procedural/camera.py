"""Where the camera is: framing a simulated scene, and the pose of each move (static, track, pan, orbit) over time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.procedural.director import direct, target_at
from model.procedural.scene import SceneSpec


@dataclass(frozen=True)
class CameraPose:
    position: tuple[float, float, float]
    forward: tuple[float, float, float]
    right: tuple[float, float, float]
    up: tuple[float, float, float]
    fov: float  # vertical, radians


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def frame_scene(scene: SceneSpec, names: list[str], poses: np.ndarray, aspect: float, fps: float = 24.0) -> None:
    """Aim the camera at the prompt's subject, big enough and in view over the whole simulation (fills scene.camera
    in place; see `director`).

    poses: (F, N, 3) x, y, angle per frame for the bodies in `names`.
    """
    direct(scene, names, poses, aspect, fps)


def camera_pose(scene: SceneSpec, progress: float) -> CameraPose:
    """The camera at `progress` (0 at the first frame, 1 at the last) of the clip."""
    cam = scene.camera
    if cam.path:
        target = target_at(cam.path, progress)
    else:
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
    )
