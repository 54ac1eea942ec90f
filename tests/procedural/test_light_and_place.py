"""Light and place on decoded MP4 frames: night is dark with a lit subject, dusk is warm, places have their sets."""

from __future__ import annotations

import numpy as np
import pytest

from model.generator import CancelToken, GenerationRequest, no_progress
from model.media import decode_clip, encode_mp4
from model.procedural import ProceduralGenerator


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _frames(generator: ProceduralGenerator, prompt: str, seconds: float = 1.0) -> np.ndarray:
    request = GenerationRequest("generate", prompt, width=192, height=108, seconds=seconds)
    return decode_clip(encode_mp4(generator.generate(request, no_progress, CancelToken()))).frames


def _lum(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def _yellow(frames: np.ndarray) -> np.ndarray:
    f = frames.astype(np.int16)
    return (np.minimum(f[..., 0], f[..., 1]) - f[..., 2]) > 40


@pytest.mark.timeout(120)
def test_a_cube_down_the_stairs_at_night_is_dark_around_a_lit_cube(generator: ProceduralGenerator) -> None:
    night = _frames(generator, "a yellow cube topples down the stairs at night")
    day = _frames(generator, "a yellow cube topples down the stairs")
    lum_night, lum_day = _lum(night), _lum(day)
    assert lum_night.mean() < 45  # a dark picture
    assert lum_day.mean() > 2 * lum_night.mean()
    cube = _yellow(night)
    assert cube.mean() > 0.01  # the cube is there, and lit: much brighter than the night around it
    assert lum_night[cube].mean() > 2.5 * lum_night[~cube].mean()


@pytest.mark.timeout(120)
def test_an_outdoor_night_sky_is_dark_and_dusk_is_warm(generator: ProceduralGenerator) -> None:
    prompt = "a red ball bounces in a park, wide shot, static camera"
    night = _frames(generator, f"{prompt} at night", 0.5)
    dusk = _frames(generator, f"{prompt} at dusk", 0.5)
    day = _frames(generator, prompt, 0.5)
    top = slice(0, 12)  # the sky's band at the top of the frame
    assert _lum(night[:, top]).mean() < 25 < _lum(day[:, top]).mean()
    warmth = [f[:, top, :, 0].mean() - f[:, top, :, 2].mean() for f in (day, dusk)]
    assert warmth[1] > warmth[0] + 30  # the dusk sky is orange where the day sky is blue


@pytest.mark.parametrize(
    ("prompt", "check"),
    [
        ("a basketball bounces in a gym", "maple"),
        ("a red ball falls off a table in the kitchen", "tiles"),
        ("a red ball bounces on the beach", "sand"),
    ],
)  # fmt: skip
@pytest.mark.timeout(120)
def test_places_have_their_floors(generator: ProceduralGenerator, prompt: str, check: str) -> None:
    frames = _frames(generator, f"{prompt}, wide shot, static camera", 0.5)
    floor = frames[:, -20:].reshape(-1, 3).astype(np.float64)  # the bottom rows show the ground
    r, g, b = floor.mean(axis=0)
    if check == "maple":
        assert r > g + 25 > b + 50  # warm wood, not grey concrete
    elif check == "tiles":
        lum = _lum(frames[:, -20:]).ravel()
        assert (lum < 110).mean() > 0.15 and (lum > 170).mean() > 0.15  # dark and light tiles
    else:
        assert r > g > b + 30 and r > 150  # pale sand


@pytest.mark.timeout(120)
def test_the_kitchen_and_the_living_room_dress_the_back_of_the_room(generator: ProceduralGenerator) -> None:
    kitchen = _frames(generator, "a red ball falls off a table in the kitchen, wide shot, static camera", 0.5)
    living = _frames(generator, "a red ball falls off a table in the living room, wide shot, static camera", 0.5)
    # Same table and ball; the counter and cupboards, or the sofa, lamp and wall colour, change the room behind.
    back = slice(0, 54)
    assert np.abs(kitchen[0, back].astype(int) - living[0, back].astype(int)).mean() > 8


@pytest.mark.timeout(120)
def test_a_static_camera_word_keeps_the_camera_still(generator: ProceduralGenerator) -> None:
    frames = _frames(generator, "a red ball is thrown at the hoop, static camera", 2.0)
    # The ball flies across a still picture: only the ball and its shadow change, never the whole view.
    changed = (np.abs(frames.astype(int) - frames[0].astype(int)).max(axis=-1) > 6).mean(axis=(1, 2))
    assert changed.max() < 0.05
