"""A row of dominoes: the words make a row, "fall" stands them up and tips the first, the chain runs to the end,
and the camera holds the whole row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.procedural.camera import Shot, camera_pose, frame_scene
from model.procedural.layout import build_scene
from model.procedural.physics import PhysicsSettings, simulate
from model.procedural.prompt import ROW_COUNT, parse_prompt

WIDTH, HEIGHT = 320, 180


@pytest.mark.parametrize(
    ("prompt", "kind", "count"),
    [
        ("a row of dominoes falls over", "domino", ROW_COUNT),
        ("dominoes fall in a long line", "domino", ROW_COUNT),
        ("a domino chain falls in slow motion", "domino", ROW_COUNT),
        ("three dominoes in a row fall", "domino", 3),  # a number the prompt gives stands
        ("dominoes fall", "domino", 3),  # a bare plural, as before
        ("a ball rolls along a line", "ball", 1),  # a line to roll along is not a row of balls
    ],
)
def test_row_words_make_a_row_unless_a_number_is_given(prompt: str, kind: str, count: int) -> None:
    groups = parse_prompt(prompt).groups
    assert [(g.kind, g.count) for g in groups][:1] == [(kind, count)]


@pytest.mark.parametrize("prompt", ["dominoes fall in a long line", "a row of dominoes falls over"])
def test_a_row_of_dominoes_falls_one_into_the_next_and_stays_in_frame(prompt: str) -> None:
    scene, _ = build_scene(parse_prompt(prompt), 3)
    frames = 96
    traj = simulate(scene, frames, 24.0, PhysicsSettings(), None)
    frame_scene(scene, traj.names, traj.poses, WIDTH / HEIGHT)
    dominoes = [i for i, name in enumerate(traj.names) if name.startswith("domino")]
    assert len(dominoes) == ROW_COUNT
    heights = np.array([o.size[1] for o in scene.objects if o.kind == "domino"])
    start, end = traj.poses[0, dominoes], traj.poses[-1, dominoes]
    assert np.all(np.abs(start[1:, 1] - heights[1:]) < 0.01)  # all but the first stand on the floor
    assert np.all(np.abs(np.abs(end[:, 2]) - np.pi / 2) < 0.5)  # and every one, the last too, ends lying down
    # They fall in turn: each after the one before it.
    fell = [int(np.argmax(np.abs(traj.poses[:, i, 2]) > 0.5)) for i in dominoes]
    assert fell == sorted(fell) and fell[-1] > fell[0]
    depth = {o.id: o.z for o in scene.objects}
    for frame in (0, frames - 1):
        shot = Shot(camera_pose(scene, frame / (frames - 1)), WIDTH, HEIGHT, torch.device("cpu"))
        for i in dominoes:
            x, y, _ = traj.poses[frame, i]
            u, v, _ = shot.project(np.array((x, y, depth[traj.names[i]])))
            assert 0 <= u <= WIDTH and 0 <= v <= HEIGHT, (frame, traj.names[i], u, v)
