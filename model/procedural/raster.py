"""The static world seen by a moving camera: flat faces and small spheres drawn per frame, shadows baked once.

A moving camera used to re-cast the whole static world, with a shadow ray per pixel, for every frame: about
1 s a frame at 640x360 on two cores (profiled on "a basketball is thrown at the hoop, orbit": `visibility` 40 %,
`cast` 24 %, shading, sky, floor pattern and screen masks the rest). What static things shade on static things
does not change when the camera moves, so it is baked once per clip into small visibility textures over each flat
face (the floor near the fixtures, an indoor wall, every side of every box). A frame then only meets each ray
with the faces in view (each on its own screen box, back faces skipped), looks the shadow up, and shades with the
same `shade` as the still camera. Small spheres (a hoop's rim, heads) are cast as before, on their screen boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural.primitives import INF, Primitive, cast, shadow_culled, visibility
from model.procedural.scene import EnvironmentSpec
from model.procedural.sets import ground_albedo, wall_albedo
from model.procedural.shading import Lighting, floor_albedo, luminance, pool_light, shade, sky

Project = Callable[[np.ndarray], np.ndarray]  # world points (N, 3) -> screen x, y, depth (N, 3)
WALL_Z = -4.0  # an indoor scene's back wall (as the still camera draws it)
TEXEL = 0.025  # metres per baked shadow texel
MAX_TEXELS = 320  # per side of one face's texture; bigger faces get coarser texels


@dataclass
class Face:
    """A flat rectangle: centre, unit normal, two unit in-plane axes and half extents along them."""

    center: np.ndarray  # (3,)
    normal: np.ndarray  # (3,)
    axis_u: np.ndarray  # (3,)
    axis_v: np.ndarray  # (3,)
    half_u: float
    half_v: float
    color: tuple[float, float, float]
    shininess: float
    edges: bool  # darkened near the rims, as boxes are drawn
    vis: torch.Tensor | None = None  # (1, 1, nv, nu) baked light visibility; None: no static thing shades it


@dataclass(frozen=True)
class Ground:
    """The floor (and an indoor back wall): infinite planes with procedural texture and baked shadows."""

    color: tuple[float, float, float]
    material: str
    shininess: float
    vis: torch.Tensor | None  # (1, 1, nz, nx) over `box`; fully lit outside it
    box: tuple[float, float, float, float]  # x0, x1, z0, z1
    wall_vis: torch.Tensor | None  # (1, 1, ny, nx) over WALL_BOX on the indoor wall; None outdoors


WALL_BOX = (-12.0, 12.0, 0.0, 6.0)  # x0, x1, y0, y1 of the indoor wall's baked part


def box_faces(prim: Primitive) -> list[Face]:
    """The six sides of a static box primitive (turned about z by its angle)."""
    angle = float(prim.angle)
    c, s = np.cos(angle), np.sin(angle)
    ex, ey, ez = np.array((c, s, 0.0)), np.array((-s, c, 0.0)), np.array((0.0, 0.0, 1.0))
    axes = ((ex, prim.half[0]), (ey, prim.half[1]), (ez, prim.half[2]))
    center = np.asarray(prim.center, np.float64)
    out = []
    for k, (n, h) in enumerate(axes):
        (a, ha), (b, hb) = axes[(k + 1) % 3], axes[(k + 2) % 3]
        for sign in (1.0, -1.0):
            out.append(Face(center + sign * h * n, sign * n, a, b, ha, hb, prim.color, prim.shininess,
                            prim.pattern == 2))  # fmt: skip
    return out


def _texel_grid(half_u: float, half_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Texel centres (nv, nu) in face coordinates, where grid_sample (align_corners=False) reads them."""
    size = max(TEXEL, 2 * max(half_u, half_v) / MAX_TEXELS)
    n_u, n_v = max(2, int(np.ceil(2 * half_u / size))), max(2, int(np.ceil(2 * half_v / size)))
    u = -half_u + (np.arange(n_u) + 0.5) * (2 * half_u / n_u)
    v = -half_v + (np.arange(n_v) + 0.5) * (2 * half_v / n_v)
    return np.meshgrid(u, v)


