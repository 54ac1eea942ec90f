"""Bottles and cans are cylinders: drawn with a neck or rims and round shading, rolled when lying across the view."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.generator import CancelToken, Clip, GenerationRequest, no_progress
from model.media import decode_audio, decode_clip, encode_mp4
from model.procedural import ProceduralGenerator
from model.procedural.layout import RAMP_LOW_X, build_scene
from model.procedural.physics import simulate
from model.procedural.prompt import parse_prompt
from model.procedural.render import Renderer
from model.procedural.scene import SceneSpec
from tests.procedural.measure import centroids, colour_mask, onsets

FPS = 24.0


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _generate(generator: ProceduralGenerator, prompt: str, seconds: float = 1.0, width: int = 640,
              height: int = 360) -> Clip:  # fmt: skip
    request = GenerationRequest("generate", prompt, width=width, height=height, seconds=seconds)
    return generator.generate(request, no_progress, CancelToken())


def _last_decoded_frame(clip: Clip) -> np.ndarray:
    return decode_clip(encode_mp4(clip)).frames[-1]


def _red_rows(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows that show the red object and its silhouette width on each (leftmost to rightmost red pixel)."""
    # A lower margin than for a ball: the shaded side of a red cylinder is a dark red.
    mask = colour_mask(frame[None], channel=0, margin=30)[0]
    rows = np.nonzero(mask.any(axis=1))[0]
    widths = np.array([np.ptp(np.nonzero(mask[r])[0]) + 1 for r in rows])
    return rows, widths


def _scene(prompt: str) -> SceneSpec:
    scene, _ = build_scene(parse_prompt(prompt), seed=0)
    return scene


def test_bottles_and_cans_are_cylinders_in_the_scene() -> None:
    scene = _scene("a bottle and a can")
    assert [(o.kind, o.shape) for o in scene.objects] == [("bottle", "cylinder"), ("can", "cylinder")]


