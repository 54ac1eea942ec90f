"""Weather drawn over finished frames: rain streaks."""

from __future__ import annotations

import numpy as np
import torch

from model.procedural.scene import EnvironmentSpec


def rain_overlay(frame: torch.Tensor, env: EnvironmentSpec, seed: int, frame_index: int) -> None:
    """Draw falling rain streaks into a uint8 frame in place; the same frame index always gets the same drops."""
    if env.rain <= 0:
        return
    h, w, _ = frame.shape
    rng = np.random.default_rng([seed & 0xFFFFFFFF, frame_index, 7])
    count = int(env.rain * 900 * (w * h) / (640 * 360))
    length = max(3, int(14 * h / 360))
    slant = env.wind * 0.12
    xs = rng.uniform(0, w, count)
    ys = rng.uniform(-length, h, count)
    steps = np.arange(length)
    px = (xs[:, None] + slant * steps[None]).astype(np.int64).ravel()
    py = (ys[:, None] + steps[None]).astype(np.int64).ravel()
    keep = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    flat = torch.from_numpy(py[keep] * w + px[keep]).to(frame.device)
    pixels = frame.view(-1, 3)
    tint = torch.tensor((200, 210, 225), dtype=torch.float32, device=frame.device)
    alpha = 0.28 if env.time != "night" else 0.18
    mixed = pixels[flat].float() * (1 - alpha) + tint * alpha
    pixels[flat] = mixed.round().clamp(0, 255).to(torch.uint8)