def sample(tex: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Bilinear look-up of a (1, 1, nv, nu) texture at normalised face coordinates u, v in [-1, 1], shape (P,)."""
    grid = torch.stack((u, v), dim=-1)[None, None]  # (1, 1, P, 2)
    return F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, 0, 0]


class StaticWorld:
    """The still part of a scene, prepared once per clip and drawn for any camera pose."""

    def __init__(self, statics: list[Primitive], floor_color: tuple[float, float, float], floor_material: str,
                 floor_shininess: float, env: EnvironmentSpec, light: Lighting, to_light: torch.Tensor,
                 penumbra: float) -> None:  # fmt: skip
        self.light, self.to_light, self.penumbra = light, to_light, penumbra
        self.env = env
        self.indoor = indoor = env.setting == "indoor"
        self.statics = statics
        self.spheres = [p for p in statics if p.kind != "box"]
        self.faces = [f for p in statics if p.kind == "box" for f in box_faces(p)]
        lit = to_light.cpu().numpy().astype(np.float64)
        # Faces turned from the light get no direct light at all: nothing to bake there.
        for face in self.faces:
            if float(face.normal @ lit) > 0:
                gu, gv = _texel_grid(face.half_u, face.half_v)
                pts = face.center + gu[..., None] * face.axis_u + gv[..., None] * face.axis_v
                face.vis = self._bake(pts, face.normal)
        floor_vis, box = None, _shadow_box(statics, lit)
        if statics and box[1] > box[0]:
            hx, hz = (box[1] - box[0]) / 2, (box[3] - box[2]) / 2
            gu, gv = _texel_grid(hx, hz)
            pts = np.stack((gu + box[0] + hx, np.zeros_like(gu), gv + box[2] + hz), axis=-1)
            floor_vis = self._bake(pts, np.array((0.0, 1.0, 0.0)))
        wall_vis = None
        if indoor and statics:
            x0, x1, y0, y1 = WALL_BOX
            gu, gv = _texel_grid((x1 - x0) / 2, (y1 - y0) / 2)
            pts = np.stack((gu + (x0 + x1) / 2, gv + (y0 + y1) / 2, np.full_like(gu, WALL_Z)), axis=-1)
            wall_vis = self._bake(pts, np.array((0.0, 0.0, 1.0)))
        self.ground = Ground(floor_color, floor_material, floor_shininess, floor_vis, box, wall_vis)

    def _bake(self, points: np.ndarray, normal: np.ndarray) -> torch.Tensor:
        """Light visibility (1, 1, nv, nu) at points (nv, nu, 3), started a hair off the surface (as the still
        camera starts its shadow rays)."""
        nv, nu, _ = points.shape
        p = torch.from_numpy((points + normal * 2e-3).reshape(-1, 3)).to(self.to_light.device, torch.float32)
        vis = visibility(shadow_culled(self.statics, p, self.to_light, self.penumbra), p, self.to_light, self.penumbra)
        return vis.reshape(1, 1, nv, nu)

    def draw(self, origin: torch.Tensor, d: torch.Tensor, height: int, width: int,
             project: Project) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """Colour (H*W, 3), direct-light share (H*W,) and ray depth (H*W,) of the still world for one camera.

        origin: (1, 3); d: (H*W, 3) unit rays, row-major; `project` maps world points (N, 3) to screen (N, 3):
        x, y and depth (NaN x, y behind the camera).
        """
        light, ground = self.light, self.ground
        o = origin[0]
        # The floor everywhere a ray goes down; an indoor wall where it is nearer.
        t = torch.where(d[:, 1] < -1e-6, -o[1] / d[:, 1].clamp(max=-1e-6), torch.full_like(d[:, 0], INF))
        p = o + t.clamp(max=1e3)[:, None] * d
        base = d.new_tensor(ground.color).expand_as(d)
        albedo = ground_albedo(p, t, base, ground.material, self.env.place, floor_albedo(p, base, ground.material, t))
        normal = d.new_tensor((0.0, 1.0, 0.0)).expand_as(d)
        shin = torch.full_like(t, ground.shininess)
        vis = torch.ones_like(t)
        if ground.vis is not None:
            x0, x1, z0, z1 = ground.box
            inside = ((p[:, 0] > x0) & (p[:, 0] < x1) & (p[:, 2] > z0) & (p[:, 2] < z1)).nonzero().squeeze(1)
            if inside.numel():
                q = p[inside]
                u = (q[:, 0] - (x0 + x1) / 2) / ((x1 - x0) / 2)
                v = (q[:, 2] - (z0 + z1) / 2) / ((z1 - z0) / 2)
                vis[inside] = sample(ground.vis, u, v)
        if self.indoor:
            t_wall = torch.where(d[:, 2] < -1e-6, (WALL_Z - o[2]) / d[:, 2].clamp(max=-1e-6), torch.full_like(t, INF))
            on_wall = (t_wall < t).nonzero().squeeze(1)
            if on_wall.numel():
                tw = t_wall[on_wall]
                pw = o + tw[:, None] * d[on_wall]
                t[on_wall], p[on_wall] = tw, pw
                albedo = albedo.clone()
                albedo[on_wall] = wall_albedo(pw, self.env.place)
                normal = normal.clone()
                normal[on_wall] = d.new_tensor((0.0, 0.0, 1.0))
                shin[on_wall] = 0.0
                vis[on_wall] = 1.0
                if ground.wall_vis is not None:
                    x0, x1, y0, y1 = WALL_BOX
                    u = (pw[:, 0] - (x0 + x1) / 2) / ((x1 - x0) / 2)
                    v = (pw[:, 1] - (y0 + y1) / 2) / ((y1 - y0) / 2)
                    vis[on_wall] = sample(ground.wall_vis, u, v)
        lamp = pool_light(light, p)
        if lamp is not None:
            vis = vis * lamp
        color, direct = shade(normal, albedo, shin, d, vis, light)
        for face in self.faces:
            self._draw_face(face, o, d, height, width, project, t, color, direct)
        if self.spheres:
            self._draw_spheres(origin, d, height, width, project, t, color, direct)
        surface = t < INF
        haze = (1 - torch.exp(-t.clamp(max=1e3) / (60.0 if self.indoor else 30.0)))[:, None]
        horizon = d.new_tensor(light.horizon)
        sky_idx = (~surface).nonzero().squeeze(1)
        color = color * (1 - haze) + horizon * haze
        direct = direct * (1 - haze)
        if sky_idx.numel():
            color[sky_idx] = sky(d[sky_idx], light, self.env)
            direct[sky_idx] = 0.0
        frac = (luminance(direct) / luminance(color).clamp(min=1e-4)).clamp(0, 1)
        return color, frac, t

    def _draw_face(self, face: Face, o: torch.Tensor, d: torch.Tensor, height: int, width: int,
                   project: Project, t: torch.Tensor, color: torch.Tensor,
                   direct: torch.Tensor) -> None:  # fmt: skip
        """Draw one face where it is nearer than what is drawn (t, color, direct updated in place)."""
        eye = o.cpu().numpy().astype(np.float64)
        if float(face.normal @ (eye - face.center)) <= 0:
            return  # seen from behind: the box's other faces cover it
        # The corners in order around the face, so that consecutive ones share an edge.
        corners = np.array([face.center + su * face.half_u * face.axis_u + sv * face.half_v * face.axis_v
                            for su, sv in ((-1, -1), (-1, 1), (1, 1), (1, -1))])  # fmt: skip
        uv = _in_front(corners, project)
        if uv is None:
            return  # wholly behind the camera
        x0, x1 = max(int(uv[:, 0].min()) - 1, 0), min(int(uv[:, 0].max()) + 2, width)
        y0, y1 = max(int(uv[:, 1].min()) - 1, 0), min(int(uv[:, 1].max()) + 2, height)
        if x1 <= x0 or y1 <= y0:
            return
        # Work on the face's screen box as views of the frame's buffers: no gathers, writes land in place.
        box = (slice(y0, y1), slice(x0, x1))
        dd = d.view(height, width, 3)[box]  # (h, w, 3)
        t_box = t.view(height, width)[box]
        n = d.new_tensor(face.normal)
        c = d.new_tensor(face.center)
        denom = dd @ n
        tt = ((c - o) @ n) / torch.where(denom.abs() < 1e-9, torch.full_like(denom, -1e-9), denom)
        q = o + tt[..., None] * dd - c
        u = q @ d.new_tensor(face.axis_u) / face.half_u
        v = q @ d.new_tensor(face.axis_v) / face.half_v
        hit = (tt > 1e-4) & (tt < t_box) & (u.abs() <= 1) & (v.abs() <= 1)
        if not bool(hit.any()):
            return
        u, v, tt, rays = u[hit], v[hit], tt[hit], dd[hit]
        albedo = d.new_tensor(face.color).expand(tt.numel(), 3)
        if face.edges:
            edge = (u.abs() > 0.9) | (v.abs() > 0.9)
            albedo = torch.where(edge[:, None], albedo * 0.7, albedo)
        vis = sample(face.vis, u, v) if face.vis is not None else torch.ones_like(tt)
        lamp = pool_light(self.light, o + tt[:, None] * rays)
        if lamp is not None:
            vis = vis * lamp
        normal = n.expand(tt.numel(), 3)
        col, dir_ = shade(normal, albedo, torch.full_like(tt, face.shininess), rays, vis, self.light)
        t_box[hit] = tt
        color.view(height, width, 3)[box][hit] = col
        direct.view(height, width, 3)[box][hit] = dir_

    def _draw_spheres(self, origin: torch.Tensor, d: torch.Tensor, height: int, width: int,
                      project: Project, t: torch.Tensor, color: torch.Tensor,
                      direct: torch.Tensor) -> None:  # fmt: skip
        """Cast the static spheres over the union of their screen boxes (t, color, direct updated in place)."""
        mask = torch.zeros((height, width), dtype=torch.bool, device=d.device)
        for prim in self.spheres:
            r = float(np.linalg.norm(prim.half)) + 1e-3
            corners = np.asarray(prim.center, np.float64) + np.array(
                [(a, b, c) for a in (-r, r) for b in (-r, r) for c in (-r, r)]
            )
            uv = project(corners)
            if np.isnan(uv[:, 0]).any():
                mask[:] = True
                break
            x0, x1 = max(int(uv[:, 0].min()) - 1, 0), min(int(uv[:, 0].max()) + 2, width)
            y0, y1 = max(int(uv[:, 1].min()) - 1, 0), min(int(uv[:, 1].max()) + 2, height)
            if x1 > x0 and y1 > y0:
                mask[y0:y1, x0:x1] = True
        idx = mask.reshape(-1).nonzero().squeeze(1)
        if not idx.numel():
            return
        hit = cast(self.spheres, origin, d[idx], limit=t[idx])
        on = (hit.owner >= 0).nonzero().squeeze(1)
        if not on.numel():
            return
        where = idx[on]
        tt = hit.t[on]
        pn = origin + tt[:, None] * d[where] + hit.normal[on] * 2e-3
        vis = visibility(
            shadow_culled(self.statics, pn, self.to_light, self.penumbra), pn, self.to_light, self.penumbra
        )
        lamp = pool_light(self.light, pn)
        if lamp is not None:
            vis = vis * lamp
        col, dir_ = shade(hit.normal[on], hit.albedo[on], hit.shininess[on], d[where], vis, self.light)
        t[where], color[where], direct[where] = tt, col, dir_


def _in_front(corners: np.ndarray, project: Project, near: float = 0.06) -> np.ndarray | None:
    """Screen points (N, 3) of a flat polygon (corners (K, 3) in order) cut to the part in front of the camera:
    a face that reaches behind the camera (the camera stands among the stairs) gets its true screen box, not the
    whole frame. None when all of it is behind."""
    uv = project(corners)
    z = uv[:, 2]
    if (z > near).all():
        return uv
    if not (z > near).any():
        return None
    points = [uv[k] for k in range(len(corners)) if z[k] > near]
    for k in range(len(corners)):
        a, b = k, (k + 1) % len(corners)
        if (z[a] > near) != (z[b] > near):
            w = (z[a] - near) / (z[a] - z[b])
            cut = project((corners[a] + (corners[b] - corners[a]) * w)[None])[0]
            if not np.isnan(cut[0]):
                points.append(cut)
    return np.array(points)


def _shadow_box(statics: list[Primitive], to_light: np.ndarray) -> tuple[float, float, float, float]:
    """Where static things can shade the floor: their bounding spheres and those spheres' shadows, padded."""
    xs: list[float] = []
    zs: list[float] = []
    ly = max(float(to_light[1]), 0.05)
    for prim in statics:
        c = np.asarray(prim.center, np.float64)
        r = float(np.linalg.norm(prim.half)) / ly + 0.1
        foot = c - to_light * (c[1] / ly)
        for q in (c, foot):
            xs += [q[0] - r, q[0] + r]
            zs += [q[2] - r, q[2] + r]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    return (max(min(xs), -30.0), min(max(xs), 30.0), max(min(zs), -30.0), min(max(zs), 30.0))
