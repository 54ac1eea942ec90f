"""The still world as each frame sees it: ground, sky, walls, fixtures and figures that do not move.

A still camera casts it once per shot, supersampled. A camera that turns from one place looks each frame up in
panoramas cast once (`panorama`). A camera that travels (orbit, tracking shot) draws it per frame from flat faces
whose shadows were baked once (`raster`), at half size. Moving bodies are then cast over it (`render`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural import panorama
from model.procedural.camera import CameraPose, Shot, camera_pose
from model.procedural.footprint import CUBE
from model.procedural.materials import material
from model.procedural.primitives import INF, Primitive, cast, shadow_culled, visibility
from model.procedural.raster import StaticWorld
from model.procedural.render_settings import RenderSettings
from model.procedural.scene import SceneSpec
from model.procedural.sets import ground_albedo, wall_albedo
from model.procedural.shading import Lighting, floor_albedo, luminance, pool_light, shade, sky, to_uint8


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


class StillWorld:
    """The still part of one clip's picture, for any frame of its camera."""

    def __init__(self, scene: SceneSpec, statics: list[Primitive], light: Lighting, to_light: torch.Tensor,
                 settings: RenderSettings, width: int, height: int, device: torch.device,
                 frames: int | None = None) -> None:  # fmt: skip
        """`frames`: how many frames will be drawn (by default up to the clip's last), so that a turning camera's
        still world is cast once for all of them."""
        self.scene, self.statics, self.light, self.to_light = scene, statics, light, to_light
        self.settings = settings
        self.width, self.height, self.device = width, height, device
        self.frames = frames
        self._static: tuple[Shot, Background] | None = None  # a still camera's, cast on its first frame
        self._world: StaticWorld | None = None  # a travelling camera's faces, built on its first frame
        # A turning camera's panoramas (first frame each serves, its camera), planned on the first chunk (empty when
        # the camera travels instead), and the one cast last.
        self._panoramas: list[tuple[int, Shot]] | None = None
        self._panorama: panorama.Panorama | None = None

    def pose_at(self, frame: int, total_frames: int) -> CameraPose:
        return camera_pose(self.scene, frame / max(total_frames - 1, 1))

    def still_camera(self, ss: int) -> tuple[Shot, Background]:
        """A still camera's shot and its still world at `ss` x `ss` samples per pixel, cast once."""
        if self._static is None:
            shot = Shot(camera_pose(self.scene, 0.0), self.width, self.height, self.device)
            self._static = (shot, self.cast(shot, ss))
        return self._static

    def moving_camera(self, shots: list[Shot], frame_ids: list[int], total_frames: int) -> Background:
        """The still world for frames `frame_ids` of a moving camera, seen by `shots`: (F, H*W, ...)."""
        return self._turning(shots, frame_ids, total_frames) or self._travelling(shots)

    def cast(self, shot: Shot, ss: int) -> Background:
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
            to_uint8(pixel_color)[None],
            pixel_color.reshape(1, -1, 3),
            pixel_direct.reshape(1, -1),
            pixel_depth.reshape(1, -1),
        )

    def _turning(self, shots: list[Shot], frame_ids: list[int], total_frames: int) -> Background | None:
        """The still world for frames of a camera that only turns and zooms, looked up in panoramas (planned on
        the first chunk over every frame this renderer draws, each cast when first needed); None when the camera
        travels, or turns too far."""
        if self._panoramas is None:
            first_frame = frame_ids[0]
            last = first_frame + (self.frames or max(total_frames - first_frame, 1))
            poses = [self.pose_at(f, total_frames) for f in range(first_frame, last)]
            planned = panorama.plan(poses, self.width, self.height, self.device)
            self._panoramas = [(first_frame + k, shot) for k, shot in planned] if planned else []
        if not self._panoramas:
            return None
        # Frames in a row that share a panorama are looked up together, into one set of buffers.
        groups: list[tuple[panorama.Panorama, list[Shot]]] = []
        for f, shot in zip(frame_ids, shots, strict=True):
            pano = self._panorama_for(f)
            if pano is None or not pano.covers(shot.pose, self.width, self.height):
                return None
            if groups and groups[-1][0] is pano:
                groups[-1][1].append(shot)
            else:
                groups.append((pano, [shot]))
        views = [pano.view(group) for pano, group in groups]

        def joined(name: str) -> torch.Tensor:
            parts = [getattr(v, name) for v in views]
            return parts[0] if len(parts) == 1 else torch.cat(parts)

        n, hw = len(shots), self.height * self.width
        color, direct, depth = joined("color").view(n, hw, 3), joined("direct").view(n, hw), joined("depth").view(n, hw)
        return Background(color, direct, depth, 1, joined("image"), color, direct, depth)

    def _panorama_for(self, frame: int) -> panorama.Panorama | None:
        """The panorama planned for `frame`, cast now if it is not the one cast last."""
        assert self._panoramas is not None
        shot = next((s for f, s in reversed(self._panoramas) if f <= frame), self._panoramas[0][1])
        if self._panorama is None or self._panorama.shot is not shot:
            still = self.cast(shot, 1)
            self._panorama = panorama.Panorama(shot, still.pixel_color[0], still.pixel_direct[0],
                                               still.pixel_depth[0])  # fmt: skip
        return self._panorama

    def _travelling(self, shots: list[Shot]) -> Background:
        """The still world drawn anew for each frame of a camera that travels (see `raster`)."""
        parts = [self.travelling_frame(shot) for shot in shots]
        # One ray per pixel: the supersampled buffers are the per-pixel ones, so each is joined once.
        color, direct, depth = (torch.cat([getattr(b, name) for b in parts]) for name in ("color", "direct", "depth"))
        return Background(color, direct, depth, 1, torch.cat([b.frames for b in parts]), color, direct, depth)

    def travelling_frame(self, shot: Shot) -> Background:
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
        return Background(color[None], frac[None], depth[None], 1, to_uint8(color.reshape(1, h, w, 3)),
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
            uv = [shot.project(c + CUBE[i] * r) for i in range(8)]
            if any(math.isnan(u) for u, _, _ in uv):
                out.append(prim)
                continue
            x0, x1 = min(u for u, _, _ in uv) * ss - 1, max(u for u, _, _ in uv) * ss + 1
            y0, y1 = min(v for _, v, _ in uv) * ss - 1, max(v for _, v, _ in uv) * ss + 1
            mask = ((rows >= y0) & (rows <= y1)) & ((cols >= x0) & (cols <= x1))  # (hs, ws)
            out.append(dataclasses.replace(prim, hit_mask=mask.reshape(-1)))
        return out


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
