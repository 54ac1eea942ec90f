"""Primitives to cast rays at: spheres, boxes and lathes (bottles, cans); nearest hits, surfaces and shadows."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.procedural import lathe

INF = 1e9
EPS = 1e-4

PLAIN, SEAMS, EDGES, HEAD, RIM = 0, 1, 2, 3, 4


Param = float | torch.Tensor  # a number for every ray, or one (P,) value per ray


@dataclass
class Primitive:
    """One sphere, box or lathe (a bottle or can; all rotated about z) to intersect; `mouth` opens a figure's
    mouth (0..1).

    `center`, `angle` and `mouth` are either one value for all rays or per-ray tensors ((P, 3), (P,), (P,)):
    per-ray values let one batch of rays span many frames, each frame with the body somewhere else.
    """

    kind: str  # sphere | box | lathe
    center: tuple[float, float, float] | torch.Tensor
    half: tuple[float, float, float]
    angle: Param
    color: tuple[float, float, float]
    shininess: float
    pattern: int = PLAIN
    mouth: Param = 0.0
    face: torch.Tensor | None = None  # (3, h, w) float in [0, 1]
    owner: str = ""
    # Which rays can see it / which surface points it can shade: screen-space culling, (P,) bool or None (all).
    hit_mask: torch.Tensor | None = None
    shadow_mask: torch.Tensor | None = None
    profile: lathe.Lathe | None = None  # a lathe's outline
    axis_z: bool = False  # a lathe's axis runs along its own z (lying across the view), not its own y
    # Sparse per-ray form (a moving body): the rays (ascending indices into the batch) that can see it or its
    # shadow; `center`, `angle`, `mouth` and `hit_mask` then hold one value per one of those rays only, and every
    # other ray is known to neither see it nor be shaded by it.
    rays: torch.Tensor | None = None

    def subset(self, idx: torch.Tensor) -> Primitive:
        """The primitive as seen by rays `idx` only (dense per-ray or static primitives)."""
        if not isinstance(self.center, torch.Tensor):
            return self
        return Primitive(
            self.kind, self.center[idx], self.half,
            self.angle[idx] if isinstance(self.angle, torch.Tensor) else self.angle,
            self.color, self.shininess, self.pattern,
            self.mouth[idx] if isinstance(self.mouth, torch.Tensor) else self.mouth, self.face, self.owner,
            None if self.hit_mask is None else self.hit_mask[idx],
            None if self.shadow_mask is None else self.shadow_mask[idx], self.profile, self.axis_z,
        )  # fmt: skip

    def pick(self, keep: torch.Tensor, rays: torch.Tensor | None) -> Primitive:
        """A sparse primitive's per-ray values at `keep` (positions in its `rays`, or a mask over them), now for
        rays `rays`."""
        if keep.dtype == torch.bool:
            keep = keep.nonzero().squeeze(1)  # a mask would be turned into indices once per tensor it selects from
        return Primitive(
            self.kind, self.center[keep], self.half,  # type: ignore[arg-type]
            self.angle[keep] if isinstance(self.angle, torch.Tensor) else self.angle,
            self.color, self.shininess, self.pattern,
            self.mouth[keep] if isinstance(self.mouth, torch.Tensor) else self.mouth, self.face, self.owner,
            None if self.hit_mask is None else self.hit_mask[keep], None, self.profile, self.axis_z, rays,
        )  # fmt: skip

    def restrict(self, pos: torch.Tensor) -> Primitive:
        """The primitive as seen by a subset of the batch's rays; `pos` (P,) maps each ray of the batch to its place
        in the subset, -1 where it is not in it (see `positions`)."""
        if self.rays is None:
            return self.subset((pos >= 0).nonzero().squeeze(1))
        m = pos[self.rays]
        keep = m >= 0
        return self.pick(keep, m[keep])

    def center_of(self, like: torch.Tensor) -> torch.Tensor:
        return self.center if isinstance(self.center, torch.Tensor) else like.new_tensor(self.center)


def positions(n_rays: int, idx: torch.Tensor) -> torch.Tensor:
    """(n_rays,) long: the place of each ray in the ascending subset `idx`, -1 for rays not in it."""
    pos = torch.full((n_rays,), -1, dtype=torch.long, device=idx.device)
    pos[idx] = torch.arange(idx.numel(), device=idx.device)
    return pos


@dataclass
class Hit:
    t: torch.Tensor  # (P,)
    normal: torch.Tensor  # (P, 3)
    albedo: torch.Tensor  # (P, 3)
    shininess: torch.Tensor  # (P,)
    owner: torch.Tensor  # (P,) index of the primitive hit, -1 for none
    # World direction of the axis of a curved bottle or can wall, whose highlight is a stripe along it; 0 elsewhere.
    axis: torch.Tensor  # (P, 3)


def _rot_z(v: torch.Tensor, angle: Param) -> torch.Tensor:
    if not isinstance(angle, torch.Tensor) and angle == 0:
        return v  # fixtures and figures stand square: turning by nothing would only copy every ray
    c: torch.Tensor | float
    s: torch.Tensor | float
    if isinstance(angle, torch.Tensor):
        c, s = torch.cos(angle), torch.sin(angle)
    else:
        c, s = math.cos(angle), math.sin(angle)
    x, y = v[..., 0], v[..., 1]
    return torch.stack((c * x - s * y, s * x + c * y, v[..., 2]), dim=-1)


def _neg(angle: Param) -> Param:
    return -angle


def intersect(prim: Primitive, o: torch.Tensor, d: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Distance along each ray to the primitive, INF where it misses. o: (P, 3) or (1, 3); d: (P, 3).

    With `mask`, only those rays are tested (the rest are known to miss).
    """
    if mask is not None:
        out = torch.full((d.shape[0],), INF, device=d.device)
        sel = mask.nonzero().squeeze(1)
        if sel.numel():
            out[sel] = intersect(prim.subset(sel), o if o.shape[0] == 1 else o[sel], d[sel])
        return out
    oc = o - prim.center_of(d)
    if prim.kind == "sphere":
        r = prim.half[0]
        b = (oc * d).sum(-1)
        cc = (oc * oc).sum(-1) - r * r
        disc = b * b - cc
        t = -b - disc.clamp(min=0).sqrt()
        return torch.where((disc > 0) & (t > EPS), t, torch.full_like(t, INF))
    ol = _rot_z(oc, _neg(prim.angle))
    dl = _rot_z(d, _neg(prim.angle))
    if prim.kind == "lathe" and prim.profile is not None:
        return lathe.intersect(prim.profile, _to_lathe(ol, prim.axis_z), _to_lathe(dl, prim.axis_z))
    h = d.new_tensor(prim.half)
    inv = 1.0 / torch.where(dl.abs() < 1e-9, torch.full_like(dl, 1e-9), dl)
    t1 = (-h - ol) * inv
    t2 = (h - ol) * inv
    tnear = torch.minimum(t1, t2).amax(-1)
    tfar = torch.maximum(t1, t2).amin(-1)
    hit = (tfar >= tnear) & (tnear > EPS)
    return torch.where(hit, tnear, torch.full_like(tnear, INF))


