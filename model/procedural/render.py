"""Ray-cast rendering in torch: spheres, boxes, bottles and cans over the still world, soft shadows, smooth edges.

The still world (ground, sky, fixtures, figures) comes from `still_world` per frame; each frame then only re-casts
the pixels that a moving body can cover or shade (`footprint`), and composites them over the still image. That is
what makes 5 s of 640x360 take a few seconds, not minutes, on two CPU cores. The same code runs on a CUDA device
when one is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural import lathe
from model.procedural.camera import CameraPose, Shot
from model.procedural.footprint import ChunkScene, Footprint, box_corners
from model.procedural.materials import material
from model.procedural.primitives import (
    EDGES,
    HEAD,
    INF,
    PLAIN,
    SEAMS,
    Primitive,
    cast,
    positions,
    shadow_culled,
    visibility,
)
from model.procedural.render_settings import RenderSettings
from model.procedural.scene import SceneSpec
from model.procedural.shading import lighting_for, pool_light, shade, to_uint8
from model.procedural.statics import figure_parts, static_primitives
from model.procedural.still_world import Background, StillWorld
from model.procedural.weather import rain_overlay

__all__ = ["Background", "BodyLook", "RenderSettings", "Renderer", "rain_overlay"]


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
        self.world = StillWorld(scene, self.statics, self.light, self.to_light, self.settings, width, height, device,
                                frames)  # fmt: skip
        self.footprint = Footprint(width, height, device, self.statics, self.to_light, self.settings.penumbra)
        # The last frame drawn and what it showed, so a still frame (a body at rest) is copied, not re-cast.
        self._last_key: tuple | None = None
        self._last_frame: torch.Tensor | None = None

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
        return self.world.pose_at(frame, total_frames)

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
            bg = self.world.moving_camera(shots, frame_ids, total_frames)
        else:
            shot0, bg = self.world.still_camera(ss if w * h <= self.settings.background_supersample_max_pixels else 1)
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
        drops = self.footprint.shadow_drops(centers, [lk.bound for lk in looks])
        bounds = [lk.bound for lk in looks]
        body_boxes = np.zeros((n_frames, len(looks), 4))
        reach_boxes = np.zeros((n_frames, len(looks), 4))
        rects: list[list[tuple[int, int, int, int]]] = []
        for f in range(n_frames):
            corners = [box_corners(centers[f, k], lk.half, float(angles[f, k])) if lk.kind == "box" else None
                       for k, lk in enumerate(looks)]  # fmt: skip
            frame_rects, body_boxes[f], reach_boxes[f] = self.footprint.rects(
                shots[f], centers[f], bounds, drops[f], corners
            )
            rects.append(frame_rects)
        scene = ChunkScene(shots, centers, angles, mouth, body_boxes, reach_boxes, looks, bg, h, w)
        # Most of a rectangle is static image that no body covers or shades: those pixels keep the frame as it is.
        traced = self.footprint.affected(scene, rects)
        if not traced.size:
            return frames
        # Pass 1: one ray per pixel. Pass 2: ss x ss rays only where pass 1 found an edge (between two
        # bodies, a body and the background, or across a hard shadow), which is where aliasing shows.
        color, owner, vis = self._trace(scene, traced, 1)
        # Only where a body shows or shades: elsewhere the cast gave back the still image, which the frame already
        # holds (rounded once, so a traced patch cannot show as a faint seam along sharp edges of the still world).
        changed = ((owner >= 0) | (vis < 1)).nonzero().squeeze(1)
        frames.view(-1, 3)[torch.from_numpy(traced).to(self.device)[changed]] = to_uint8(color[changed])
        if ss > 1:
            edges = self.footprint.edges(traced, owner, vis, rects)
            if edges.size:
                sharp, _, _ = self._trace(scene, edges, ss)
                frames.view(-1, 3)[torch.from_numpy(edges).to(self.device)] = to_uint8(sharp)
        return frames

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

    def _trace(self, scene: ChunkScene, ids: np.ndarray, ss: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