def test_a_bottle_is_drawn_narrower_at_its_neck_than_its_body(generator: ProceduralGenerator) -> None:
    frame = _last_decoded_frame(_generate(generator, "a big red glass bottle stands on the floor, close-up"))
    rows, widths = _red_rows(frame)
    assert rows.size >= 30  # the bottle is in the picture, standing
    body = np.median(widths[-len(widths) * 2 // 5 :])  # the lower two fifths
    neck = np.median(widths[: len(widths) // 5])  # the top fifth (the gold cap is not red)
    assert rows.size >= 2.5 * body  # taller than wide
    assert neck <= 0.6 * body, (neck, body, widths.tolist())
    # Between neck and body the outline widens down the shoulders without ever narrowing again.
    lower = widths[len(widths) // 5 : len(widths) * 3 // 5]
    assert np.all(np.diff(lower) >= -2), lower.tolist()


def test_a_can_is_shaded_like_a_cylinder(generator: ProceduralGenerator) -> None:
    frame = _last_decoded_frame(_generate(generator, "a big red can stands on the floor, close-up"))
    rows, _ = _red_rows(frame)
    assert rows.size >= 15
    mask = colour_mask(frame[None], channel=0, margin=30)[0]
    # Across the middle of the body, leaving out the anti-aliased outermost pixel on each side.
    middle = rows[len(rows) // 2]
    cols = np.nonzero(mask[middle])[0]
    red = frame[middle, cols.min() + 1 : cols.max(), 0].astype(int)
    assert red.size >= 8
    third = red.size // 3
    # A flat face would be one level; a cylinder turns from the light (left) to the shade (right) ...
    assert red[:third].mean() > red[-third:].mean() + 40, red.tolist()
    # ... through many levels, with a bright highlight stripe near the lit side.
    assert len(set((red // 16).tolist())) >= 4, red.tolist()
    assert red.max() >= 235 and int(np.argmax(red)) < red.size * 0.6, red.tolist()


def test_a_can_lies_across_the_view_to_roll() -> None:
    scene = _scene("a can rolls down the ramp")
    can = scene.objects[0]
    assert (can.shape, can.axis) == ("cylinder", "z")


def test_a_can_rolling_down_a_ramp_rolls_without_slipping_and_keeps_going() -> None:
    scene = _scene("a can rolls down the ramp")
    radius = scene.objects[0].size[0]
    traj = simulate(scene, frames=72, fps=FPS)
    x, y, angle = traj.poses[:, 0, 0], traj.poses[:, 0, 1], traj.poses[:, 0, 2]
    on_floor = np.nonzero((x > RAMP_LOW_X + 0.3) & (y < radius + 0.005))[0]
    assert on_floor.size >= 12, "the can never rolled off the ramp onto the floor"
    first, last = on_floor[0], on_floor[-1]
    assert x[last] - x[first] > 0.5  # still rolling along the floor, not stopped where it landed
    vx = np.diff(x[on_floor]) * FPS
    omega = np.diff(angle[on_floor]) * FPS
    # Rolling, not sliding: the contact point is at rest, so the spin matches the speed (v = -omega r).
    np.testing.assert_allclose(-omega * radius, vx, rtol=0.1, atol=0.05)
    assert float(traj.roll[on_floor, 0].max()) > 0.5  # the rolling rumble follows it


def test_a_rolling_can_is_seen_moving_across_the_picture(generator: ProceduralGenerator) -> None:
    clip = _generate(generator, "a red can rolls down the ramp", seconds=2.0, width=320, height=180)
    frames = decode_clip(encode_mp4(clip)).frames
    # The wooden ramp is reddish too: a higher margin keeps only the red can.
    xs = centroids(colour_mask(frames, channel=0, margin=90))[:, 0]
    seen = xs[~np.isnan(xs)]
    assert seen.size >= FPS  # seen for a second at least (then it may roll out of the picture)
    assert seen[-1] - seen[0] > 100  # pixels at 320 wide
    assert np.all(np.diff(seen) > -2)  # left to right all the way, as the ramp descends to the right


def test_a_toppled_can_comes_to_rest_on_its_side() -> None:
    scene = _scene("a can topples")
    traj = simulate(scene, frames=72, fps=FPS)
    final = traj.final["bodies"][scene.objects[0].id]
    # It falls over sideways in the picture plane: its axis ends up level (angle a quarter turn), and it stays.
    assert abs(abs(final[4]) - math.pi / 2) < 0.1, final
    assert math.hypot(final[2], final[3]) < 0.05


def test_a_falling_bottle_is_heard_on_the_frame_it_lands(generator: ProceduralGenerator) -> None:
    clip = _generate(generator, "a glass bottle falls on the floor", seconds=2.0, width=160, height=90)
    audio = decode_audio(encode_mp4(clip))
    heard = onsets(audio, 48_000)
    assert clip.metadata["impacts"] >= 1
    first_hit = math.sqrt(2 * 0.9 / 9.81)  # the default drop height for things that are not balls
    assert heard, "no impact heard"
    assert abs(heard[0] - first_hit) <= 1.5 / FPS, (heard, first_hit)


def test_same_bottle_prompt_and_seed_give_identical_clips(generator: ProceduralGenerator) -> None:
    prompt = "two glass bottles and a can fall off a table"
    a = _generate(generator, prompt, width=160, height=90)
    b = _generate(generator, prompt, width=160, height=90)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)


def test_a_scene_stored_before_cylinders_still_loads_and_renders() -> None:
    data = _scene("a bottle").to_dict()
    data["objects"][0]["shape"] = "box"  # how bottles were stored before they were cylinders
    del data["objects"][0]["axis"]
    old = SceneSpec.from_dict(data)
    assert old.objects[0].axis == "y"
    names = [old.objects[0].id]
    poses = np.array([[[*old.objects[0].position, 0.0]]])
    frame = Renderer(old, 64, 36, torch.device("cpu")).render_chunk(names, poses, [{}], 0, 1)
    assert frame.shape == (1, 36, 64, 3)
