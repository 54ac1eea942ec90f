"""Where moving bodies can change the picture, per frame: screen rectangles around each body and its shadow, the
pixels in them that a body's camera rays or shadow rays can reach (only those are cast), and the edges among them
that get supersampled."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from model.procedural.camera import Shot
from model.procedural.primitives import INF, Param, Primitive, intersect

if TYPE_CHECKING:  # only for annotations: render imports this module
    from model.procedural.render import BodyLook
    from model.procedural.still_world import Background


OUTLINE_SHIFT = 4  # fractional bits of the outline's corners (OpenCV's subpixel drawing)
OUTLINE_SUBPIXELS = 1 << OUTLINE_SHIFT


@dataclass
class ChunkScene:
    """What `_trace` needs about one chunk of frames: cameras, body poses and screen boxes, static image."""

    shots: list[Shot]
    centers: np.ndarray  # (F, K, 3)
    angles: np.ndarray  # (F, K)
    mouth: np.ndarray  # (F, K)
    body_boxes: np.ndarray  # (F, K, 4) screen box of each body
    reach_boxes: np.ndarray  # (F, K, 4) screen box of each body and its shadow
    looks: list[BodyLook]
    bg: Background
    h: int
    w: int


class Footprint:
    """Screen-space reach of a clip's moving bodies, against its still fixtures and its light."""

    def __init__(self, width: int, height: int, device: torch.device, statics: list[Primitive], to_light: torch.Tensor,
                 penumbra: float) -> None:  # fmt: skip
        self.width, self.height, self.device = width, height, device
        self.statics, self.to_light, self.penumbra = statics, to_light, penumbra

    def shadow_drops(self, centers: np.ndarray, bounds: list[float]) -> np.ndarray:
        """How far (metres, away from the light) the shadow of each moving thing's centre and of four points on
        its rim travels before it meets a fixture or the floor: (..., 5). One batch of rays for all frames."""
        lead = centers.shape[:-1]
        r = np.broadcast_to(np.asarray(bounds, np.float64), lead)[..., None]
        offsets = np.array([(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1)], np.float64)
        points = centers[..., None, :] + offsets * r[..., None]  # (..., 5, 3)
        flat = points.reshape(-1, 3)
        ly = float(self.to_light[1])
        floor_t = np.maximum(flat[:, 1], 0.0) / max(ly, 1e-3)
        if not self.statics or flat.shape[0] == 0:
            return floor_t.reshape((*lead, 5))
        o = torch.from_numpy(flat).to(self.device, torch.float32)
        d = (-self.to_light).expand_as(o)
        best = torch.from_numpy(floor_t).to(self.device, torch.float32)
        for prim in self.statics:
            best = torch.minimum(best, intersect(prim, o, d))
        return best.cpu().numpy().astype(np.float64).reshape((*lead, 5))

    def rects(
        self,
        shot: Shot,
        centers: np.ndarray,
        bounds: list[float],
        drops: np.ndarray,
        corners: list[np.ndarray | None] | None = None,
    ) -> tuple[list[tuple[int, int, int, int]], np.ndarray, np.ndarray]:
        """Screen rectangles to recast: each moving thing and where its shadow lands (on fixtures or the floor).

        Also, per thing, its own screen box and the box of everything it reaches (itself and its shadow):
        (K, 4) each, as x0, y0, x1, y1.
        """
        boxes: list[list[np.ndarray]] = []
        owners: list[int] = []
        to_light = self.to_light.cpu().numpy()
        for k, (c, r0, drop) in enumerate(zip(centers, bounds, drops, strict=True)):
            r = r0 * 1.02 + 0.005
            own = None if corners is None else corners[k]
            # A box's own screen box spans its real corners (grown a hair); anything else its bounding cube.
            boxes.append(list(own) if own is not None else [c + CUBE[i] * r for i in range(8)])
            owners.append(k)
            if c[1] <= 0 or to_light[1] <= 0.05:
                continue
            # Where the shadow lands: on a fixture, the floor, or both when the body is over an edge.
            for t in sorted({round(float(x), 3) for x in drop}):
                cs = c - to_light * t
                spread = r / to_light[1] + self.penumbra * t * 2 + 0.02
                scale = np.array((spread, r + 0.02, spread))
                boxes.append([cs + CUBE[i] * scale for i in range(8)])
                owners.append(-1 - k)
        rects: list[list[int]] = []
        # Per body: its own screen box, and the box of everything it touches (itself and its shadow).
        body_box = np.zeros((len(bounds), 4))
        reach_box = np.tile(np.array([self.width, self.height, 0.0, 0.0]), (len(bounds), 1))
        for pts, owner in zip(boxes, owners, strict=True):
            uv = [shot.project(p) for p in pts]
            if any(math.isnan(u) for u, _, _ in uv):
                x0, y0, x1, y1 = 0, 0, self.width, self.height
            else:
                us, vs = [u for u, _, _ in uv], [v for _, v, _ in uv]
                x0, x1 = max(int(min(us)) - 2, 0), min(int(max(us)) + 3, self.width)
                y0, y1 = max(int(min(vs)) - 2, 0), min(int(max(vs)) + 3, self.height)
            k = owner if owner >= 0 else -1 - owner
            if owner >= 0:
                body_box[k] = (x0, y0, x1, y1)
            reach_box[k, :2] = np.minimum(reach_box[k, :2], (x0, y0))
            reach_box[k, 2:] = np.maximum(reach_box[k, 2:], (x1, y1))
            if x1 > x0 and y1 > y0:
                rects.append([x0, y0, x1, y1])

        # Merge overlapping rectangles only when their bounding box is not much bigger than the two together:
        # overlapping pixels are then cast twice (with identical results) instead of casting empty corners.
        merged = True
        while merged:
            merged = False
            for i in range(len(rects)):
                for j in range(i + 1, len(rects)):
                    a, b = rects[i], rects[j]
                    if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                        box = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                        if _area(box) <= 1.15 * (_area(a) + _area(b)):
                            rects[i] = box
                            rects.pop(j)
                            merged = True
                            break
                if merged:
                    break
        return [(a[0], a[1], a[2], a[3]) for a in rects], body_box, reach_box

    def affected(self, scene: ChunkScene, rects: list[list[tuple[int, int, int, int]]]) -> np.ndarray:
        """The pixels (frame*H*W + y*W + x, ascending, each once) inside the frames' rectangles that a moving body
        can change.

        Body k can change a pixel only inside its reach box (where `_trace` tests it at all), and only when the
        pixel's ray passes within its bounding sphere, or when the ray from the lit static point the pixel shows
        towards the light does (widened by a soft shadow's penumbra). Anywhere else the cast would give back the
        static image bit for bit, so it is not cast.
        """
        h, w, dev = scene.h, scene.w, self.device
        centers = torch.from_numpy(scene.centers).to(dev, torch.float32)  # (F, K, 3)
        reaches = [look.bound * 1.02 + 0.005 for look in scene.looks]  # a hair more, against float rounding
        marked = torch.zeros((len(rects), h, w), dtype=torch.bool, device=dev)
        for f, frame_rects in enumerate(rects):
            for rect in frame_rects:
                bodies = [k for k in range(len(scene.looks)) if _overlap(rect, scene.reach_boxes[f, k])]
                if bodies:
                    x0, y0, x1, y1 = rect
                    marked[f, y0:y1, x0:x1] |= self._affected_in_rect(scene, f, rect, centers[f], bodies, reaches)
        return marked.view(-1).nonzero().squeeze(1).cpu().numpy()

    def _affected_in_rect(
        self,
        scene: ChunkScene,
        f: int,
        rect: tuple[int, int, int, int],
        centers: torch.Tensor,
        bodies: list[int],
        reaches: list[float],
    ) -> torch.Tensor:
        """(y1 - y0, x1 - x0) bool over one rectangle of frame f: see `affected`."""
        x0, y0, x1, y1 = rect
        shot, bg = scene.shots[f], scene.bg
        u = torch.arange(x0, x1, device=self.device, dtype=torch.float32) + 0.5
        v = torch.arange(y0, y1, device=self.device, dtype=torch.float32) + 0.5
        a, b = (u - scene.w / 2) / shot.focal, (v - scene.h / 2) / shot.focal
        d = F.normalize(shot.forward + a[None, :, None] * shot.right - b[:, None, None] * shot.up, dim=-1)
        frame = f if bg.pixel_depth.shape[0] > 1 else 0
        depth = bg.pixel_depth[frame].view(scene.h, scene.w)[y0:y1, x0:x1]
        direct = bg.pixel_direct[frame].view(scene.h, scene.w)[y0:y1, x0:x1]
        lit = (depth < INF) & (direct > 0.01)
        p = shot.origin[0] + depth.clamp(max=1e3)[..., None] * d
        affected = torch.zeros_like(lit)
        for k in bodies:
            rows, cols = _window(rect, scene.reach_boxes[f, k])  # only there does `_trace` test body k
            c = centers[k]
            look = scene.looks[k]
            if look.box_half is not None:
                # A box's or bottle's shadow is hard: a ray that misses its box grown by a hair can neither see it
                # nor be shaded by it (a lying bottle's bounding sphere covers many times its pixels).
                hx, hy, hz = look.box_half
                grown = (hx * 1.02 + 0.005, hy * 1.02 + 0.005, hz * 1.02 + 0.005)
                angle = float(scene.angles[f, k])
                outline = self._outline(shot, scene.centers[f, k], look.box_half, angle, rect)
                if outline is not None:
                    near = outline[rows, cols]
                else:
                    near = hits_box(shot.origin[0] - c, d[rows, cols], grown, angle)
                pc = p[rows, cols] - c
                near |= lit[rows, cols] & hits_box(pc, self.to_light, grown, angle)
                affected[rows, cols] |= near
                continue
            near = passes_near(c - shot.origin[0], d[rows, cols], reaches[k])
            to_c = c - p[rows, cols]
            penumbra = self.penumbra * (to_c @ self.to_light).clamp(min=0) + 0.004
            near |= lit[rows, cols] & passes_near(to_c, self.to_light, reaches[k] + penumbra)
            affected[rows, cols] |= near
        return affected

    def _outline(self, shot: Shot, center: np.ndarray, half: tuple[float, float, float], angle: float,
                 rect: tuple[int, int, int, int]) -> torch.Tensor | None:  # fmt: skip
        """(y1 - y0, x1 - x0) bool over `rect`: the pixels whose camera ray can meet the box of half sizes `half`
        grown by a hair: its corners' convex outline on the screen, grown by a pixel, drawn by OpenCV (a few
        microseconds, against a ray test per pixel). A superset is safe: a pixel cast for nothing keeps its still
        image. None on a GPU, or when part of the box is behind the camera."""
        if self.device.type != "cpu":
            return None
        uv = shot.project_many(box_corners(center, half, angle))
        if np.isnan(uv[:, :2]).any():
            return None
        x0, y0, x1, y1 = rect
        # Pixel (i, j) of the rectangle has its centre at (x0 + j + 0.5, y0 + i + 0.5); OpenCV's at (j, i).
        points = np.round((uv[:, :2] - (x0 + 0.5, y0 + 0.5)) * OUTLINE_SUBPIXELS).astype(np.int32)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(points), 1, cv2.LINE_8, OUTLINE_SHIFT)
        grown = np.asarray(cv2.dilate(mask, np.ones((3, 3), np.uint8)), np.uint8)
        return torch.from_numpy(grown.view(bool))

    def edges(
        self, traced: np.ndarray, owner: torch.Tensor, vis: torch.Tensor, rects: list[list[tuple[int, int, int, int]]]
    ) -> np.ndarray:
        """The pixels inside the frames' rectangles whose owner differs from a neighbour's or whose shadow changes
        sharply; owner and vis are known for pixels `traced`, every other pixel shows the static image (owner -1,
        fully lit), so no edge lies outside the rectangles' bounding box grown by one pixel."""
        h, w, n_frames = self.height, self.width, len(rects)
        owners = torch.full((n_frames * h * w,), -1, dtype=torch.long, device=self.device)
        shadows = torch.ones(n_frames * h * w, device=self.device)
        done = torch.from_numpy(traced).to(self.device)
        owners[done] = owner
        shadows[done] = vis
        inside = torch.zeros((n_frames, h, w), dtype=torch.bool, device=self.device)
        for f, frame_rects in enumerate(rects):
            for x0, y0, x1, y1 in frame_rects:
                inside[f, y0:y1, x0:x1] = True
        corners = np.array([r for frame_rects in rects for r in frame_rects])
        x0, y0 = max(int(corners[:, 0].min()) - 1, 0), max(int(corners[:, 1].min()) - 1, 0)
        x1, y1 = min(int(corners[:, 2].max()) + 1, w), min(int(corners[:, 3].max()) + 1, h)
        owners = owners.view(n_frames, h, w)[:, y0:y1, x0:x1]
        shadows = shadows.view(n_frames, h, w)[:, y0:y1, x0:x1]
        edge = torch.zeros_like(owners, dtype=torch.bool)
        for dim in (1, 2):
            o_diff = owners.diff(dim=dim) != 0
            s_diff = shadows.diff(dim=dim).abs() > 0.2
            both = o_diff | s_diff
            if dim == 1:
                edge[:, 1:, :] |= both
                edge[:, :-1, :] |= both
            else:
                edge[:, :, 1:] |= both
                edge[:, :, :-1] |= both
        found = torch.zeros_like(inside)
        found[:, y0:y1, x0:x1] = edge
        return (found & inside).view(-1).nonzero().squeeze(1).cpu().numpy()


