"""Settings from SORABOX_LTX2_* variables, and how requests are rounded to the model's grid."""

from __future__ import annotations

import pytest

from model.generator import GenerationError
from model.ltx2 import LTX2Options, OptionsError, plan_clip

pytestmark = pytest.mark.ltx2


def test_unset_variables_keep_the_full_models_defaults():
    options = LTX2Options.from_env({})

    assert options == LTX2Options()
    assert (options.num_steps, options.video_guidance, options.audio_guidance_scale) == (30, 3.0, 7.0)


def test_the_distilled_setting_means_eight_steps_without_guidance():
    options = LTX2Options.from_env({"SORABOX_LTX2_DISTILLED": "1"})

    assert (options.num_steps, options.video_guidance, options.audio_guidance_scale) == (8, 1.0, 1.0)


def test_every_variable_is_read():
    env = {
        "SORABOX_LTX2_DISTILLED": "yes",
        "SORABOX_LTX2_STEPS": "12",
        "SORABOX_LTX2_GUIDANCE": "4.5",
        "SORABOX_LTX2_AUDIO_GUIDANCE": "5",
        "SORABOX_LTX2_FULL_GUIDANCE": "true",
        "SORABOX_LTX2_STG_BLOCKS": "28,29",
        "SORABOX_LTX2_COMPILE": "1",
        "SORABOX_LTX2_FP8": "off",
        "SORABOX_LTX2_CACHE": "TaylorSeer",
        "SORABOX_LTX2_CACHE_INTERVAL": "4",
        "SORABOX_LTX2_VAE_TILING": "on",
        "SORABOX_LTX2_CPU_OFFLOAD": "1",
        "SORABOX_LTX2_DEVICE": "cuda:1",
        "SORABOX_LTX2_DTYPE": "float16",
        "SORABOX_LTX2_MAX_SECONDS": "10",
        "SORABOX_LTX2_MAX_PIXELS": "409600",
        "SORABOX_LTX2_MAX_PROMPT_TOKENS": "256",
        "SORABOX_LTX2_REMIX_STRENGTH": "0.4",
        "SORABOX_LTX2_EXTEND_OVERLAP_FRAMES": "9",
        "SORABOX_LTX2_CAMEO_STRENGTH": "0.9",
        "SORABOX_LTX2_STITCH_CROSSFADE": "0.5",
        "SORABOX_LTX2_NEGATIVE_PROMPT": "Blurry",
    }

    options = LTX2Options.from_env(env)

    assert options == LTX2Options(
        distilled=True,
        steps=12,
        guidance=4.5,
        audio_guidance=5.0,
        full_guidance=True,
        stg_blocks=(28, 29),
        compile=True,
        fp8="off",
        cache="taylorseer",
        cache_interval=4,
        vae_tiling=True,
        cpu_offload="on",
        device="cuda:1",
        dtype="float16",
        max_seconds=10.0,
        max_pixels=409600,
        max_prompt_tokens=256,
        remix_strength=0.4,
        extend_overlap_frames=9,
        cameo_strength=0.9,
        stitch_crossfade=0.5,
        negative_prompt="Blurry",
    )
    assert options.num_steps == 12


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STEPS", "many", "SORABOX_LTX2_STEPS has a value I cannot read"),
        ("STEPS", "0", "SORABOX_LTX2_STEPS must be at least 1"),
        ("COMPILE", "maybe", "SORABOX_LTX2_COMPILE has a value I cannot read"),
        ("CACHE", "firstblock", "SORABOX_LTX2_CACHE must be one of off, taylorseer"),
        ("DTYPE", "int8", "SORABOX_LTX2_DTYPE must be one of"),
        ("REMIX_STRENGTH", "1.5", r"SORABOX_LTX2_REMIX_STRENGTH must be in \(0, 1\]"),
        ("EXTEND_OVERLAP_FRAMES", "10", "must be 8k\\+1"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str, message: str):
    with pytest.raises(OptionsError, match=message) as caught:
        LTX2Options.from_env({f"SORABOX_LTX2_{name}": value})
    assert isinstance(caught.value, GenerationError)  # the CLI reports it like any other backend error


@pytest.mark.parametrize(
    ("width", "height", "seconds", "expected"),
    [
        (768, 512, 5.0, (768, 512, 121)),  # the model's own size: nothing to round
        (640, 360, 5.0, (640, 352, 121)),
        (360, 640, 3.0, (352, 640, 73)),
        (480, 480, 1.0, (480, 480, 25)),
        (40, 40, 0.1, (64, 64, 9)),  # the smallest clip: 64 pixels a side, 9 frames
    ],
)
def test_requests_are_rounded_to_multiples_of_32_pixels_and_8k_plus_1_frames(width, height, seconds, expected):
    plan = plan_clip(width, height, seconds, 24.0, LTX2Options())

    assert (plan.width, plan.height, plan.num_frames) == expected
    assert bool(plan.notes) == ((width, height) != expected[:2] or abs(seconds * 24 - expected[2]) > 0.5)


def test_long_and_large_requests_are_capped_and_say_so():
    plan = plan_clip(1920, 1080, 60.0, 24.0, LTX2Options(max_seconds=10.0, max_pixels=1280 * 736))

    assert plan.width * plan.height <= 1280 * 736
    assert plan.num_frames <= 10 * 24 + 1 and (plan.num_frames - 1) % 8 == 0
    assert any("capped" in note for note in plan.notes)
