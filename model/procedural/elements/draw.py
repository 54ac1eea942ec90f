"""Draw world-space particles into finished frames: each is projected and splatted as a small soft disc."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.procedural.elements.particles import Particles

Projector = Callable[[np.ndarray], np.ndarray]  # (N, 3) world points -> (N, 3) u, v (pixels), depth (m)


def draw_particles(frame: np.ndarray, particles: Particles, index: int, project: Projector, focal: float,
                   alpha: float = 0.85, depth: np.ndarray | None = None) -> int:  # fmt: skip
    """Blend frame `index` of `particles` into an (H, W, 3) uint8 frame in place; return how many were drawn.

    `focal` is the camera's focal length in pixels (a particle's radius r at depth d is r * focal / d pixels);
    with `depth` (H, W), the distance of what each pixel shows, particles behind it are hidden."""
    live = particles.alive[index]
    if not live.any():
        return 0
    points = particles.positions[index][live]
    radius = particles.radius[live]
    uvd = project(points)
    u, v, d = uvd[:, 0], uvd[:, 1], uvd[:, 2]
    h, w, _ = frame.shape
    ok = np.isfinite(u) & np.isfinite(v) & (d > 0.05) & (u >= -4) & (u < w + 4) & (v >= -4) & (v < h + 4)
    if not ok.any():
        return 0
    u, v, d, radius = u[ok], v[ok], d[ok], radius[ok]
    pixels = np.clip(radius * focal / d, 0.7, 6.0)
    color = np.asarray(particles.color, np.float64) * 255.0
    drawn = 0
    for r in np.unique(np.ceil(pixels).astype(int)):
        sel = np.ceil(pixels).astype(int) == r
        oy, ox = np.mgrid[-r : r + 1, -r : r + 1]
        inside = (ox**2 + oy**2) <= r * r + 0.5
        ox, oy = ox[inside], oy[inside]
        px = (np.round(u[sel])[:, None] + ox[None]).astype(np.int64)
        py = (np.round(v[sel])[:, None] + oy[None]).astype(np.int64)
        keep = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        if depth is not None:
            front = np.zeros_like(keep)
            front[keep] = depth[py[keep], px[keep]] + 0.05 >= np.broadcast_to(d[sel][:, None], px.shape)[keep]
            keep &= front
        fx, fy = px[keep], py[keep]
        frame[fy, fx] = np.round(frame[fy, fx] * (1 - alpha) + color * alpha).astype(np.uint8)
        drawn += int(sel.sum())
    return drawn
