"""Actions with their fixtures, checked on decoded MP4s: where the object goes on screen and when it is heard."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model.media import decode_audio, decode_clip
from model.procedural import ProceduralGenerator
from tests.procedural.measure import colour_mask, extents, generated_mp4, onsets, rms, track

# Each test makes and decodes a whole clip: seconds alone, far more on a loaded machine.
pytestmark = pytest.mark.slow

FPS = 24.0
W, H = 320, 180
RED, GREEN, BLUE = 0, 1, 2


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _shoot(generator: ProceduralGenerator, prompt: str, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) and audio (C, N) of the prompt's clip, as a viewer gets them: encoded, then decoded.

    The prompts ask for a still camera: motion is measured against a fixed view (the director's framing, which
    follows and enlarges the subject, has its own tests)."""
    data = generated_mp4(generator, prompt, W, H, seconds)
    return decode_clip(data).frames, decode_audio(data)


def _heard_at(heard: list[float], frame: float, slack: float = 1.0) -> bool:
    return any(abs(t * FPS - frame) <= slack for t in heard)


def _lowest_points(bottom: np.ndarray, rise: float = 2.0, window: int = 8) -> list[int]:
    """Frames where the object is lowest on screen between two rises: where it touched something below it."""
    out = []
    for k in range(1, len(bottom) - 1):
        b = bottom[k]
        if np.isnan(b) or not (b >= bottom[k - 1] and b > bottom[k + 1]):
            continue
        before = np.nanmin(bottom[max(0, k - window) : k])
        after = np.nanmin(bottom[k + 1 : k + 1 + window])
        if b - before >= rise and b - after >= rise:
            out.append(k)
    return out


