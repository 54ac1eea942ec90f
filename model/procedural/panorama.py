"""The still world for a camera that turns and zooms but stays where it stands: cast once, looked up per frame.

Seen from one point, what a ray shows does not depend on which way the camera points: colour, light and the
distance along the ray are the same. So a camera that only turns and zooms (a pan, or the director's follow)
needs the still world cast once, on one image plane wide enough for every frame of the clip, with the same code
as a still camera (soft shadows, fixtures, sky). Each frame is then a resampling of that image: its pixels' rays
meet the plane at points that a homography gives. That costs a few milliseconds a frame instead of tens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from model.procedural.camera import CameraPose, Shot
from model.procedural.shading import to_uint8

# A panorama holds at most this many times a frame's pixels; a wider sweep gets a softer panorama instead (a long
# lens's background is soft anyway), down to MIN_SHARPNESS of the frames' own resolution, and then another one.
MAX_AREA = 4.0
FULL_DETAIL_PIXELS = 640 * 360
MIN_SHARPNESS = 0.5
MIN_FRAMES_EACH = 8  # frames a panorama serves on average, or the clip is drawn frame by frame
# Rays further than this from the panorama's axis (about 78 degrees) would stretch its plane too far: such a clip
# is drawn frame by frame.
MIN_COS = 0.2
SAME_PLACE = 1e-6  # metres: a camera that moved less than this stood still


@dataclass
class PanoramaView:
    """The still world as frames see it: colour (F*H*W, 3), direct-light share (F*H*W,), ray depth (F*H*W,)."""

    color: torch.Tensor
    direct: torch.Tensor
    depth: torch.Tensor
    image: torch.Tensor  # (F, H, W, 3) uint8


def plan(poses: list[CameraPose], width: int, height: int, device: torch.device) -> list[tuple[int, Shot]] | None:
    """Panoramas for frames `poses` of `width` x `height`: (index of the first frame each serves, its camera).

    One panorama serves as many frames in a row as it can while it stays under MAX_AREA frames' pixels at no
    less than MIN_SHARPNESS of their focal length (a long zoom over a long sweep needs several). None when the
    camera moves from its place, turns too far for one plane, or would need a panorama every few frames."""
    out: list[tuple[int, Shot]] = []
    start = 0
    while start < len(poses):
        end, shot = start + 1, _plan_one(poses[start : start + 1], width, height, device)
        if shot is None:
            return None
        # Grow by doubling, then back off by halving: about 2 log n plans instead of n.
        step = 1
        while end < len(poses):
            wider = _plan_one(poses[start : end + step], width, height, device)
            if wider is not None:
                end, shot = min(end + step, len(poses)), wider
                step *= 2
            elif step > 1:
                step //= 2
            else:
                break
        out.append((start, shot))
        start = end
    # Casting a panorama costs a few frames drawn one by one: each must serve enough frames to pay for itself.
    return out if len(out) <= math.ceil(len(poses) / MIN_FRAMES_EACH) else None


def _plan_one(poses: list[CameraPose], width: int, height: int, device: torch.device) -> Shot | None:
    """One panorama for all of `poses`: the same place, aimed at the middle of everything they see, with the
    sharpest frame's focal length (less above FULL_DETAIL_PIXELS, or when that would exceed MAX_AREA). None when
    it cannot serve them all."""
    position = np.array(poses[0].position)
    if any(float(np.abs(np.array(p.position) - position).max()) > SAME_PLACE for p in poses):
        return None
    corners = np.array([_corner_rays(p, width, height) for p in poses]).reshape(-1, 3)
    forward = _unit(corners.mean(axis=0))
    right = _unit(np.cross(forward, (0.0, 1.0, 0.0)))
    up = np.cross(right, forward)
    z = corners @ forward
    if float((z / np.linalg.norm(corners, axis=1)).min()) < MIN_COS:
        return None
    x, y = (corners @ right) / z, (corners @ up) / z
    # Above 640x360 the still world is no more detailed than at 640x360 (a travelling camera's is drawn at half
    # size too): it moves, so its softness reads as motion, and a 720p clip's panoramas cost what 360p ones do.
    detail = min(1.0, math.sqrt(FULL_DETAIL_PIXELS / (width * height)))
    focal = detail * max((height / 2) / math.tan(p.fov / 2) for p in poses)
    span_x, span_y = float(x.max() - x.min()), float(y.max() - y.min())
    area = (span_x * focal + 4) * (span_y * focal + 4)
    budget = MAX_AREA * width * height * detail * detail
    if area > budget:
        shrink = math.sqrt(budget / area)
        if shrink < MIN_SHARPNESS:
            return None
        focal *= shrink
    pano_w, pano_h = math.ceil(span_x * focal) + 4, math.ceil(span_y * focal) + 4
    centre = (2 - float(x.min()) * focal, 2 + float(y.max()) * focal)  # two pixels of margin on every side
    fov = 2 * math.atan((pano_h / 2) / focal)
    pose = CameraPose(tuple(position.tolist()), tuple(forward.tolist()), tuple(right.tolist()), tuple(up.tolist()),
                      fov)  # fmt: skip
    return Shot(pose, pano_w, pano_h, device, centre)


class Panorama:
    """A still world image on the panorama's plane (from `plan`), resampled for each frame's pose."""

    def __init__(self, shot: Shot, color: torch.Tensor, direct: torch.Tensor, depth: torch.Tensor) -> None:
        """color (Hp*Wp, 3), direct (Hp*Wp,) and depth (Hp*Wp,), one value per pixel of `shot`'s image."""
        self.shot = shot
        h, w = shot.height, shot.width
        self.smooth = torch.cat([color.reshape(h, w, 3), direct.reshape(h, w, 1)], dim=-1)  # (Hp, Wp, 4)
        self.depth = depth.reshape(h, w)
        self.image = to_uint8(color.reshape(h, w, 3))
        self.on_cpu = color.device.type == "cpu"
        if self.on_cpu:  # OpenCV's warp is several times faster than torch's grid_sample on the CPU
            self.smooth_np, self.depth_np = self.smooth.numpy(), self.depth.numpy()
            self.image_np = self.image.numpy()

    def covers(self, pose: CameraPose, width: int, height: int) -> bool:
        """Whether a frame from `pose` stands at the panorama's place and falls inside its image."""
        if float(np.abs(np.array(pose.position) - np.array(self.shot.pose.position)).max()) > SAME_PLACE:
            return False
        ref = self.shot.pose
        rays = np.array(_corner_rays(pose, width, height))
        z = rays @ np.array(ref.forward)
        if float((z / np.linalg.norm(rays, axis=1)).min()) < MIN_COS:
            return False
        px = self.shot.cx + (rays @ np.array(ref.right)) / z * self.shot.focal
        py = self.shot.cy - (rays @ np.array(ref.up)) / z * self.shot.focal
        return bool((px >= 0).all() and (px <= self.shot.width).all() and (py >= 0).all()
                    and (py <= self.shot.height).all())  # fmt: skip

    def view(self, shots: list[Shot]) -> PanoramaView:
        """The still world for frames seen by `shots` (all of one size), stacked: (F*H*W, ...)."""
        if self.on_cpu:
            return self._warp(shots)
        h, w = shots[0].height, shots[0].width
        grid = torch.stack([self._grid(s) for s in shots])  # (F, H, W, 2)
        n = len(shots)
        smooth = F.grid_sample(self.smooth.permute(2, 0, 1)[None].expand(n, -1, -1, -1), grid, mode="bilinear",
                               padding_mode="border", align_corners=False)  # fmt: skip
        depth = F.grid_sample(self.depth[None, None].expand(n, -1, -1, -1), grid, mode="nearest",
                              padding_mode="border", align_corners=False)  # fmt: skip
        smooth = smooth.permute(0, 2, 3, 1).reshape(-1, 4)
        color = smooth[:, :3].contiguous()
        return PanoramaView(color, smooth[:, 3].contiguous(), depth.reshape(-1), to_uint8(color.view(n, h, w, 3)))

    def _warp(self, shots: list[Shot]) -> PanoramaView:
        """`view` with OpenCV: each frame is a perspective warp of the panorama."""
        h, w = shots[0].height, shots[0].width
        size = (w, h)
        how = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        nearest = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
        smooth = np.empty((len(shots), h, w, 4), np.float32)
        depth = np.empty((len(shots), h, w), np.float32)
        image = np.empty((len(shots), h, w, 3), np.uint8)
        for k, shot in enumerate(shots):
            m = self._homography(shot)
            cv2.warpPerspective(self.smooth_np, m, size, smooth[k], how, cv2.BORDER_REPLICATE)
            cv2.warpPerspective(self.depth_np, m, size, depth[k], nearest, cv2.BORDER_REPLICATE)
            cv2.warpPerspective(self.image_np, m, size, image[k], how, cv2.BORDER_REPLICATE)
        flat = torch.from_numpy(smooth).view(-1, 4)
        return PanoramaView(flat[:, :3].contiguous(), flat[:, 3].contiguous(), torch.from_numpy(depth).view(-1),
                            torch.from_numpy(image))  # fmt: skip

    def _homography(self, shot: Shot) -> np.ndarray:
        """(3, 3): a frame pixel's index (x, y) to the panorama pixel index its centre's ray meets.

        The frame's ray through pixel centre (x + 0.5, y + 0.5) is forward + a*right - b*up; its coordinates
        along the panorama camera's axes are linear in (a, b, 1), and the panorama pixel is their perspective
        division: three matrices, multiplied."""
        ref = self.shot
        to_ab = np.array([[1 / shot.focal, 0, (0.5 - shot.cx) / shot.focal],
                          [0, 1 / shot.focal, (0.5 - shot.cy) / shot.focal], [0, 0, 1]])  # fmt: skip
        pose, pano = shot.pose, ref.pose
        axes = np.array([pano.right, pano.up, pano.forward])  # rows: the panorama camera's axes
        to_xyz = np.column_stack(
            (axes @ np.array(pose.right), -(axes @ np.array(pose.up)), axes @ np.array(pose.forward))
        )
        to_pixel = np.array([[ref.focal, 0, ref.cx - 0.5], [0, -ref.focal, ref.cy - 0.5], [0, 0, 1]])
        return to_pixel @ to_xyz @ to_ab

    def _grid(self, shot: Shot) -> torch.Tensor:
        """(H, W, 2): where each pixel centre's ray meets the panorama, in grid_sample's [-1, 1] coordinates.

        A ray is forward + a*right - b*up in the frame's camera; its panorama coordinates are ratios of dot
        products that are affine in a and b, so the whole map is built from a row and a column."""
        ref = self.shot
        dev = ref.forward.device
        a = (torch.arange(shot.width, device=dev, dtype=torch.float32) + 0.5 - shot.cx) / shot.focal
        b = (torch.arange(shot.height, device=dev, dtype=torch.float32) + 0.5 - shot.cy) / shot.focal

        def along(axis: torch.Tensor) -> torch.Tensor:
            return (shot.forward @ axis) + a[None, :] * (shot.right @ axis) - b[:, None] * (shot.up @ axis)

        z = along(ref.forward)
        px = ref.cx + along(ref.right) / z * ref.focal
        py = ref.cy - along(ref.up) / z * ref.focal
        return torch.stack((px / ref.width * 2 - 1, py / ref.height * 2 - 1), dim=-1)


def _corner_rays(pose: CameraPose, width: int, height: int) -> list[np.ndarray]:
    """The (unnormalised) rays through a frame's four corners."""
    focal = (height / 2) / math.tan(pose.fov / 2)
    fwd, right, up = np.array(pose.forward), np.array(pose.right), np.array(pose.up)
    return [fwd + (u - width / 2) / focal * right - (v - height / 2) / focal * up
            for u in (0, width) for v in (0, height)]  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)
