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


def lighting_for(env: EnvironmentSpec) -> Lighting:
    """The sun (or lamp, or moon) and sky for a setting and time of day."""
    if env.setting == "indoor":
        return Lighting((-0.25, 0.92, 0.3), (0.85, 0.8, 0.72), (0.42, 0.4, 0.36), (0.78, 0.74, 0.66),
                        (0.6, 0.57, 0.52))  # fmt: skip
    if env.time == "night":
        return Lighting((0.35, 0.8, 0.45), (0.32, 0.38, 0.55), (0.07, 0.08, 0.14), (0.06, 0.08, 0.16),
                        (0.01, 0.01, 0.04))  # fmt: skip
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
    return sky


def _fract(x: torch.Tensor) -> torch.Tensor:
    """x - floor(x): in [0, 1) for negative x too (torch.frac keeps the sign)."""
    return x - torch.floor(x)


def floor_albedo(p: torch.Tensor, base: torch.Tensor, mat: str, t: torch.Tensor) -> torch.Tensor:
    """Tiles for stone-like floors, planks for wood; the pattern fades with distance so it never shimmers."""
    fade = (1.0 - t / 25.0).clamp(0, 1)[:, None]
    x, z = p[:, 0], p[:, 2]
    if mat == "wood":
        plank = torch.floor(z / 0.2)
        shade = 0.9 + 0.1 * _fract(torch.sin(plank * 12.9898) * 43758.5453)
        seam = (_fract(z / 0.2) < 0.04).float() * 0.25
        factor = shade - seam
    elif mat in {"ice", "glass"}:
        factor = 0.97 + 0.03 * torch.sin(x * 3.1 + z * 2.3)
    else:
        check = (torch.floor(x / 0.5) + torch.floor(z / 0.5)) % 2
        joint = ((_fract(x / 0.5) < 0.03) | (_fract(z / 0.5) < 0.03)).float()
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
