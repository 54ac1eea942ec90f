"""Bottles, cans and drinking glasses as solids of revolution: a profile (radius against height) turned about the
object's axis.

One profile describes the whole outline (a bottle's body, shoulders, neck and cap; a can's tapered ends, rims
and recessed lid; a glass's thick base, flared wall, rim and the inside seen through its mouth), and one batched
ray test handles every segment of it at once, so a bottle costs a handful
of tensor operations per ray, not one pass per part. Coordinates here are the object's own: `a` along the
axis (0 at the centre), `u`, `w` across it; `render.py` turns rays into this frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

INF = 1e9
EPS = 1e-4

Color = tuple[float, float, float]
CAP_GOLD: Color = (0.8, 0.64, 0.26)
ALUMINIUM: Color = (0.8, 0.82, 0.85)
RIM_GLINT: Color = (0.93, 0.97, 0.98)  # a glass's rim catches the light: its edge shows paler than the glass


@dataclass(frozen=True)
class Lathe:
    """A closed solid of revolution.

    `points` run from the bottom centre up the outside to the top centre as (height along the axis, radius).
    Each consecutive pair is one segment: a disc or ring where the height stays the same, a cylinder wall where
    the radius stays the same, a cone frustum otherwise. Segments marked in `trim` (a bottle's cap, a can's
    rims and lid) take the trim colour and shininess; `ring_pull` paints a can's opening on the top segment;
    segments marked in `inside` (a glass's inner wall and floor, seen through its mouth) are painted dark, as that
    opening is.
    """

    points: tuple[tuple[float, float], ...]
    trim: tuple[bool, ...]
    trim_color: Color
    trim_shininess: float
    ring_pull: bool = False
    inside: tuple[bool, ...] = ()


@dataclass
class LatheSurface:
    """What a ray sees where it meets a lathe, per hit point (all in the object's frame)."""

    normal: torch.Tensor  # (P, 3) as (u, a, w)
    trim: torch.Tensor  # (P,) bool: on a trim segment
    curved: torch.Tensor  # (P,) bool: on a wall or frustum (not a flat disc), where highlights are stripes
    opening: torch.Tensor  # (P,) bool: on a can's ring pull


def bottle(radius: float, half_height: float) -> Lathe:
    """A wine or beer bottle: bevelled base, straight body, sloping shoulders, a neck and a crown cap."""
    r, h = radius, half_height
    points = ((-h, 0.0), (-h, 0.93 * r), (-0.96 * h, r), (0.16 * h, r), (0.5 * h, 0.4 * r), (0.8 * h, 0.36 * r),
              (0.8 * h, 0.45 * r), (h, 0.45 * r), (h, 0.0))  # fmt: skip
    trim = (False,) * 5 + (True,) * 3  # the step under the cap, its side and its top
    return Lathe(points, trim, CAP_GOLD, 0.85)


def can(radius: float, half_height: float) -> Lathe:
    """A drinks can: tapered bottom, straight body, tapered top, a rolled rim and a recessed lid."""
    r, h = radius, half_height
    points = ((-h, 0.0), (-h, 0.76 * r), (-0.86 * h, r), (0.8 * h, r), (0.93 * h, 0.84 * r), (h, 0.86 * r),
              (h, 0.78 * r), (0.95 * h, 0.78 * r), (0.95 * h, 0.0))  # fmt: skip
    # The label is the straight wall; the ends, rim and lid are bare aluminium.
    trim = (True, True, False, True, True, True, True, True)
    return Lathe(points, trim, ALUMINIUM, 0.9, ring_pull=True)


def tumbler(radius: float, half_height: float) -> Lathe:
    """A drinking glass: a thick base, a wall that flares a little up to the rim, and an open mouth.

    Drawn closed: from the rim the profile turns down the inside of the wall to the top of the base (a fifth of
    the height up), so the mouth shows the dark inside of the glass, not a lid.
    """
    r, h = radius, half_height
    inner = 0.88 * r  # a wall about 4 mm thick on a 7 cm glass
    points = ((-h, 0.0), (-h, 0.8 * r), (-0.95 * h, 0.86 * r), (h, r), (h, inner), (-0.6 * h, 0.84 * inner),
              (-0.6 * h, 0.0))  # fmt: skip
    trim = (False, False, False, True, False, False)  # the rim
    inside = (False, False, False, False, True, True)  # the inner wall and the top of the base
    return Lathe(points, trim, RIM_GLINT, 0.95, inside=inside)


def lathe_for(kind: str, radius: float, half_height: float) -> Lathe:
    """The outline of a cylinder-shaped object kind; anything that is not a can or a glass is drawn as a bottle."""
    if kind == "can":
        return can(radius, half_height)
    return tumbler(radius, half_height) if kind == "glass" else bottle(radius, half_height)


def _segments(lathe: Lathe, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    pts = like.new_tensor(lathe.points)  # (S + 1, 2)
    return pts[:-1, 0], pts[1:, 0], pts[:-1, 1], pts[1:, 1]


def intersect(lathe: Lathe, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Distance along each ray to the solid, INF where it misses. o: (P, 3) or (1, 3), d: (P, 3) unit, as (u, a, w).

    Rays that miss the solid's bounding cylinder are answered at once; only the rest run the exact test. Most
    rays a bottle is tested with (the screen box round its bounding sphere, the ground round its shadow) miss it.
    """
    # Solve from the ray's closest approach to the centre: far-away origins would cost float32 its precision.
    tc = -(o * d).sum(-1)
    o = o + tc[:, None] * d
    out = torch.full_like(tc, INF)
    near = _crosses_bounding_cylinder(lathe, o, d, tc).nonzero().squeeze(1)
    if near.numel():
        out[near] = _intersect_profile(lathe, o[near], d[near], tc[near])
    return out


def _crosses_bounding_cylinder(lathe: Lathe, o: torch.Tensor, d: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
    """(P,) bool: the ray (from o, whose distance along the original ray is tc) meets the capped cylinder that
    holds the solid, in front of its origin."""
    # A hair larger than the solid, so float rounding never turns away a ray that grazes its outline.
    radius = max(r for _, r in lathe.points) * 1.001 + 1e-5
    lo, hi = min(a for a, _ in lathe.points) - 1e-5, max(a for a, _ in lathe.points) + 1e-5
    ou, oa, ow = o.unbind(-1)
    du, da, dw = d.unbind(-1)
    qa = du * du + dw * dw
    qb = ou * du + ow * dw
    qc = ou * ou + ow * ow - radius * radius
    disc = qb * qb - qa * qc
    along_axis = qa < 1e-12  # parallel to the axis: inside the tube for all t, or never
    root = disc.clamp(min=0).sqrt()
    safe_qa = torch.where(along_axis, torch.ones_like(qa), qa)
    enter = torch.where(along_axis, torch.full_like(qa, -INF), (-qb - root) / safe_qa)
    leave = torch.where(along_axis, torch.full_like(qa, INF), (-qb + root) / safe_qa)
    in_tube = torch.where(along_axis, qc <= 0, disc >= 0)
    level = da.abs() < 1e-9  # level with the end caps: between them for all t, or never
    safe_da = torch.where(level, torch.ones_like(da), da)
    s0, s1 = (lo - oa) / safe_da, (hi - oa) / safe_da
    enter = torch.maximum(enter, torch.where(level, torch.full_like(da, -INF), torch.minimum(s0, s1)))
    leave = torch.minimum(leave, torch.where(level, torch.full_like(da, INF), torch.maximum(s0, s1)))
    between_caps = ~level | ((oa >= lo) & (oa <= hi))
    return in_tube & between_caps & (enter <= leave) & (leave + tc > EPS)


def _intersect_profile(lathe: Lathe, o: torch.Tensor, d: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
    """The exact test: every segment at once on (P, S) tensors, walls and frusta as quadrics, discs and rings as
    planes. o is already moved to the ray's closest approach to the centre, tc along the ray from its origin."""
    ou, oa, ow = o[:, 0:1], o[:, 1:2], o[:, 2:3]
    du, da, dw = d[:, 0:1], d[:, 1:2], d[:, 2:3]
    a0, a1, r0, r1 = _segments(lathe, d)
    flat = (a1 - a0).abs() < 1e-9
    slope = torch.where(flat, torch.zeros_like(a0), (r1 - r0) / torch.where(flat, torch.ones_like(a0), a1 - a0))
    # Radius of the surface as a function of t along the ray: rad + grow * t; the wall is u^2 + w^2 = that^2.
    rad = r0 + slope * (oa - a0)
    grow = slope * da
    qa = du * du + dw * dw - grow * grow
    qb = 2 * (ou * du + ow * dw - rad * grow)
    qc = ou * ou + ow * ow - rad * rad
    disc = qb * qb - 4 * qa * qc
    root = disc.clamp(min=0).sqrt()
    # The numerically stable pair of roots; a near-zero quadratic term leaves the linear root in c / q.
    q = -0.5 * (qb + torch.where(qb >= 0, root, -root))
    q = torch.where(q.abs() < 1e-12, torch.full_like(q, 1e-12), q)
    qa = torch.where(qa.abs() < 1e-12, torch.full_like(qa, 1e-12), qa)
    roots = torch.stack((q / qa, qc / q), dim=-1)  # (P, S, 2)
    along = oa[..., None] + roots * da[..., None]
    lo, hi = torch.minimum(a0, a1)[:, None], torch.maximum(a0, a1)[:, None]
    on_wall = (disc >= 0)[..., None] & (along >= lo) & (along <= hi) & ~flat[:, None]
    on_wall &= roots + tc[:, None, None] > EPS
    t_wall = torch.where(on_wall, roots, torch.full_like(roots, INF)).amin(-1)
    # Discs and rings: where the ray crosses the segment's height, between its two radii.
    safe_da = torch.where(da.abs() < 1e-9, torch.full_like(da, 1e-9), da)
    t_plane = (a0 - oa) / safe_da
    pu, pw = ou + t_plane * du, ow + t_plane * dw
    rr = pu * pu + pw * pw
    on_disc = flat & (rr >= torch.minimum(r0, r1) ** 2) & (rr <= torch.maximum(r0, r1) ** 2)
    on_disc &= t_plane + tc[:, None] > EPS
    t_disc = torch.where(on_disc, t_plane, torch.full_like(t_plane, INF))
    t = torch.minimum(t_wall, t_disc).amin(-1)
    return torch.where(t < INF / 2, t + tc, torch.full_like(t, INF))


def surface(lathe: Lathe, p: torch.Tensor) -> LatheSurface:
    """Normal and markings at points p (P, 3) on the solid's surface, as (u, a, w).

    The segment is the one nearest the point in the profile's (radius, height) plane; its outward normal there is
    the segment's direction turned a quarter turn, swept round the axis.
    """
    u, a, w = p[:, 0], p[:, 1], p[:, 2]
    rho = torch.sqrt(u * u + w * w)
    a0, a1, r0, r1 = _segments(lathe, p)
    sa, sr = a1 - a0, r1 - r0
    length = torch.sqrt(sa * sa + sr * sr).clamp(min=1e-9)
    pa, pr = a[:, None] - a0, rho[:, None] - r0
    s = ((pa * sa + pr * sr) / (length * length)).clamp(0, 1)
    seg = ((pa - s * sa) ** 2 + (pr - s * sr) ** 2).argmin(-1)
    radial, axial = (sa / length)[seg], (-sr / length)[seg]
    inv = 1.0 / rho.clamp(min=1e-9)
    normal = torch.stack((u * inv * radial, axial, w * inv * radial), dim=-1)
    trim = p.new_tensor(lathe.trim, dtype=torch.bool)[seg]
    curved = (sa.abs() > 1e-9)[seg]
    opening = torch.zeros_like(trim)
    if lathe.ring_pull:
        # A can's drinking hole: an oval near the lid's edge, on the top segment only.
        rim = lathe.points[-2][1]
        on_lid = seg == len(lathe.trim) - 1
        opening = on_lid & (((u - 0.5 * rim) / (0.26 * rim)) ** 2 + (w / (0.17 * rim)) ** 2 < 1)
    if lathe.inside:
        opening = opening | p.new_tensor(lathe.inside, dtype=torch.bool)[seg]
    return LatheSurface(normal, trim, curved, opening)


def bounding_radius(lathe: Lathe) -> float:
    """Radius of a sphere about the centre that holds the whole solid."""
    return max((a * a + r * r) ** 0.5 for a, r in lathe.points)
