"""Light and colour: the sun, moon or lamp and sky for a setting, shading of a surface point, floor patterns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from model.procedural.scene import EnvironmentSpec


@dataclass(frozen=True)
class Lighting:
    to_light: tuple[float, float, float]
    light: tuple[float, float, float]
    ambient: tuple[float, float, float]
    horizon: tuple[float, float, float]
    zenith: tuple[float, float, float]
    # At night a lamp lights a pool around the action and the rest falls dark: (x, z, radius) of that pool.
    pool: tuple[float, float, float] | None = None


LAMP_LIT = {"street", "gym", "kitchen", "living_room", "pool"}  # places with lamps on at night


def lighting_for(env: EnvironmentSpec, centre: float = 0.0) -> Lighting:
    """The sun (or lamp, or moon) and sky for a setting and time of day; `centre`: x of the action."""
    if env.setting == "indoor" and env.time == "night":
        # Lamps from above: warm light, a dark room beyond their pool.
        return Lighting((-0.2, 0.95, 0.25), (1.15, 0.9, 0.6), (0.06, 0.055, 0.06), (0.06, 0.055, 0.06),
                        (0.03, 0.03, 0.035), (centre, 0.0, 2.0))  # fmt: skip
    if env.setting == "indoor" and env.time == "sunset":
        return Lighting((-0.75, 0.45, 0.45), (1.0, 0.66, 0.42), (0.3, 0.26, 0.26), (0.72, 0.56, 0.46),
                        (0.46, 0.4, 0.42))  # fmt: skip
    if env.setting == "indoor":
        return Lighting((-0.25, 0.92, 0.3), (0.85, 0.8, 0.72), (0.42, 0.4, 0.36), (0.78, 0.74, 0.66),
                        (0.6, 0.57, 0.52))  # fmt: skip
    if env.time == "night":
        # The moon: cold and dim, and where there are street lamps a warmer pool of their light.
        lamps = env.place in LAMP_LIT
        return Lighting((0.35, 0.8, 0.45), (0.9, 0.85, 0.75) if lamps else (0.42, 0.48, 0.68),
                        (0.05, 0.06, 0.1), (0.04, 0.05, 0.1), (0.005, 0.006, 0.025),
                        (centre, 0.0, 3.0) if lamps else None)  # fmt: skip
    if env.time == "sunset":
        return Lighting((-0.85, 0.3, 0.35), (1.05, 0.62, 0.36), (0.28, 0.22, 0.26), (1.0, 0.58, 0.32),
                        (0.22, 0.24, 0.48))  # fmt: skip
    overcast = 0.35 if env.rain > 0 else 0.0
    light = (1.0 - overcast * 0.7, 0.96 - overcast * 0.66, 0.88 - overcast * 0.58)
    horizon = (0.78 - overcast * 0.1, 0.86 - overcast * 0.2, 0.95 - overcast * 0.3)
    zenith = (0.33 + overcast * 0.25, 0.53 + overcast * 0.05, 0.9 - overcast * 0.3)
    return Lighting((-0.4, 0.8, 0.45), light, (0.36, 0.38, 0.44), horizon, zenith)


def sky(d: torch.Tensor, light: Lighting, env: EnvironmentSpec) -> torch.Tensor:
    up = d[:, 1].clamp(min=0) ** 0.6
    horizon = d.new_tensor(light.horizon)
    zenith = d.new_tensor(light.zenith)
    sky = horizon + (zenith - horizon) * up[:, None]
    if env.setting == "outdoor":
        sun = (d * d.new_tensor(light.to_light)).sum(-1)
        glow = (sun.clamp(min=0) ** 256) * (0.6 if env.time != "night" else 0.5)
        sky = sky + glow[:, None] * d.new_tensor(light.light)
        if env.time == "night":
            # Stars: a fixed sprinkle over directions (not pixels), so they stay put when the camera moves.
            cell = torch.floor(d * 300.0)
            hashed = fract(torch.sin(cell @ d.new_tensor((12.9898, 78.233, 37.719))) * 43758.5453)
            star = (hashed > 0.9985) & (d[:, 1] > 0.05)
            sky = sky + star[:, None].float() * 0.6
    return sky


def pool_light(light: Lighting, p: torch.Tensor) -> torch.Tensor | None:
    """(P,) share of a night lamp's light reaching points p (P, 3), or None where no lamp pools its light."""
    if light.pool is None:
        return None
    x, z, radius = light.pool
    r2 = ((p[:, 0] - x) ** 2 + (p[:, 2] - z) ** 2) / (radius * radius)
    return 1.0 / (1.0 + r2 * r2)


def fract(x: torch.Tensor) -> torch.Tensor:
    """x - floor(x): in [0, 1) for negative x too (torch.frac keeps the sign)."""
    return x - torch.floor(x)


def floor_albedo(p: torch.Tensor, base: torch.Tensor, mat: str, t: torch.Tensor) -> torch.Tensor:
    """Tiles for stone-like floors, planks for wood; the pattern fades with distance so it never shimmers."""
    fade = (1.0 - t / 25.0).clamp(0, 1)[:, None]
    x, z = p[:, 0], p[:, 2]
    if mat == "wood":
        plank = torch.floor(z / 0.2)
        shade = 0.9 + 0.1 * fract(torch.sin(plank * 12.9898) * 43758.5453)
        seam = (fract(z / 0.2) < 0.04).float() * 0.25
        factor = shade - seam
    elif mat in {"ice", "glass"}:
        factor = 0.97 + 0.03 * torch.sin(x * 3.1 + z * 2.3)
    else:
        check = (torch.floor(x / 0.5) + torch.floor(z / 0.5)) % 2
        joint = ((fract(x / 0.5) < 0.03) | (fract(z / 0.5) < 0.03)).float()
        factor = 0.96 + 0.04 * check - 0.12 * joint
    return base * (1 + (factor[:, None] - 1) * fade)


def shade(
    normal: torch.Tensor,
    albedo: torch.Tensor,
    shin: torch.Tensor,
    d: torch.Tensor,
    vis: torch.Tensor,
    light: Lighting,
    axis: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour and its direct-light part (which shadows remove): hemispheric ambient + Lambert + Blinn.

    Where `axis` (P, 3) is non-zero the surface is a bottle's or can's curved wall: the sun and sky are broad
    lights, and a cylinder mirrors a broad light as a stripe along its length, so the highlight is taken across
    the axis only (the half vector with its component along the axis removed).
    """
    to_light = d.new_tensor(light.to_light)
    lcol = d.new_tensor(light.light)
    amb = d.new_tensor(light.ambient) * (0.6 + 0.4 * normal[:, 1:2])
    ndl = (normal * to_light).sum(-1).clamp(min=0)
    half = F.normalize(to_light - d, dim=-1)
    ndh = (normal * half).sum(-1)
    if axis is not None:
        across = F.normalize(half - (half * axis).sum(-1, keepdim=True) * axis, dim=-1)
        ndh = torch.where(axis.abs().sum(-1) > 0, (normal * across).sum(-1), ndh)
    ndh = ndh.clamp(min=0)
    spec = shin * torch.pow(ndh, 8 + 80 * shin) * 0.7
    direct = (albedo * ndl[:, None] + spec[:, None]) * lcol * vis[:, None]
    return albedo * amb + direct, direct


def luminance(c: torch.Tensor) -> torch.Tensor:
    return c @ c.new_tensor((0.2126, 0.7152, 0.0722))


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """Colours in [0, 1] as 8-bit values, rounded."""
    return (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