CUBE = np.array([(sx, sy, sz) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


def _overlap(rect: tuple[int, int, int, int], box: np.ndarray) -> bool:
    return rect[0] < box[2] and box[0] < rect[2] and rect[1] < box[3] and box[1] < rect[3]


def _window(rect: tuple[int, int, int, int], box: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns (slices relative to the rectangle) of the part of `rect` inside `box` (x0, y0, x1, y1)."""
    x0, y0 = max(rect[0], int(box[0])), max(rect[1], int(box[1]))
    x1, y1 = min(rect[2], int(box[2])), min(rect[3], int(box[3]))
    return slice(y0 - rect[1], y1 - rect[1]), slice(x0 - rect[0], x1 - rect[0])


def passes_near(to_center: torch.Tensor, d: torch.Tensor, radius: Param) -> torch.Tensor:
    """(P,) bool: the ray along unit d ((P, 3), or (3,) for all) comes within `radius` of a centre `to_center`
    (P, 3) away from its origin, and the centre is not wholly behind the origin."""
    along = (to_center * d).sum(-1)
    miss2 = (to_center * to_center).sum(-1) - along * along
    return (miss2 <= radius * radius) & (along > -radius)


def box_corners(center: np.ndarray, half: tuple[float, float, float], angle: float) -> np.ndarray:
    """(8, 3): the corners of a box turned by `angle` about z, grown a hair (as a bounding sphere's reach is)."""
    local = CUBE * (np.asarray(half, np.float64) * 1.02 + 0.005)
    c, s = math.cos(angle), math.sin(angle)
    x, y = local[:, 0], local[:, 1]
    return center + np.stack((c * x - s * y, s * x + c * y, local[:, 2]), axis=-1)


def hits_box(origin: torch.Tensor, d: torch.Tensor, half: tuple[float, float, float], angle: float) -> torch.Tensor:
    """(...,) bool: the ray from `origin` ((..., 3) or (3,), relative to the box's centre) along `d` ((..., 3) or
    (3,): one direction for all, as towards the light, costs far less) meets the box (half sizes `half`, turned by
    `angle` about z) anywhere ahead of its origin (or starts inside it)."""
    c, s = math.cos(angle), math.sin(angle)

    def local(v: torch.Tensor) -> torch.Tensor:
        x, y = v[..., 0], v[..., 1]
        return torch.stack((c * x + s * y, -s * x + c * y, v[..., 2]), dim=-1)

    ol, dl = local(origin), local(d)
    h = d.new_tensor(half)
    inv = 1.0 / torch.where(dl.abs() < 1e-9, torch.full_like(dl, 1e-9), dl)
    t1, t2 = (-h - ol) * inv, (h - ol) * inv
    tnear = torch.minimum(t1, t2).amax(-1)
    tfar = torch.maximum(t1, t2).amin(-1)
    return (tfar >= tnear) & (tfar > 0)


def _area(r: list[int]) -> int:
    return (r[2] - r[0]) * (r[3] - r[1])
