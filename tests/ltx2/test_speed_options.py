"""The memory and speed options load and generate on the tiny checkpoint (their speed is for bench/ltx2_gpu.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from model.generator import CancelToken, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options
from model.ltx2.fp8 import Fp8Linear
from tests.ltx2.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.ltx2


@pytest.mark.parametrize(
    ("options", "speedup"),
    [
        (LTX2Options(steps=6, fp8="on"), "fp8 matmuls"),
        (LTX2Options(steps=6, cache="taylorseer", cache_interval=2), "TaylorSeer cache every 2 steps"),
        (LTX2Options(steps=2, vae_tiling=True), "VAE tiling"),
    ],
)
def test_a_speed_option_is_applied_and_the_clip_still_comes_out(
    tiny_ltx2_dir: Path, options: LTX2Options, speedup: str
):
    generator = LTX2Generator(tiny_ltx2_dir, options)
    steps: list[int] = []

    clip = generator.generate(
        GenerationRequest(kind="generate", prompt="a drum", width=WIDTH, height=HEIGHT, seconds=1.0),
        lambda step, total, stage="": stage == "generating" and steps.append(step),
        CancelToken(),
    )

    assert any(speedup in item for item in clip.metadata["speedups"])
    assert steps == list(range(1, options.num_steps + 1))
    assert clip.frames.shape == (25, HEIGHT, WIDTH, 3)


def test_fp8_replaces_the_transformer_blocks_linear_layers(tiny_ltx2_dir: Path):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(fp8="on"))
    generator.load()

    assert generator._pipes is not None
    blocks = generator._pipes.text.transformer.transformer_blocks
    assert any(isinstance(m, Fp8Linear) for m in blocks.modules())
    assert generator._pipes.condition.transformer is generator._pipes.text.transformer


@pytest.mark.parametrize(
    ("full_guidance", "passes_per_step"),
    [(False, 1), (True, 3)],  # CFG as one batch-2 pass; full guidance adds the STG and modality-isolation passes
)
def test_full_guidance_adds_the_stg_and_modality_passes(tiny_ltx2_dir: Path, full_guidance: bool, passes_per_step: int):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, full_guidance=full_guidance, stg_blocks=(0,)))
    generator.load()
    assert generator._pipes is not None
    calls: list[int] = []
    hook = generator._pipes.text.transformer.register_forward_hook(lambda *args: calls.append(1))
    try:
        generator.generate(
            GenerationRequest(kind="generate", prompt="a drum", width=WIDTH, height=HEIGHT, seconds=0.4),
            lambda *args: None,
            CancelToken(),
        )
    finally:
        hook.remove()

    assert len(calls) == 2 * passes_per_step


def test_compile_is_applied_to_every_repeated_block_but_compiles_only_on_the_first_step(tiny_ltx2_dir: Path):
    # Wired, not run here: inductor spends minutes compiling C++ for the CPU; bench/ltx2_gpu.py times it on a GPU.
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(compile=True))
    generator.load()

    assert generator._pipes is not None and "compiled transformer blocks" in generator._pipes.speedups
    blocks = generator._pipes.text.transformer.transformer_blocks
    assert all(block._compiled_call_impl is not None for block in blocks)


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"SORABOX_LTX2_MEMORY_PLAN": "Group-Offload"}, "memory_plan", "group-offload"),
        ({"SORABOX_LTX2_MEMORY_GB": "24"}, "memory_gb", 24.0),
        ({"SORABOX_LTX2_FP8_WEIGHTS": "layerwise"}, "fp8_weights", "layerwise"),
        ({"SORABOX_LTX2_ENHANCE_PROMPT": "0"}, "enhance_prompt", False),
        ({"SORABOX_LTX2_DISTILLED": "auto"}, "distilled", None),
    ],
)
def test_the_memory_and_speed_variables_are_read(env: dict[str, str], field: str, value: object):
    assert getattr(LTX2Options.from_env(env), field) == value


def test_a_prompt_is_given_to_the_model_as_written_when_the_enhancer_is_off(tiny_ltx2_dir: Path):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, enhance_prompt=False))
    clip = generator.generate(
        GenerationRequest(kind="generate", prompt="a red ball", width=WIDTH, height=HEIGHT, seconds=0.4),
        lambda *args: None,
        CancelToken(),
    )

    assert "details" not in clip.metadata and clip.state["prompt"] == "a red ball"
