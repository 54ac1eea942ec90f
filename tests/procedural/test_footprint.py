"""Which pixels a moving box can change: the cheap screen outline never misses a pixel the exact ray test finds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.procedural.camera import CameraPose, Shot
from model.procedural.footprint import Footprint, hits_box

WIDTH, HEIGHT = 160, 90


def _shot() -> Shot:
    pose = CameraPose((0.0, 1.0, 3.0), (0.0, -0.2, -0.98), (1.0, 0.0, 0.0), (0.0, 0.98, -0.2), 0.7)
    return Shot(pose, WIDTH, HEIGHT, torch.device("cpu"))


@pytest.mark.parametrize("angle", [0.0, 0.4, 1.1, 2.7])
@pytest.mark.parametrize("half", [(0.1, 0.1, 0.1), (0.4, 0.05, 0.2)])
def test_a_boxs_screen_outline_holds_every_pixel_whose_ray_meets_it(angle: float, half: tuple[float, ...]) -> None:
    shot = _shot()
    footprint = Footprint(WIDTH, HEIGHT, shot.device, [], F.normalize(torch.tensor((0.3, 1.0, 0.2)), dim=0), 0.035)
    center = np.array((0.2, 0.5, 0.0))
    rect = (0, 0, WIDTH, HEIGHT)
    outline = footprint._outline(shot, center, half, angle, rect)
    assert outline is not None
    u = torch.arange(WIDTH, dtype=torch.float32) + 0.5
    v = torch.arange(HEIGHT, dtype=torch.float32) + 0.5
    a, b = (u - WIDTH / 2) / shot.focal, (v - HEIGHT / 2) / shot.focal
    d = F.normalize(shot.forward + a[None, :, None] * shot.right - b[:, None, None] * shot.up, dim=-1)
    grown = tuple(h * 1.02 + 0.005 for h in half)
    exact = hits_box(shot.origin[0] - torch.tensor(center, dtype=torch.float32), d, grown, angle)
    assert exact.sum() > 20  # the box is in view
    assert not (exact & ~outline).any()  # nothing the box can cover is left out
    perimeter = 2 * math.sqrt(math.pi * float(exact.sum())) * 1.5
    assert outline.sum() <= exact.sum() + 2 * perimeter  # and little is cast for nothing


def test_a_box_reaching_behind_the_camera_falls_back_to_the_ray_test() -> None:
    shot = _shot()
    footprint = Footprint(WIDTH, HEIGHT, shot.device, [], F.normalize(torch.tensor((0.3, 1.0, 0.2)), dim=0), 0.035)
    assert footprint._outline(shot, np.array((0.0, 1.0, 3.0)), (0.5, 0.5, 0.5), 0.0, (0, 0, WIDTH, HEIGHT)) is None