def _to_lathe(v: torch.Tensor, axis_z: bool) -> torch.Tensor:
    """Object-frame (x, y, z) as a lathe's (u, a, w): the axis coordinate in the middle. Swapping is its own inverse."""
    return v[:, [0, 2, 1]] if axis_z else v


@dataclass
class _LatheLook:
    normal: torch.Tensor  # (P, 3) world
    albedo: torch.Tensor  # (P, 3)
    shininess: torch.Tensor  # (P,)
    axis: torch.Tensor  # (P, 3) world axis on curved walls, 0 on flat ends


def _lathe_surface(prim: Primitive, p: torch.Tensor) -> _LatheLook:
    """Normal, colour, shininess and highlight axis at hit points p on a bottle or can."""
    assert prim.profile is not None
    local = _to_lathe(_rot_z(p - prim.center_of(p), _neg(prim.angle)), prim.axis_z)
    s = lathe.surface(prim.profile, local)
    normal = _rot_z(_to_lathe(s.normal, prim.axis_z), prim.angle)
    body = p.new_tensor(prim.color).expand(p.shape[0], 3)
    trim = p.new_tensor(prim.profile.trim_color).expand_as(body)
    albedo = torch.where(s.trim[:, None], trim, body)
    albedo = torch.where(s.opening[:, None], albedo * 0.15, albedo)
    shin = torch.where(s.trim, torch.full_like(s.normal[:, 0], prim.profile.trim_shininess),
                       torch.full_like(s.normal[:, 0], prim.shininess))  # fmt: skip
    axis_local = p.new_tensor((0.0, 0.0, 1.0) if prim.axis_z else (0.0, 1.0, 0.0)).expand_as(body)
    axis = _rot_z(axis_local, prim.angle) * s.curved[:, None]
    return _LatheLook(normal, albedo, shin, axis)


