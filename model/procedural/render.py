"""Ray-cast rendering in torch: spheres, boxes, bottles and cans, a textured ground, sky, soft shadows, smooth edges.

Everything static (ground, sky, fixtures, figures) is cast once per shot into supersampled buffers; each frame
then only re-casts small screen rectangles around the moving bodies and their shadows, and composites them over
the static image. That is what makes 5 s of 640x360 take a fraction of a second on two CPU cores. The same
code runs on a CUDA device when one is given.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural import lathe, panorama
from model.procedural.camera import CameraPose, Shot, camera_pose
from model.procedural.materials import material
from model.procedural.primitives import (
    EDGES,
    HEAD,
    INF,
    PLAIN,
    SEAMS,
    Param,
    Primitive,
    cast,
    intersect,
    positions,
    shadow_culled,
    visibility,
)
from model.procedural.raster import StaticWorld
from model.procedural.scene import SceneSpec
from model.procedural.sets import ground_albedo, wall_albedo
from model.procedural.shading import floor_albedo, lighting_for, luminance, pool_light, shade, sky
from model.procedural.statics import figure_parts, static_primitives
from model.procedural.weather import rain_overlay

__all__ = ["Background", "BodyLook", "RenderSettings", "Renderer", "rain_overlay"]


@dataclass(frozen=True)
class RenderSettings:
    supersample: int = 2  # rays per pixel side on moving bodies: anti-aliased edges
    # Up to 1280x720 (the largest size offered) edges are anti-aliased: it about doubles a 720p clip's time (1.6 ->
    # 3.1-3.8 s for the benchmark's 5 s clip on 2 cores, within its 6 s target). Lower these to trade edges for speed.
    supersample_max_pixels: int = 1280 * 720
    # The same for the static image (ground, fixtures, figures), which is cast once per shot.
    background_supersample_max_pixels: int = 1280 * 720
    # Above this many pixels a travelling camera's still world (orbit, tracking shot) is drawn at half size and
    # scaled up (bodies keep full size): it is moving, so the softness reads as motion, and a frame costs about a
    # third (an orbit at 640x360: 82 -> 25 ms a frame on two cores). 0: always.
    moving_background_full_max_pixels: int = 0
    penumbra: float = 0.035  # angular size of the light; softens sphere shadows with distance
    chunk: int = 12  # frames per progress report / cancel check


@dataclass
class Background:
    """Static image buffers at supersampled resolution (factor `ss`), flattened per frame: (F, Hs*Ws, ...),
    and the same pooled to one value per pixel: (F, H*W, ...)."""

    color: torch.Tensor  # (F, Hs*Ws, 3)
    direct: torch.Tensor  # (F, Hs*Ws) share of the colour that a shadow removes
    depth: torch.Tensor  # (F, Hs*Ws) ray distance to the first static surface
    ss: int
    frames: torch.Tensor  # (F, H, W, 3) uint8, pooled
    pixel_color: torch.Tensor  # (F, H*W, 3)
    pixel_direct: torch.Tensor  # (F, H*W)
    pixel_depth: torch.Tensor  # (F, H*W) the nearest of the pixel's samples


@dataclass(frozen=True)
class BodyLook:
    """How one moving thing looks; its position comes per frame."""

    kind: str
    half: tuple[float, float, float]
    color: tuple[float, float, float]
    shininess: float
    pattern: int
    bound: float  # bounding-sphere radius, for screen rectangles
    face: torch.Tensor | None = None
    owner: str = ""
    profile: lathe.Lathe | None = None  # a bottle's or can's outline
    axis_z: bool = False  # lying across the view

    @property
    def box_half(self) -> tuple[float, float, float] | None:
        """Half sizes of the box (in the body's own turned frame) that holds it exactly enough for culling: a box's
        own, or a bottle's or can's tight cylinder; None for spheres, whose shadows are soft."""
        if self.kind == "box":
            return self.half
        if self.kind == "lathe" and self.profile is not None:
            radius = max(r for _, r in self.profile.points)
            along = max(abs(a) for a, _ in self.profile.points)
            return (radius, radius, along) if self.axis_z else (radius, along, radius)
        return None


class Renderer:
    """Renders a simulated scene in chunks of frames, re-casting only the pixels near what moves."""

    def __init__(
        self,
        scene: SceneSpec,
        width: int,
        height: int,
        device: torch.device,
        settings: RenderSettings | None = None,
        faces: dict[str, torch.Tensor] | None = None,
        speakers: frozenset[str] = frozenset(),
        frames: int | None = None,
    ) -> None:
        """`faces`: cameo face images by figure id; `speakers`: figures whose mouths move at some point; `frames`:
        how many frames this renderer will draw (by default up to the clip's last), so that a turning camera's
        still world is cast once for all of them."""
        self.scene = scene
        self.width, self.height = width, height
        self.device = device
        self.settings = settings or RenderSettings()
        cam = scene.camera
        # A night lamp pools its light where the action is: over a tracking shot's whole path.
        centre = float(np.mean([q[0] for q in cam.path])) if cam.path else (cam.target or (0.0,))[0]
        base = lighting_for(scene.environment, centre)
        self.to_light = F.normalize(torch.tensor(base.to_light, device=device), dim=0)
        self.light = dataclasses.replace(base, to_light=tuple(self.to_light.tolist()))
        self.faces = faces or {}
        self.animated_heads = frozenset(speakers) | frozenset(self.faces)
        self.statics = static_primitives(scene, self.animated_heads)
        self.bodies = {o.id: o for o in scene.objects}
        self.figures = [o for o in scene.objects if o.shape == "figure"]
        self.moving_camera = scene.camera.move != "static"
        self._static: tuple[Shot, Background] | None = None
        self._world: StaticWorld | None = None  # the still world for a moving camera, built on its first frame
        # A turning camera's panoramas (first frame each serves, its camera), planned on the first chunk (empty when
        # the camera travels instead), and the one cast last.
        self._panoramas: list[tuple[int, Shot]] | None = None
        self._panorama: panorama.Panorama | None = None
        self.frames = frames
        # The last frame drawn and what it showed, so a still frame (a body at rest) is copied, not re-cast.
        self._last_key: tuple | None = None
        self._last_frame: torch.Tensor | None = None

    # -- static image -------------------------------------------------------------------------------------
    def background(self, shot: Shot, ss: int) -> Background:
        """Cast ground, back wall, sky and fixtures for the whole frame at `ss` x `ss` samples per pixel."""
        env = self.scene.environment
        floor = self.scene.floor()
        d = shot.rays(0, 0, shot.width, shot.height, ss)  # (P, 3), row-major over the supersampled grid
        o = shot.origin
        n_rays = d.shape[0]
        far = torch.full((n_rays,), INF, device=d.device)
        t_floor = torch.where(d[:, 1] < -1e-6, -o[0, 1] / d[:, 1].clamp(max=-1e-6), far)
        indoor = env.setting == "indoor"
        wall_z = -4.0
        t_wall = torch.where(d[:, 2] < -1e-6, (wall_z - o[0, 2]) / d[:, 2].clamp(max=-1e-6), far) if indoor else far
        ground = torch.minimum(t_floor, t_wall)
        hit = cast(self._culled(self.statics, shot, ss), o, d, limit=ground)
        t = torch.minimum(hit.t, ground)
        is_static = hit.t < ground
        is_floor = ~is_static & (t_floor <= t_wall) & (t_floor < INF)
        is_wall = ~is_static & (t_wall < t_floor)
        p = o + t.clamp(max=1e3)[:, None] * d
        normal = torch.where(is_static[:, None], hit.normal, torch.zeros_like(hit.normal))
        normal[is_floor] = normal.new_tensor((0.0, 1.0, 0.0))
        normal[is_wall] = normal.new_tensor((0.0, 0.0, 1.0))
        base = d.new_tensor(floor.color).expand_as(d)
        place = env.place
        plain = floor_albedo(p, base, floor.material, t)
        albedo = torch.where(is_static[:, None], hit.albedo, ground_albedo(p, t, base, floor.material, place, plain))
        albedo = torch.where(is_wall[:, None], wall_albedo(p, place), albedo)
        shin = torch.where(is_static, hit.shininess, torch.full_like(t, material(floor.material).shininess * 0.4))
        shin = torch.where(is_wall, torch.zeros_like(shin), shin)
        surface = t < INF
        vis = torch.ones_like(t)
        idx = surface.nonzero().squeeze(1)
        if idx.numel():
            start = p[idx] + normal[idx] * 2e-3
            vis[idx] = visibility(
                shadow_culled(self.statics, start, self.to_light, self.settings.penumbra),
                start,
                self.to_light,
                self.settings.penumbra,
            )
        lamp = pool_light(self.light, p)
        if lamp is not None:
            vis = vis * lamp
        color, direct = shade(normal, albedo, shin, d, vis, self.light)
        sky_col = sky(d, self.light, env)
        # Distance haze towards the horizon colour hides the ground's far edge.
        haze = (1 - torch.exp(-t.clamp(max=1e3) / (30.0 if not indoor else 60.0)))[:, None]
        horizon = d.new_tensor(self.light.horizon)
        color = torch.where(surface[:, None], color * (1 - haze) + horizon * haze, sky_col)
        direct = torch.where(surface[:, None], direct * (1 - haze), torch.zeros_like(direct))
        frac = (luminance(direct) / luminance(color).clamp(min=1e-4)).clamp(0, 1)
        hs, ws = shot.height * ss, shot.width * ss
        pixel_color = _pool(color.reshape(hs, ws, 3), ss)
        pixel_direct = _pool(frac.reshape(hs, ws, 1).expand(hs, ws, 3), ss)[..., 0]
        pixel_depth = -F.max_pool2d(-t.reshape(1, 1, hs, ws), ss)[0, 0] if ss > 1 else t.reshape(hs, ws)
        return Background(
            color[None],
            frac[None],
            t[None],
            ss,
            _to_uint8(pixel_color)[None],
            pixel_color.reshape(1, -1, 3),
            pixel_direct.reshape(1, -1),
            pixel_depth.reshape(1, -1),
        )

    def _turning_background(self, shots: list[Shot], frame_ids: list[int], total_frames: int) -> Background | None:
        """The still world for frames of a camera that only turns and zooms, looked up in panoramas (planned on
        the first chunk over every frame this renderer draws, each cast when first needed); None when the camera
        travels, or turns too far."""
        if self._panoramas is None:
            first_frame = frame_ids[0]
            last = first_frame + (self.frames or max(total_frames - first_frame, 1))
            poses = [self._pose_at(f, total_frames) for f in range(first_frame, last)]
            planned = panorama.plan(poses, self.width, self.height, self.device)
            self._panoramas = [(first_frame + k, shot) for k, shot in planned] if planned else []
        if not self._panoramas:
            return None
        views = []
        for f, shot in zip(frame_ids, shots, strict=True):
            pano = self._panorama_for(f)
            if pano is None or not pano.covers(shot.pose, self.width, self.height):
                return None
            views.append(pano.view([shot]))
        n, hw = len(shots), self.height * self.width
        color = torch.cat([v.color for v in views]).view(n, hw, 3)
        direct = torch.cat([v.direct for v in views]).view(n, hw)
        depth = torch.cat([v.depth for v in views]).view(n, hw)
        return Background(color, direct, depth, 1, torch.cat([v.image for v in views]), color, direct, depth)

    def _panorama_for(self, frame: int) -> panorama.Panorama | None:
        """The panorama planned for `frame`, cast now if it is not the one cast last."""
        assert self._panoramas is not None
        shot = next((s for f, s in reversed(self._panoramas) if f <= frame), self._panoramas[0][1])
        if self._panorama is None or self._panorama.shot is not shot:
            still = self.background(shot, 1)
            self._panorama = panorama.Panorama(shot, still.pixel_color[0], still.pixel_direct[0],
                                               still.pixel_depth[0])  # fmt: skip
        return self._panorama

    def _moving_backgrounds(self, shots: list[Shot]) -> Background:
        """The still world drawn anew for each frame of a camera that travels (see `raster`)."""
        parts = [self._moving_background(shot) for shot in shots]
        # One ray per pixel: the supersampled buffers are the per-pixel ones, so each is joined once.
        color, direct, depth = (torch.cat([getattr(b, name) for b in parts]) for name in ("color", "direct", "depth"))
        return Background(color, direct, depth, 1, torch.cat([b.frames for b in parts]), color, direct, depth)

    def _moving_background(self, shot: Shot) -> Background:
        """The still world for one pose of a moving camera, one ray per pixel (see `raster`)."""
        if self._world is None:
            floor = self.scene.floor()
            self._world = StaticWorld(self.statics, floor.color, floor.material,
                                      material(floor.material).shininess * 0.4, self.scene.environment, self.light,
                                      self.to_light, self.settings.penumbra)  # fmt: skip
        h, w = self.height, self.width
        if w * h > self.settings.moving_background_full_max_pixels and w % 2 == 0 and h % 2 == 0:
            half = Shot(shot.pose, w // 2, h // 2, self.device)
            color, frac, depth = self._world.draw(half.origin, half.rays(0, 0, w // 2, h // 2, 1), h // 2, w // 2,
                                                  half.project_many)  # fmt: skip
            color, frac, depth = _upscale(color, frac, depth, h // 2, w // 2)
        else:
            color, frac, depth = self._world.draw(shot.origin, shot.rays(0, 0, w, h, 1), h, w, shot.project_many)
        return Background(color[None], frac[None], depth[None], 1, _to_uint8(color.reshape(1, h, w, 3)),
                          color[None], frac[None], depth[None])  # fmt: skip

    def _culled(self, prims: list[Primitive], shot: Shot, ss: int) -> list[Primitive]:
        """Static primitives with a camera-ray mask: only rays inside a primitive's screen box test it.

        Rays are the full frame at `ss` samples per pixel side, row-major (as `Shot.rays` makes them).
        """
        hs, ws = shot.height * ss, shot.width * ss
        rows = torch.arange(hs, device=self.device)[:, None]
        cols = torch.arange(ws, device=self.device)[None, :]
        out = []
        for prim in prims:
            c = np.array(prim.center)
            r = float(np.linalg.norm(prim.half)) + 1e-3
            uv = [shot.project(c + _CUBE_ARR[i] * r) for i in range(8)]
            if any(math.isnan(u) for u, _, _ in uv):
                out.append(prim)
                continue
            x0, x1 = min(u for u, _, _ in uv) * ss - 1, max(u for u, _, _ in uv) * ss + 1
            y0, y1 = min(v for _, v, _ in uv) * ss - 1, max(v for _, v, _ in uv) * ss + 1
            mask = ((rows >= y0) & (rows <= y1)) & ((cols >= x0) & (cols <= x1))  # (hs, ws)
            out.append(dataclasses.replace(prim, hit_mask=mask.reshape(-1)))
        return out

    # -- moving parts -------------------------------------------------------------------------------------
    def _looks(self, names: list[str]) -> list[BodyLook]:
        looks: list[BodyLook] = []
        for name in names:
            o = self.bodies[name]
            shin = material(o.material).shininess
            if o.shape == "sphere":
                # An articulated person's head (model/procedural/figures) has a face: painted, or its cameo's.
                head = o.kind in {"adult_head", "child_head"}
                face = self.faces.get(o.id.rsplit("/", 1)[0]) if head else None
                looks.append(BodyLook("sphere", (o.size[0],) * 3, o.color, shin, HEAD if head else SEAMS, o.size[0],
                                      face, owner=o.id))  # fmt: skip
            elif o.shape == "cylinder":
                profile = lathe.lathe_for(o.kind, o.size[0], o.size[1])
                looks.append(BodyLook("lathe", o.size, o.color, shin, PLAIN, lathe.bounding_radius(profile),
                                      owner=o.id, profile=profile, axis_z=o.axis == "z"))  # fmt: skip
            else:
                looks.append(BodyLook("box", o.size, o.color, shin, EDGES, float(np.linalg.norm(o.size)), owner=o.id))
        return looks

    def _heads(self) -> list[tuple[BodyLook, tuple[float, float, float], str]]:
        """Heads that can change (speaking, or wearing a cameo face) are drawn with the moving bodies."""
        out = []
        for fig in self.figures:
            if fig.id in self.animated_heads:
                _, head = figure_parts(fig, 0.0, self.faces.get(fig.id))
                r = head.half[0]
                look = BodyLook("sphere", head.half, head.color, head.shininess, HEAD, r, head.face, fig.id)
                out.append((look, head.center, fig.id))
        return out  # type: ignore[return-value]

    def _shadow_drops(self, centers: np.ndarray, bounds: list[float]) -> np.ndarray:
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

    def _rects(
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
            boxes.append(list(own) if own is not None else [c + _CUBE_ARR[i] * r for i in range(8)])
            owners.append(k)
            if c[1] <= 0 or to_light[1] <= 0.05:
                continue
            # Where the shadow lands: on a fixture, the floor, or both when the body is over an edge.
            for t in sorted({round(float(x), 3) for x in drop}):
                cs = c - to_light * t
                spread = r / to_light[1] + self.settings.penumbra * t * 2 + 0.02
                scale = np.array((spread, r + 0.02, spread))
                boxes.append([cs + _CUBE_ARR[i] * scale for i in range(8)])
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

    def render_chunk(
        self, names: list[str], poses: np.ndarray, mouths: list[dict[str, float]], first_frame: int, total_frames: int
    ) -> torch.Tensor:
        """Frames (F, H, W, 3) uint8 for poses (F, N, 3) (x, y, angle per body); one batch of rays for all.

        A frame whose poses, mouths and camera equal the previous frame's is that frame again (a settled body sleeps
        with its pose frozen, and a camera that follows it comes to rest with it), so only frames where something
        moved are cast.
        """
        frame_ids = list(range(first_frame, first_frame + poses.shape[0]))
        cameras = [self._pose_at(f, total_frames) for f in frame_ids] if self.moving_camera else [None] * len(frame_ids)
        keys = [(poses[k].tobytes(), tuple(sorted(mouths[k].items())), cameras[k]) for k in range(poses.shape[0])]
        changed = [k for k, key in enumerate(keys) if key != (keys[k - 1] if k else self._last_key)]
        drawn = (
            self._render_frames(
                names, poses[changed], [mouths[k] for k in changed], [frame_ids[k] for k in changed], total_frames
            )
            if changed
            else torch.empty((0, self.height, self.width, 3), dtype=torch.uint8, device=self.device)
        )
        # Slot 0 is the previous chunk's last frame; each frame shows the latest one drawn at or before it.
        pool = drawn if self._last_frame is None else torch.cat([self._last_frame[None], drawn])
        slot, slots = -1 if self._last_frame is None else 0, []
        for k in range(len(keys)):
            slot += k in changed
            slots.append(slot)
        frames = pool[torch.tensor(slots, device=self.device)]
        self._last_key, self._last_frame = keys[-1], frames[-1].clone()
        return frames

    def _pose_at(self, frame: int, total_frames: int) -> CameraPose:
        return camera_pose(self.scene, frame / max(total_frames - 1, 1))

    def _render_frames(
        self, names: list[str], poses: np.ndarray, mouths: list[dict[str, float]], frame_ids: list[int],
        total_frames: int,
    ) -> torch.Tensor:  # fmt: skip
        """Cast frames (F, H, W, 3) uint8 for poses (F, N, 3) of frames `frame_ids`, every frame anew."""
        n_frames = poses.shape[0]
        h, w = self.height, self.width
        ss = self.settings.supersample if w * h <= self.settings.supersample_max_pixels else 1
        if self.moving_camera:
            shots = [Shot(self._pose_at(f, total_frames), w, h, self.device) for f in frame_ids]
            bg = self._turning_background(shots, frame_ids, total_frames) or self._moving_backgrounds(shots)
        else:
            if self._static is None:
                shot0 = Shot(camera_pose(self.scene, 0.0), w, h, self.device)
                bg_ss = ss if w * h <= self.settings.background_supersample_max_pixels else 1
                self._static = (shot0, self.background(shot0, bg_ss))
            shot0, bg = self._static
            shots = [shot0] * n_frames
        frames = bg.frames.expand(n_frames, h, w, 3).clone() if bg.frames.shape[0] == 1 else bg.frames.clone()
        # Where each moving thing is, per frame.
        looks = self._looks(names)
        centers = np.zeros((n_frames, len(names), 3))
        angles = np.zeros((n_frames, len(names)))
        centers[:, :, 0], centers[:, :, 1] = poses[:, :, 0], poses[:, :, 1]
        centers[:, :, 2] = [self.bodies[n].z for n in names]
        angles[:, :] = poses[:, :, 2]
        heads = self._heads()
        if heads:
            head_c = np.array([c for _, c, _ in heads])[None].repeat(n_frames, 0)
            centers = np.concatenate([centers, head_c], axis=1)
            angles = np.concatenate([angles, np.zeros((n_frames, len(heads)))], axis=1)
            looks = looks + [look for look, _, _ in heads]
        mouth = np.zeros((n_frames, len(looks)))
        for k, (_, _, fid) in enumerate(heads):
            mouth[:, len(names) + k] = [m.get(fid, 0.0) for m in mouths]
        if not looks:
            return frames
        drops = self._shadow_drops(centers, [lk.bound for lk in looks])
        bounds = [lk.bound for lk in looks]
        body_boxes = np.zeros((n_frames, len(looks), 4))
        reach_boxes = np.zeros((n_frames, len(looks), 4))
        rects: list[list[tuple[int, int, int, int]]] = []
        for f in range(n_frames):
            corners = [_box_corners(centers[f, k], lk.half, float(angles[f, k])) if lk.kind == "box" else None
                       for k, lk in enumerate(looks)]  # fmt: skip
            frame_rects, body_boxes[f], reach_boxes[f] = self._rects(shots[f], centers[f], bounds, drops[f], corners)
            rects.append(frame_rects)
        scene = _ChunkScene(shots, centers, angles, mouth, body_boxes, reach_boxes, looks, bg, h, w)
        # Most of a rectangle is static image that no body covers or shades: those pixels keep the frame as it is.
        traced = self._affected(scene, rects)
        if not traced.size:
            return frames
        # Pass 1: one ray per pixel. Pass 2: ss x ss rays only where pass 1 found an edge (between two
        # bodies, a body and the background, or across a hard shadow), which is where aliasing shows.
        color, owner, vis = self._trace(scene, traced, 1)
        # Only where a body shows or shades: elsewhere the cast gave back the still image, which the frame already
        # holds (rounded once, so a traced patch cannot show as a faint seam along sharp edges of the still world).
        changed = ((owner >= 0) | (vis < 1)).nonzero().squeeze(1)
        frames.view(-1, 3)[torch.from_numpy(traced).to(self.device)[changed]] = _to_uint8(color[changed])
        if ss > 1:
            edges = self._edges(traced, owner, vis, rects)
            if edges.size:
                sharp, _, _ = self._trace(scene, edges, ss)
                frames.view(-1, 3)[torch.from_numpy(edges).to(self.device)] = _to_uint8(sharp)
        return frames

    def _affected(self, scene: _ChunkScene, rects: list[list[tuple[int, int, int, int]]]) -> np.ndarray:
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
        scene: _ChunkScene,
        f: int,
        rect: tuple[int, int, int, int],
        centers: torch.Tensor,
        bodies: list[int],
        reaches: list[float],
    ) -> torch.Tensor:
        """(y1 - y0, x1 - x0) bool over one rectangle of frame f: see `_affected`."""
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
                near = _hits_box(shot.origin[0] - c, d[rows, cols], grown, angle)
                pc = p[rows, cols] - c
                near |= lit[rows, cols] & _hits_box(pc, self.to_light.expand_as(pc), grown, angle)
                affected[rows, cols] |= near
                continue
            near = _passes_near(c - shot.origin[0], d[rows, cols], reaches[k])
            to_c = c - p[rows, cols]
            penumbra = self.settings.penumbra * (to_c @ self.to_light).clamp(min=0) + 0.004
            near |= lit[rows, cols] & _passes_near(to_c, self.to_light.expand_as(to_c), reaches[k] + penumbra)
            affected[rows, cols] |= near
        return affected

    def _camera_rays(
        self, shots: list[Shot], fid: torch.Tensor, u: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Origins ((1, 3), or (P, 3) with a moving camera) and unit directions (P, 3) of rays through screen
        points (u, v) of frames `fid`."""
        h, w = self.height, self.width
        if not self.moving_camera:
            shots = shots[:1]
            fid = torch.zeros_like(fid)
        # Per frame, the ray through (u, v) is u * a + v * b + c before normalising: one gather of (a, b, c).
        table = torch.stack([torch.cat((s.right / s.focal, -s.up / s.focal,
                                        s.forward - (w / 2) / s.focal * s.right + (h / 2) / s.focal * s.up))
                             for s in shots])  # fmt: skip
        rows = table[fid] if len(shots) > 1 else table.expand(fid.shape[0], 9)
        d = F.normalize(u[:, None] * rows[:, 0:3] + v[:, None] * rows[:, 3:6] + rows[:, 6:9], dim=-1)
        # A camera that turns from one place (or stands still) has one origin for every ray.
        origins = torch.stack([s.origin[0] for s in shots])
        same_place = bool((origins == origins[:1]).all())
        origin = origins[:1] if same_place else origins[fid]
        return origin, d

    def _edges(
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

    def _trace(self, scene: _ChunkScene, ids: np.ndarray, ss: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Colour (N, 3), owner (N,) and shadow visibility (N,) for pixels `ids` (frame*H*W + y*W + x).

        With ss == 1 one ray through each pixel's centre against the pooled static buffers; with ss > 1,
        ss x ss rays per pixel against the supersampled ones, averaged.
        """
        h, w, bg = scene.h, scene.w, scene.bg
        dev = self.device
        f = ids // (h * w)
        py = (ids % (h * w)) // w
        px = ids % w
        sub = (np.arange(ss) + 0.5) / ss
        su, sv = np.meshgrid(sub, sub)  # (ss, ss)
        ray_f = np.repeat(f, ss * ss)
        u_np = (px[:, None] + su.ravel()[None]).ravel()
        v_np = (py[:, None] + sv.ravel()[None]).ravel()
        fb = f if bg.color.shape[0] > 1 else np.zeros_like(f)
        if ss == 1:
            pix = fb * h * w + py * w + px
            bcol = bg.pixel_color.reshape(-1, 3)[torch.from_numpy(pix).to(dev)]
            bdirect = bg.pixel_direct.reshape(-1)[torch.from_numpy(pix).to(dev)]
            bdepth = bg.pixel_depth.reshape(-1)[torch.from_numpy(pix).to(dev)]
        else:
            k = bg.ss
            sx_b, sy_b = np.meshgrid(np.arange(ss) * k // ss, np.arange(ss) * k // ss)
            rows = py[:, None] * k + sy_b.ravel()[None]
            cols = px[:, None] * k + sx_b.ravel()[None]
            bidx = torch.from_numpy((fb[:, None] * h * w * k * k + rows * w * k + cols).ravel()).to(dev)
            bcol = bg.color.reshape(-1, 3)[bidx]
            bdirect = bg.direct.reshape(-1)[bidx]
            bdepth = bg.depth.reshape(-1)[bidx]
        fid = torch.from_numpy(ray_f).to(dev)
        u = torch.from_numpy(u_np).to(dev, torch.float32)
        v = torch.from_numpy(v_np).to(dev, torch.float32)
        origin, d = self._camera_rays(scene.shots, fid, u, v)
        # Per body: the rays inside its reach box (only they can see it or its shadow), with its pose in each ray's
        # frame and whether the ray is inside its own screen box. Box corners are whole pixels, so a pixel's rays
        # are all inside a box or all outside it: the test runs per pixel, on the frame's rows the box spans.
        starts = np.searchsorted(ids, np.arange(len(scene.shots) + 1) * (h * w))
        sub_rays = np.arange(ss * ss)
        prims = []
        for i, lk in enumerate(scene.looks):
            picked, seen = [], []
            for fr in range(len(scene.shots)):
                lo, hi = starts[fr], starts[fr + 1]
                if lo == hi:
                    continue
                rx0, ry0, rx1, ry1 = (int(c) for c in scene.reach_boxes[fr, i])
                if rx1 <= rx0 or ry1 <= ry0:
                    continue
                a, b = np.searchsorted(ids[lo:hi], fr * h * w + np.array([ry0 * w, ry1 * w]))
                cols, rows = px[lo + a : lo + b], py[lo + a : lo + b]
                where = np.flatnonzero((cols >= rx0) & (cols < rx1)) + (lo + a)
                bx0, by0, bx1, by1 = (int(c) for c in scene.body_boxes[fr, i])
                cw, rw = px[where], py[where]
                picked.append(where)
                seen.append((cw >= bx0) & (cw < bx1) & (rw >= by0) & (rw < by1))
            sel = np.concatenate(picked) if picked else np.zeros(0, np.int64)
            hit = np.concatenate(seen) if seen else np.zeros(0, bool)
            fr_of = f[sel]
            if ss > 1:
                sel = (sel[:, None] * (ss * ss) + sub_rays[None]).ravel()
                hit, fr_of = np.repeat(hit, ss * ss), np.repeat(fr_of, ss * ss)
            center = torch.from_numpy(scene.centers[fr_of, i]).to(dev, torch.float32)
            angle = torch.from_numpy(scene.angles[fr_of, i]).to(dev, torch.float32)
            mouth = torch.from_numpy(scene.mouth[fr_of, i]).to(dev, torch.float32)
            prims.append(Primitive(lk.kind, center, lk.half, angle, lk.color, lk.shininess, lk.pattern, mouth, lk.face,
                                   lk.owner, torch.from_numpy(hit).to(dev), None, lk.profile, lk.axis_z,
                                   torch.from_numpy(sel).to(dev)))  # fmt: skip
        out, owner, vis = self._composite(origin, d, prims, bcol, bdirect, bdepth)
        if ss == 1:
            return out, owner, vis
        n = ids.size
        return out.reshape(n, ss * ss, 3).mean(dim=1), owner.reshape(n, -1)[:, 0], vis.reshape(n, -1).mean(dim=1)

    def _composite(
        self,
        o: torch.Tensor,
        d: torch.Tensor,
        prims: list[Primitive],
        bcol: torch.Tensor,
        bdirect: torch.Tensor,
        bdepth: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per ray: colour (P, 3) of moving bodies over the static image with the shadows they cast, which
        body it shows (P,) (-1: the static image) and how much light moving bodies leave there (P,)."""
        hit = cast(prims, o, d, limit=bdepth)
        on_body = hit.t < bdepth
        t = torch.where(on_body, hit.t, bdepth).clamp(max=1e3)
        p = o + t[:, None] * d
        out = bcol.clone()
        shadow = torch.ones_like(t)
        rest = (~on_body & (bdepth < INF) & (bdirect > 0.01)).nonzero().squeeze(1)
        if rest.numel():
            # Static surfaces keep their baked colour minus the direct light that moving bodies now block.
            pb = p[rest] + 1e-3 * self.to_light
            pos = positions(t.shape[0], rest)
            vis = visibility([pr.restrict(pos) for pr in prims], pb, self.to_light, self.settings.penumbra)
            out[rest] = bcol[rest] * (1 - bdirect[rest] * (1 - vis))[:, None]
            shadow[rest] = vis
        idx = on_body.nonzero().squeeze(1)
        if idx.numel():
            pn = p[idx] + hit.normal[idx] * 2e-3
            # Each fixture is tested only by the points whose ray to the light passes near it.
            pos = positions(t.shape[0], idx)
            blockers = shadow_culled(self.statics, pn, self.to_light, self.settings.penumbra) + [
                pr.restrict(pos) for pr in prims
            ]
            vis = visibility(blockers, pn, self.to_light, self.settings.penumbra)
            lamp = pool_light(self.light, pn)
            if lamp is not None:
                vis = vis * lamp
            # Only bottles and cans have striped highlights; scenes without them skip that work.
            axis = hit.axis[idx] if any(pr.kind == "lathe" for pr in prims) else None
            color, _ = shade(hit.normal[idx], hit.albedo[idx], hit.shininess[idx], d[idx], vis, self.light, axis)
            haze = (1 - torch.exp(-t[idx] / 30.0))[:, None]
            out[idx] = color * (1 - haze) + d.new_tensor(self.light.horizon) * haze
        return out, torch.where(on_body, hit.owner, torch.full_like(hit.owner, -1)), shadow


@dataclass
class _ChunkScene:
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


_CUBE_ARR = np.array([(sx, sy, sz) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


def _overlap(rect: tuple[int, int, int, int], box: np.ndarray) -> bool:
    return rect[0] < box[2] and box[0] < rect[2] and rect[1] < box[3] and box[1] < rect[3]


def _window(rect: tuple[int, int, int, int], box: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns (slices relative to the rectangle) of the part of `rect` inside `box` (x0, y0, x1, y1)."""
    x0, y0 = max(rect[0], int(box[0])), max(rect[1], int(box[1]))
    x1, y1 = min(rect[2], int(box[2])), min(rect[3], int(box[3]))
    return slice(y0 - rect[1], y1 - rect[1]), slice(x0 - rect[0], x1 - rect[0])


def _passes_near(to_center: torch.Tensor, d: torch.Tensor, radius: Param) -> torch.Tensor:
    """(P,) bool: the ray along unit d comes within `radius` of a centre `to_center` (P, 3) away from its origin, and
    the centre is not wholly behind the origin."""
    along = (to_center * d).sum(-1)
    miss2 = (to_center * to_center).sum(-1) - along * along
    return (miss2 <= radius * radius) & (along > -radius)


def _box_corners(center: np.ndarray, half: tuple[float, float, float], angle: float) -> np.ndarray:
    """(8, 3): the corners of a box turned by `angle` about z, grown a hair (as a bounding sphere's reach is)."""
    local = _CUBE_ARR * (np.asarray(half, np.float64) * 1.02 + 0.005)
    c, s = math.cos(angle), math.sin(angle)
    x, y = local[:, 0], local[:, 1]
    return center + np.stack((c * x - s * y, s * x + c * y, local[:, 2]), axis=-1)


def _hits_box(origin: torch.Tensor, d: torch.Tensor, half: tuple[float, float, float], angle: float) -> torch.Tensor:
    """(...,) bool: the ray from `origin` ((..., 3) or (3,), relative to the box's centre) along `d` (..., 3) meets
    the box (half sizes `half`, turned by `angle` about z) anywhere ahead of its origin (or starts inside it)."""
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


def _pool(img: torch.Tensor, ss: int) -> torch.Tensor:
    if ss == 1:
        return img
    h, w = img.shape[0] // ss, img.shape[1] // ss
    return img.reshape(h, ss, w, ss, 3).mean(dim=(1, 3))


def _upscale(color: torch.Tensor, frac: torch.Tensor, depth: torch.Tensor, h: int, w: int
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Half-size still-world buffers (h*w, ...) at twice the size: colour and light share smoothly, depth by
    nearest (a depth between a near and a far surface would be a surface that is not there)."""
    img = torch.cat([color.reshape(h, w, 3), frac.reshape(h, w, 1)], dim=-1).permute(2, 0, 1)[None]
    big = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)[0].permute(1, 2, 0)
    deep = depth.reshape(h, w).repeat_interleave(2, 0).repeat_interleave(2, 1)
    return big[..., :3].reshape(-1, 3).contiguous(), big[..., 3].reshape(-1).contiguous(), deep.reshape(-1)


def _to_uint8(img: torch.Tensor) -> torch.Tensor:
    return (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