def test_a_basketball_off_the_backboard_turns_back_in_the_air_with_a_knock(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a blue basketball bounces off the backboard, static camera", 3.0)
    ball = track(colour_mask(frames, BLUE))
    x, bottom = ball[:, 0], ball[:, 3]
    assert np.isfinite(x[:48]).mean() > 0.9  # in the picture throughout its flight
    turn = int(np.nanargmax(x[:48]))
    assert x[turn] - x[0] > 0.1 * W  # it travelled across the picture to the board
    assert np.nanmax(x[turn + 3 : turn + 9]) < x[turn] - 2  # and came back off it
    floor = np.nanmax(bottom)
    assert bottom[turn] < floor - 0.25 * H  # while high in the air, not rolling back on the floor
    heard = onsets(audio, 48_000)
    assert _heard_at(heard, turn + 0.5), (turn, [round(t * FPS, 1) for t in heard])  # the board knocks as it turns


def test_a_box_pushed_down_a_ramp_slides_to_its_foot_and_is_heard_sliding(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a blue box slides down a wooden ramp, static camera", 3.0)
    box = track(colour_mask(frames, BLUE), min_pixels=20)
    x, y = box[:, 0], box[:, 1]
    assert np.isfinite(x).all()
    assert x[30] - x[0] > 0.15 * W and y[30] - y[0] > 0.1 * H  # down the slope: right and down the picture
    steps = np.diff(x[:30])
    assert (steps > 0).all()  # moving every frame: sliding, not stuck at the top
    # Sliding is heard: louder than the same place with a box that only stands there.
    _, still = _shoot(generator, "a blue box stands on the floor, static camera", 1.5)
    sliding, quiet = rms(audio, 48_000, 0.2, 1.0), rms(still, 48_000, 0.2, 1.0)
    assert sliding > 2.0 * quiet, (sliding, quiet)


def test_a_ball_bounces_down_the_stairs_one_step_at_a_time(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a red ball bounces down the stairs, static camera", 3.0)
    ball = track(colour_mask(frames, RED))
    heard = [t * FPS for t in onsets(audio, 48_000)]
    assert len(heard) >= 4, heard
    knocks = heard[:4]
    lows = _lowest_points(ball[:, 3])
    # Each knock is heard where the ball is seen touching down...
    for k in knocks:
        assert any(abs(k - low) <= 1.5 for low in lows), (k, lows)
    # ...and each one lower down the picture and further along than the one before: a step at a time.
    where = [ball[min(len(ball) - 1, round(k)), [0, 3]] for k in knocks]
    assert all(b[1] > a[1] + 2 and b[0] > a[0] for a, b in itertools.pairwise(where)), where


def test_a_cube_tumbles_down_the_stairs_knocking_on_the_way(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a blue cube topples down the stairs, static camera", 3.0)
    cube = track(colour_mask(frames, BLUE), min_pixels=20)
    x, y = cube[:, 0], cube[:, 1]
    assert np.isfinite(x).all()
    assert y[-1] - y[0] > 0.2 * H and x[-1] - x[0] > 0.2 * W  # it went down and along
    moving = np.nonzero(np.hypot(np.diff(x), np.diff(y)) > 0.5)[0]
    heard = [t for t in onsets(audio, 48_000) if t * FPS <= moving[-1] + 1]
    assert len(heard) >= 3, heard  # a knock on each step on the way down


def test_a_ball_rolls_off_the_table_and_lands_on_the_floor_with_a_thud(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a red ball rolls off the table, static camera", 2.0)
    ball = track(colour_mask(frames, RED))
    x, bottom = ball[:, 0], ball[:, 3]
    assert np.isfinite(x).all()
    floor = np.nanmax(bottom)
    assert bottom[0] < floor - 0.1 * H  # it starts up on the table top
    assert x[-1] > x[0]
    landed = int(np.argmax(bottom >= floor - 1))
    heard = onsets(audio, 48_000)
    assert _heard_at(heard, landed, slack=1.5), (landed, [round(t * FPS, 1) for t in heard])


def test_two_balls_roll_together_and_are_heard_when_they_meet(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a red ball and a blue ball collide, static camera", 2.0)
    red, blue = track(colour_mask(frames, RED)), track(colour_mask(frames, BLUE))
    gap = blue[:, 0] - red[:, 0]
    assert np.isfinite(gap).all()
    meet = int(np.argmin(gap))
    assert gap[0] > 3 * gap[meet]  # they close in
    assert gap[-1] > gap[meet] + 5  # and part again after the hit
    heard = onsets(audio, 48_000, rel_threshold=0.5)  # the knock stands out of both balls' rolling
    assert _heard_at(heard, meet, slack=1.5), (meet, [round(t * FPS, 1) for t in heard])


def test_a_tower_of_blocks_collapses_into_a_heap(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a tower of blue blocks collapses, static camera", 3.0)
    size = extents(colour_mask(frames, BLUE))
    assert size[0, 1] > 1.5 * size[0, 0]  # standing: taller than wide
    assert size[-1, 0] > 1.5 * size[-1, 1]  # fallen: wider than tall
    assert size[-1, 1] < 0.5 * size[0, 1]
    assert len(onsets(audio, 48_000)) >= 3  # the blocks are heard landing


def test_wood_floats_at_the_surface_and_stone_sinks(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a green wooden cube and a red stone ball fall into a pool, static camera", 3.0)
    cube, stone = track(colour_mask(frames, GREEN), min_pixels=8), track(colour_mask(frames, RED))
    # Still visible at the end, riding high and still: floating.
    assert np.isfinite(cube[-12:, 0]).all()
    assert cube[-1, 2] > 0.1 * np.nanmax(cube[:6, 2])  # its top and upper sides: a third of it rides above
    assert np.nanmax(cube[-12:, 1]) - np.nanmin(cube[-12:, 1]) < 2.0  # the bobbing has died away
    # The stone went under: hidden by the water, or well below the floating cube.
    gone = np.isnan(stone[-1, 0]) or stone[-1, 2] < 0.3 * np.nanmax(stone[:6, 2])
    assert gone or stone[-1, 1] > cube[-1, 1] + 5
    heard = onsets(audio, 48_000)
    assert heard and heard[0] < 1.0  # the splashes as they go in (close together: one wash)


def test_a_ball_splashing_into_water_is_heard_as_it_enters(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a red ball splashes into a pool, static camera", 2.0)
    ball = track(colour_mask(frames, RED))
    y = ball[:, 1]
    fall = np.diff(y)  # pixels per frame, positive going down
    speeding = int(np.nanargmax(fall[:36]))
    entry = speeding + int(np.argmax(fall[speeding:] < 0.5 * fall[speeding]))  # the water stops the fall
    assert fall[speeding] > 3 and entry > speeding
    heard = onsets(audio, 48_000)
    assert _heard_at(heard, entry, slack=1.5), (entry, [round(t * FPS, 1) for t in heard])
    start = min(heard, key=lambda t: abs(t * FPS - entry))
    assert rms(audio, 48_000, start + 0.15, 0.15) > 0.1 * rms(audio, 48_000, start, 0.05)  # a wash, not a click
