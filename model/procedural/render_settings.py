"""How the procedural renderer trades quality for speed."""

from __future__ import annotations

from dataclasses import dataclass


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
