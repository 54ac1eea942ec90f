"""A moving camera draws the still world from faces with baked shadows: the picture matches a full ray cast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.procedural.camera import Shot, camera_pose, frame_scene
from model.procedural.layout import build_scene
from model.procedural.physics import PhysicsSettings, simulate
from model.procedural.prompt import parse_prompt
from model.procedural.render import Renderer, RenderSettings


@pytest.mark.parametrize(
    "prompt",
    ["a basketball is thrown at the hoop, orbit", "a yellow ball bounces down the stairs indoors, orbit",
     "a red ball rolls down a ramp at sunset, pan"],
)  # fmt: skip
def test_faces_with_baked_shadows_look_like_the_full_ray_cast(prompt: str) -> None:
    width, height = 192, 108
    scene, _ = build_scene(parse_prompt(prompt), 3)
    traj = simulate(scene, 24, 24.0, PhysicsSettings(), None)
    frame_scene(scene, traj.names, traj.poses, width / height)
    full = RenderSettings(moving_background_full_max_pixels=width * height)  # the default draws at half size
    renderer = Renderer(scene, width, height, torch.device("cpu"), full)
    with torch.inference_mode():
        for progress in (0.0, 0.5, 1.0):
            shot = Shot(camera_pose(scene, progress), width, height, renderer.device)
            cast = renderer.world.cast(shot, 1).frames[0].numpy().astype(int)
            drawn = renderer.world.travelling_frame(shot).frames[0].numpy().astype(int)
            diff = np.abs(cast - drawn).max(axis=-1)
            assert diff.mean() < 1.0
            assert (diff > 24).mean() < 0.01  # only a few pixels along shadow and face edges differ


def test_above_the_full_size_limit_the_still_world_is_drawn_at_half_size_and_scaled_up() -> None:
    width, height = 192, 108
    scene, _ = build_scene(parse_prompt("a basketball is thrown at the hoop, orbit"), 3)
    traj = simulate(scene, 24, 24.0, PhysicsSettings(), None)
    frame_scene(scene, traj.names, traj.poses, width / height)
    full = Renderer(
        scene, width, height, torch.device("cpu"), RenderSettings(moving_background_full_max_pixels=width * height)
    )
    half = Renderer(scene, width, height, torch.device("cpu"), RenderSettings(moving_background_full_max_pixels=0))
    with torch.inference_mode():
        shot = Shot(camera_pose(scene, 0.5), width, height, full.device)
        sharp = full.world.travelling_frame(shot)
        soft = half.world.travelling_frame(shot)
    assert soft.frames.shape == sharp.frames.shape and soft.pixel_depth.shape == sharp.pixel_depth.shape
    diff = np.abs(sharp.frames[0].numpy().astype(int) - soft.frames[0].numpy().astype(int)).max(axis=-1)
    assert 0 < diff.mean() < 3.0  # softer along edges, the same picture
