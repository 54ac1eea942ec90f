"""Where the camera is: framing a simulated scene, the pose of each move (static, follow, track, pan, orbit) over
time, and one pose's rays and projection (`Shot`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural.director import direct, target_at
from model.procedural.scene import SceneSpec

MAX_ZOOM_IN = 0.05  # a following camera narrows its field to no less than this share of the shot's own
FOLLOW_SWEEP = math.radians(25)
FOLLOW_ZOOM_MARGIN = 0.9
EYE_ABOVE_PATH = 0.05  # metres  # how far a following camera turns either side of its middle aim


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
    fov = cam.fov
    if cam.move in {"follow", "pan"} and cam.path:
        # The camera stays where it stands and turns to follow (a pan turns on past the subject as well), zooming
        # so the subject keeps its size: what a sports camera operator does. The still world is then the same
        # for every frame (see `panorama`). It stands back far enough that following the whole way turns it by
        # at most FOLLOW_SWEEP either side.
        track = np.array(cam.path)
        low, high = track.min(axis=0), track.max(axis=0)
        half = (high - low) / 2
        stand = max(distance, float(max(half[0], half[1])) / math.tan(FOLLOW_SWEEP))
        position = (low + high) / 2 + offset * (stand / distance)
        # Never below the path's top: what the subject leaves (a table top, a step) must not hide it.
        position[1] = max(position[1], high[1] + EYE_ABOVE_PATH)
        away = float(np.linalg.norm(target - position))
        # The aim leads or trails the subject a little (see director._follow), so the subject stands a little
        # further off than the aim: zoom in a touch more than the aim's distance asks.
        zoom = FOLLOW_ZOOM_MARGIN * distance / max(away, 1e-6)
        fov = 2 * math.atan(math.tan(cam.fov / 2) * min(max(zoom, MAX_ZOOM_IN), 1.0))
    forward = _normalize(target - position)
    if look_yaw:
        c, s = math.cos(look_yaw), math.sin(look_yaw)
        forward = _normalize(np.array([c * forward[0] + s * forward[2], forward[1], -s * forward[0] + c * forward[2]]))
    right = _normalize(np.cross(forward, np.array([0.0, 1.0, 0.0])))
    up = np.cross(right, forward)
    return CameraPose(tuple(position.tolist()), tuple(forward.tolist()), tuple(right.tolist()), tuple(up.tolist()), fov)


class Shot:
    """One camera pose's rays and projection."""

    def __init__(self, pose: CameraPose, width: int, height: int, device: torch.device,
                 centre: tuple[float, float] | None = None) -> None:  # fmt: skip
        """`centre`: where the optical axis meets the image (x, y in pixels); the middle of the frame by default.
        A panorama (see `panorama`) is an image plane whose middle is not where the camera points."""
        self.pose = pose
        self.width, self.height = width, height
        self.cx, self.cy = centre if centre is not None else (width / 2, height / 2)
        self.device = device
        self.focal = (height / 2) / math.tan(pose.fov / 2)
        self.origin = torch.tensor(pose.position, dtype=torch.float32, device=device)[None]
        self.forward = torch.tensor(pose.forward, dtype=torch.float32, device=device)
        self.right = torch.tensor(pose.right, dtype=torch.float32, device=device)
        self.up = torch.tensor(pose.up, dtype=torch.float32, device=device)

    def rays(self, x0: int, y0: int, x1: int, y1: int, ss: int) -> torch.Tensor:
        """Unit ray directions for pixels [y0, y1) x [x0, x1) at `ss` x `ss` samples each: (h*ss*w*ss, 3)."""
        u = x0 + (torch.arange((x1 - x0) * ss, device=self.device, dtype=torch.float32) + 0.5) / ss
        v = y0 + (torch.arange((y1 - y0) * ss, device=self.device, dtype=torch.float32) + 0.5) / ss
        a = (u - self.cx) / self.focal  # (w,)
        b = (v - self.cy) / self.focal  # (h,)
        d = self.forward + a[None, :, None] * self.right - b[:, None, None] * self.up  # (h, w, 3)
        return F.normalize(d.reshape(-1, 3), dim=-1)

    def project_many(self, points: np.ndarray) -> np.ndarray:
        """Screen x, y and depth (N, 3) of world points (N, 3); x and y are NaN for points behind the camera."""
        rel = points - np.array(self.pose.position)
        z = rel @ np.array(self.pose.forward)
        x = rel @ np.array(self.pose.right)
        y = rel @ np.array(self.pose.up)
        safe = np.where(z > 0.05, z, np.nan)
        return np.stack((self.cx + x / safe * self.focal, self.cy - y / safe * self.focal, z), -1)

    def project(self, point: np.ndarray) -> tuple[float, float, float]:
        rel = point - np.array(self.pose.position)
        z = float(rel @ np.array(self.pose.forward))
        x = float(rel @ np.array(self.pose.right))
        y = float(rel @ np.array(self.pose.up))
        if z <= 0.05:
            return math.nan, math.nan, z
        return self.cx + x / z * self.focal, self.cy - y / z * self.focal, z