def _surface(prim: Primitive, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normal (P, 3) and albedo (P, 3) at hit points p on the primitive (whose params match p's rays)."""
    c = prim.center_of(p)
    albedo = p.new_tensor(prim.color).expand(p.shape[0], 3).clone()
    if prim.kind == "sphere":
        n = (p - c) / prim.half[0]
        local = _rot_z(n, _neg(prim.angle))
        if prim.pattern == SEAMS:
            seam = (local[:, 0].abs() < 0.06) | (local[:, 1].abs() < 0.06)
            albedo = torch.where(seam[:, None], albedo * 0.35, albedo)
        elif prim.pattern == HEAD:
            albedo = _face(prim, local, albedo)
        return n, albedo
    pl = _rot_z(p - c, _neg(prim.angle)) / p.new_tensor(prim.half)
    axis = pl.abs().argmax(-1)
    nl = F.one_hot(axis, 3).to(p.dtype) * torch.sign(pl)
    n = _rot_z(nl, prim.angle)
    if prim.pattern == EDGES:
        edge = (pl.abs() > 0.9).sum(-1) >= 2
        albedo = torch.where(edge[:, None], albedo * 0.7, albedo)
    return n, albedo


def _face(prim: Primitive, local: torch.Tensor, albedo: torch.Tensor) -> torch.Tensor:
    """A head looking at the camera (+z): a cameo's face image or painted eyes, and a mouth that opens."""
    x, y, z = local[:, 0], local[:, 1], local[:, 2]
    front = z > 0.15
    if prim.face is not None:
        # Project the front of the head onto the face crop (which spans about 80% of the head's width).
        grid = torch.stack((x / 0.8, -y / 0.8), dim=-1).clamp(-1, 1)[None, None]  # (1, 1, P, 2)
        sampled = F.grid_sample(prim.face[None], grid, align_corners=False)[0, :, 0].T  # (P, 3)
        inside = front & (x.abs() < 0.8) & (y.abs() < 0.8)
        albedo = torch.where(inside[:, None], sampled, albedo)
    else:
        eyes = front & (((x.abs() - 0.32) ** 2 + (y - 0.22) ** 2) < 0.011)
        albedo = torch.where(eyes[:, None], albedo.new_tensor((0.08, 0.08, 0.1)).expand_as(albedo), albedo)
    opening = 0.035 + 0.16 * prim.mouth
    mouth = front & (x.abs() < 0.28) & ((y + 0.38).abs() < opening)
    return torch.where(mouth[:, None], albedo.new_tensor((0.25, 0.05, 0.06)).expand_as(albedo), albedo)


def cast(prims: list[Primitive], o: torch.Tensor, d: torch.Tensor, limit: torch.Tensor | None = None) -> Hit:
    """Nearest hit among primitives (closer than `limit` where given). o: (P, 3) or (1, 3)."""
    n_rays = d.shape[0]
    best = torch.full((n_rays,), INF, device=d.device) if limit is None else limit.clone()
    owner = torch.full((n_rays,), -1, dtype=torch.long, device=d.device)
    for k, prim in enumerate(prims):
        if prim.rays is not None:
            # Only the rays that can see it are tested; every other ray keeps what it had.
            seen = prim if prim.hit_mask is None else prim.pick(prim.hit_mask, prim.rays[prim.hit_mask])
            sel = seen.rays
            assert sel is not None
            if sel.numel():
                t = intersect(dataclasses.replace(seen, rays=None, hit_mask=None), o if o.shape[0] == 1 else o[sel],
                               d[sel])  # fmt: skip
                closer = t < best[sel]
                best[sel] = torch.where(closer, t, best[sel])
                owner[sel] = torch.where(closer, torch.full_like(owner[sel], k), owner[sel])
            continue
        t = intersect(prim, o, d, prim.hit_mask)
        closer = t < best
        best = torch.where(closer, t, best)
        owner = torch.where(closer, torch.full_like(owner, k), owner)
    normal = torch.zeros_like(d)
    albedo = torch.zeros_like(d)
    shin = torch.zeros(n_rays, device=d.device)
    axis = torch.zeros_like(d)
    for k, prim in enumerate(prims):
        if prim.rays is not None:
            keep = owner[prim.rays] == k
            idx = prim.rays[keep]
            seen = prim.pick(keep, None)
        else:
            idx = (owner == k).nonzero().squeeze(1)
            seen = prim.subset(idx)
        if idx.numel() == 0:
            continue
        oo = o if o.shape[0] == 1 else o[idx]
        p = oo + best[idx, None] * d[idx]
        if prim.kind == "lathe":
            look = _lathe_surface(seen, p)
            normal[idx], albedo[idx], shin[idx], axis[idx] = look.normal, look.albedo, look.shininess, look.axis
            continue
        n, a = _surface(seen, p)
        normal[idx] = n
        albedo[idx] = a
        shin[idx] = prim.shininess
    t = torch.where(owner >= 0, best, torch.full_like(best, INF))
    return Hit(t, normal, albedo, shin, owner, axis)


def visibility(prims: list[Primitive], p: torch.Tensor, to_light: torch.Tensor, penumbra: float) -> torch.Tensor:
    """How much of the light reaches points p (P, 3): soft for spheres, hard for boxes."""
    vis = torch.ones(p.shape[0], device=p.device)
    d = to_light.expand_as(p)
    for prim in prims:
        if prim.rays is not None:
            sel = prim.rays
            if sel.numel():
                dense = dataclasses.replace(prim, rays=None, hit_mask=None)
                vis[sel] = vis[sel] * visibility([dense], p[sel], to_light, penumbra)
            continue
        if prim.shadow_mask is not None:
            sel = prim.shadow_mask.nonzero().squeeze(1)
            if sel.numel():
                unmasked = dataclasses.replace(prim.subset(sel), shadow_mask=None, hit_mask=None)
                vis[sel] = vis[sel] * visibility([unmasked], p[sel], to_light, penumbra)
            continue
        if prim.kind == "sphere":
            oc = prim.center_of(p) - p
            along = (oc * to_light).sum(-1)
            perp = (oc - along[:, None] * to_light).norm(dim=-1)
            width = penumbra * along.clamp(min=0) + 0.004
            v = ((perp - prim.half[0]) / (2 * width) + 0.5).clamp(0, 1)
            v = v * v * (3 - 2 * v)
            vis = vis * torch.where(along > 0, v, torch.ones_like(v))
        else:
            t = intersect(prim, p, d)
            vis = torch.where(t < INF, torch.zeros_like(vis), vis)
    return vis


def shadow_culled(prims: list[Primitive], p: torch.Tensor, to_light: torch.Tensor,
                  penumbra: float | None = None) -> list[Primitive]:  # fmt: skip
    """Fixtures with a shadow mask: only points whose ray to the light passes near one test it exactly.

    Boxes always; spheres too when the `penumbra` that `visibility` will soften their shadows with is given (a
    sphere shades a point only where that ray passes within its radius plus the soft edge's width)."""
    out = []
    for prim in prims:
        moving = isinstance(prim.center, torch.Tensor)
        if moving or not (prim.kind == "box" or (prim.kind == "sphere" and penumbra is not None)):
            out.append(prim)
            continue
        oc = p.new_tensor(prim.center) - p
        along = oc @ to_light
        if prim.kind == "box":
            r: float | torch.Tensor = float(np.linalg.norm(prim.half))
        else:
            # The widest the soft edge gets (see `visibility`), and a hair for float rounding.
            r = prim.half[0] + (penumbra or 0.0) * along.clamp(min=0) + 0.005
        near = ((oc * oc).sum(-1) - along * along <= r * r) & (along > -r)
        out.append(dataclasses.replace(prim, shadow_mask=near))
    return out
