"""The output check's policy: on, off and auto; thresholds from settings; a verdict turned into a refusal."""

from __future__ import annotations

import pytest

from core.jobs.output_check import OutputCheckPolicy
from core.settings import Settings, SettingsError
from model.safety import Verdict


def verdict(*scores: float) -> Verdict:
    """A verdict over len(scores) frames with these nsfw scores (the policy's input, not the detector under test)."""
    frames = tuple(range(0, 3 * len(scores), 3))
    worst = max(range(len(scores)), key=lambda i: scores[i])
    return Verdict("open_nsfw", {"nsfw": max(scores)}, frames, tuple({"nsfw": s} for s in scores), frames[worst])


def test_auto_is_the_default_and_checks_the_gpu_backend_but_not_the_procedural_one():
    policy = Settings.from_env({}).output_check
    assert policy.mode == "auto"
    assert policy.applies_to("ltx2")
    assert not policy.applies_to("procedural")


def test_on_checks_every_backend_and_off_none():
    on = Settings.from_env({"SORABOX_OUTPUT_CHECK": "on"}).output_check
    off = Settings.from_env({"SORABOX_OUTPUT_CHECK": "OFF"}).output_check
    assert on.applies_to("procedural") and on.applies_to("ltx2") and on.applies_to("mine")
    assert not off.applies_to("ltx2") and not off.applies_to("procedural")


def test_the_settings_come_from_sorabox_toml_too(tmp_path):
    toml = tmp_path / "sorabox.toml"
    toml.write_text('output_check = "on"\noutput_check_thresholds = "nsfw=0.3"\noutput_check_frames = 4\n')
    policy = Settings.from_env({}, toml).output_check
    assert (policy.mode, dict(policy.thresholds), policy.frames) == ("on", {"nsfw": 0.3}, 4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SORABOX_OUTPUT_CHECK", "sometimes", "SORABOX_OUTPUT_CHECK must be on, off or auto"),
        ("SORABOX_OUTPUT_CHECK_THRESHOLDS", "nsfw=high", "nsfw must be in \\(0, 1\\]"),
        ("SORABOX_OUTPUT_CHECK_THRESHOLDS", "nsfw=0", "nsfw must be in \\(0, 1\\]"),
        ("SORABOX_OUTPUT_CHECK_THRESHOLDS", "violence=0.5", "for the classes nsfw"),
        ("SORABOX_OUTPUT_CHECK_THRESHOLDS", "nsfw", "class=threshold pairs"),
        ("SORABOX_OUTPUT_CHECK_FRAMES", "0", "SORABOX_OUTPUT_CHECK_FRAMES must be at least 1"),
        ("SORABOX_OUTPUT_CHECK_FRAMES", "eight", "SORABOX_OUTPUT_CHECK_FRAMES must be a whole number"),
    ],
)
def test_a_bad_setting_is_refused_at_start_naming_the_variable(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_a_score_at_or_over_its_threshold_is_refused_with_the_frame_that_scored_it():
    policy = OutputCheckPolicy(mode="on", thresholds={"nsfw": 0.5})
    assert policy.judge(verdict(0.1, 0.49, 0.2)) is None
    refusal = policy.judge(verdict(0.1, 0.5, 0.2))
    assert refusal is not None and (refusal.category, refusal.score, refusal.frame) == ("nsfw", 0.5, 3)
    refusal = policy.judge(verdict(0.1, 0.7, 0.93))
    assert refusal is not None and refusal.frame == 6
    assert refusal.reason == "output check (open_nsfw): nudity or sexual content, nsfw 0.93 >= 0.50 in frame 6"
