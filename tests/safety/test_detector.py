"""The detector on real pictures: scikit-image's photographs and a clip the procedural backend renders."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from core.jobs.output_check import DEFAULT_THRESHOLDS, OutputCheckPolicy
from model.generator import CancelToken, GenerationRequest
from model.procedural import ProceduralGenerator
from model.safety import check_frames, load_detector, sample_indices
from tests.safety.support import astronaut_frames


def test_the_astronaut_passes_with_the_default_thresholds():
    verdict = check_frames(astronaut_frames(12))
    # open_nsfw's own score for this photograph (its reference preprocessing): clearly safe, and not a stub's 0.
    assert 0.02 < verdict.scores["nsfw"] < 0.05
    assert verdict.scores["nsfw"] < DEFAULT_THRESHOLDS["nsfw"]
    assert OutputCheckPolicy(mode="on").judge(verdict) is None


def test_the_original_astronaut_scores_what_open_nsfw_gives_it():
    verdict = check_frames(data.astronaut()[np.newaxis])
    assert verdict.scores["nsfw"] == pytest.approx(0.0318, abs=0.002)
    assert verdict.frames_checked == (0,) and verdict.worst_frame == 0


def test_a_clip_rendered_by_the_procedural_backend_passes():
    request = GenerationRequest(
        kind="generate", prompt="a red ball bounces on a wooden table", width=160, height=96, seconds=1.0, seed=1
    )
    clip = ProceduralGenerator().generate(request, lambda *args: None, CancelToken())
    verdict = check_frames(clip.frames)
    assert len(verdict.frames_checked) == 8 and verdict.frames_checked[-1] == clip.frames.shape[0] - 1
    assert verdict.scores["nsfw"] < 0.2  # Yahoo's "safe with high probability"
    assert OutputCheckPolicy(mode="on").judge(verdict) is None


def test_the_worst_frame_is_the_one_that_scored_highest():
    # A cat scores ~0.0001 and the astronaut ~0.03: one astronaut frame among cats is the worst frame.
    cat = data.chelsea()[:300, :300]
    astronaut = np.ascontiguousarray(data.astronaut()[:300, :300])
    frames = np.stack([cat] * 10)
    frames[6] = astronaut
    verdict = check_frames(frames, budget=10)
    assert verdict.worst_frame == 6
    assert verdict.scores["nsfw"] == verdict.frame_scores(6)["nsfw"]
    assert all(verdict.frame_scores(i)["nsfw"] < verdict.scores["nsfw"] / 10 for i in range(10) if i != 6)


def test_only_the_frame_budget_is_looked_at_spread_over_the_clip():
    indices = sample_indices(100, 8)
    assert len(indices) == 8 and indices[0] == 0 and indices[-1] == 99
    assert np.all(np.diff(indices) >= 13) and np.all(np.diff(indices) <= 15)
    assert list(sample_indices(5, 8)) == [0, 1, 2, 3, 4]
    assert check_frames(astronaut_frames(30, 64, 64), budget=3).frames_checked == (0, 14, 29)


def test_the_detector_is_loaded_once_per_process():
    assert load_detector() is load_detector()


def test_frames_that_are_not_an_rgb_uint8_clip_are_refused_by_name():
    with pytest.raises(ValueError, match="`frames` must be a \\(T, H, W, 3\\) uint8"):
        check_frames(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="at least one frame"):
        check_frames(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="`budget` must be at least 1"):
        check_frames(astronaut_frames(2, 32, 32), budget=0)
