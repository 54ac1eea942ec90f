"""A camera that turns and zooms from one place: the still world is cast once into panoramas and looked up per
frame, and what a frame shows matches a full ray cast from that frame's pose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.procedural import panorama
from model.procedural.camera import Shot, camera_pose, frame_scene
from model.procedural.layout import build_scene
from model.procedural.physics import PhysicsSettings, simulate
from model.procedural.prompt import parse_prompt
from model.procedural.render import Renderer
from model.procedural.scene import SceneSpec
from model.procedural.shot_words import apply_shot_words, read_shot_words

WIDTH, HEIGHT = 192, 108
FRAMES = 48


def _framed(prompt: str) -> SceneSpec:
    scene, _ = build_scene(parse_prompt(prompt), 3)
    apply_shot_words(scene, read_shot_words(prompt))  # as the generator does
    traj = simulate(scene, FRAMES, 24.0, PhysicsSettings(), None)
    frame_scene(scene, traj.names, traj.poses, WIDTH / HEIGHT)
    return scene


def _poses(scene: SceneSpec) -> list:
    return [camera_pose(scene, f / (FRAMES - 1)) for f in range(FRAMES)]


def test_an_unasked_follow_turns_and_zooms_from_one_place() -> None:
    scene = _framed("a yellow ball bounces down a flight of stairs")
    assert scene.camera.move == "follow"
    poses = _poses(scene)
    places = np.array([p.position for p in poses])
    aims = np.array([p.forward for p in poses])
    assert np.ptp(places, axis=0).max() == 0.0
    assert np.degrees(np.arccos(np.clip(aims[0] @ aims[-1], -1, 1))) > 5  # it turned to follow the ball


def test_a_tracking_shot_travels_and_gets_no_panorama() -> None:
    scene = _framed("a yellow ball bounces down a flight of stairs, tracking shot")
    assert scene.camera.move == "track"
    assert panorama.plan(_poses(scene), WIDTH, HEIGHT, torch.device("cpu")) is None


@pytest.mark.parametrize(
    "prompt", ["a yellow ball bounces down a flight of stairs", "a red ball rolls down a ramp at sunset, pan"]
)
def test_a_frame_looked_up_in_the_panorama_matches_a_full_ray_cast(prompt: str) -> None:
    scene = _framed(prompt)
    assert panorama.plan(_poses(scene), WIDTH, HEIGHT, torch.device("cpu"))  # the frames come from panoramas
    renderer = Renderer(scene, WIDTH, HEIGHT, torch.device("cpu"), frames=FRAMES)
    with torch.inference_mode():
        for frame in (0, FRAMES // 2, FRAMES - 1):
            shot = Shot(camera_pose(scene, frame / (FRAMES - 1)), WIDTH, HEIGHT, renderer.device)
            looked_up = renderer.world.moving_camera([shot], [frame], FRAMES)
            cast = renderer.world.cast(shot, 1)
            diff = np.abs(cast.frames[0].numpy().astype(int) - looked_up.frames[0].numpy().astype(int)).max(axis=-1)
            assert diff.mean() < 4.0  # resampled: softer along edges, the same picture
            assert (diff > 48).mean() < 0.02
            near = torch.isclose(cast.pixel_depth[0], looked_up.pixel_depth[0], rtol=0.05)
            assert near.float().mean() > 0.95  # the depth bodies are composited against


def test_the_gpu_lookup_gives_the_same_picture_as_the_cpu_warp() -> None:
    scene = _framed("a blue box slides down a wooden ramp")
    planned = panorama.plan(_poses(scene), WIDTH, HEIGHT, torch.device("cpu"))
    assert planned
    renderer = Renderer(scene, WIDTH, HEIGHT, torch.device("cpu"))
    first, pano_shot = planned[0]
    with torch.inference_mode():
        still = renderer.world.cast(pano_shot, 1)
        pano = panorama.Panorama(pano_shot, still.pixel_color[0], still.pixel_direct[0], still.pixel_depth[0])
        shots = [Shot(p, WIDTH, HEIGHT, renderer.device) for p in _poses(scene)[first : first + 3]]
        warped = pano.view(shots)
        pano.on_cpu = False  # the torch grid_sample path that a CUDA device takes
        sampled = pano.view(shots)
    assert (warped.color - sampled.color).abs().mean() < 1e-3
    assert (warped.image.int() - sampled.image.int()).abs().float().mean() < 0.5
    assert (warped.depth == sampled.depth).float().mean() > 0.99  # nearest pixel: ties may round either way


def test_a_long_zoom_over_a_long_sweep_is_split_into_several_sharp_panoramas() -> None:
    scene = _framed("a green tennis ball rolls down a ramp")
    poses = _poses(scene)
    planned = panorama.plan(poses, WIDTH, HEIGHT, torch.device("cpu"))
    assert planned and len(planned) > 1
    for k, (first, shot) in enumerate(planned):
        last = planned[k + 1][0] if k + 1 < len(planned) else len(poses)
        sharpest = max((HEIGHT / 2) / np.tan(p.fov / 2) for p in poses[first:last])
        assert shot.focal >= panorama.MIN_SHARPNESS * sharpest - 1e-6
        assert shot.width * shot.height <= panorama.MAX_AREA * WIDTH * HEIGHT * 1.05


def test_above_640x360_a_panorama_holds_no_more_detail_than_at_640x360() -> None:
    scene = _framed("a blue box slides down a wooden ramp")
    poses = _poses(scene)
    small = panorama.plan(poses, 640, 360, torch.device("cpu"))
    large = panorama.plan(poses, 1280, 720, torch.device("cpu"))
    assert small and large
    sharpest = max(180 / np.tan(p.fov / 2) for p in poses)  # a 640x360 frame's focal length, in pixels
    assert small[0][1].focal > 0.99 * sharpest
    assert large[0][1].focal < 1.01 * sharpest  # half of a 720p frame's own, as much as a 360p frame's
