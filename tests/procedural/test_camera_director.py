"""The camera director, judged on decoded MP4 frames: the subject is big enough, stays in view, shot words count."""

from __future__ import annotations

import numpy as np
import pytest

from model.generator import CancelToken, GenerationRequest, no_progress
from model.media import decode_clip, encode_mp4
from model.procedural import ProceduralGenerator
from tests.procedural.measure import centroids, colour_mask

GREEN = 1  # nothing else in these scenes is a saturated green: the mask is the subject


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _decoded(generator: ProceduralGenerator, prompt: str, width: int, height: int, seconds: float) -> np.ndarray:
    request = GenerationRequest("generate", prompt, width=width, height=height, seconds=seconds)
    clip = generator.generate(request, no_progress, CancelToken())
    return decode_clip(encode_mp4(clip)).frames


def _share(frames: np.ndarray) -> np.ndarray:
    """(T,) share of each frame the green subject covers."""
    return colour_mask(frames, GREEN, margin=25).mean(axis=(1, 2))


@pytest.mark.parametrize(
    ("prompt", "width", "height"),
    [
        ("a green ball is thrown at the hoop", 192, 108),
        ("a green ball is thrown at the hoop, close-up", 192, 108),
        ("a green ball is thrown at the hoop, wide shot", 192, 108),
        ("a green ball rolls down a ramp, seen from above", 192, 108),
        ("a green ball bounces down the stairs, orbit", 192, 108),
        ("a green ball is thrown at the hoop", 108, 192),  # portrait
        ("a green tennis ball rolls down a ramp", 144, 144),  # square, and a small subject
    ],
)  # fmt: skip
@pytest.mark.timeout(120)
def test_the_subject_covers_at_least_two_percent_of_every_frame(
    generator: ProceduralGenerator, prompt: str, width: int, height: int
) -> None:
    share = _share(_decoded(generator, prompt, width, height, 2.0))
    assert share.min() >= 0.02, f"smallest share {share.min():.4f} at frame {share.argmin()}"


@pytest.mark.timeout(120)
def test_a_close_up_is_closer_than_a_wide_shot(generator: ProceduralGenerator) -> None:
    close = _share(_decoded(generator, "a green ball bounces, close-up", 192, 108, 1.0))
    wide = _share(_decoded(generator, "a green ball bounces, wide shot", 192, 108, 1.0))
    assert np.median(close) > 2 * np.median(wide)


@pytest.mark.timeout(120)
def test_tracking_keeps_a_travelling_subject_in_the_middle_of_the_frame(generator: ProceduralGenerator) -> None:
    frames = _decoded(generator, "a green ball is thrown at the hoop, tracking shot", 192, 108, 2.0)
    where = centroids(colour_mask(frames, GREEN, margin=25))
    assert not np.isnan(where).any()  # never out of the frame
    assert (np.abs(where[:, 0] - 96) < 0.4 * 192).all() and (np.abs(where[:, 1] - 54) < 0.4 * 108).all()
    # The world moves past it: the background of the first and last frames differs.
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 3


@pytest.mark.timeout(120)
def test_portrait_framing_keeps_the_subject_inside_the_frame(generator: ProceduralGenerator) -> None:
    frames = _decoded(generator, "a green ball is thrown at the hoop", 108, 192, 2.0)
    mask = colour_mask(frames, GREEN, margin=25)
    # No frame has the subject touching the left or right edge: it is composed for the tall frame, not cut off.
    assert not mask[:, :, :2].any() and not mask[:, :, -2:].any()
    assert mask.any(axis=(1, 2)).all()


@pytest.mark.timeout(120)
def test_orbit_turns_the_view_around_the_subject(generator: ProceduralGenerator) -> None:
    frames = _decoded(generator, "a green ball rolls down a ramp, orbit", 192, 108, 2.0)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 6
    assert _share(frames).min() >= 0.02


@pytest.mark.timeout(120)
def test_a_moving_camera_gives_the_same_mp4_for_the_same_prompt_and_seed(generator: ProceduralGenerator) -> None:
    request = GenerationRequest("generate", "a green ball is thrown at the hoop, orbit", width=160, height=90,
                                seconds=1.0, seed=5)  # fmt: skip
    first = encode_mp4(generator.generate(request, no_progress, CancelToken()))
    second = encode_mp4(generator.generate(request, no_progress, CancelToken()))
    assert first == second
