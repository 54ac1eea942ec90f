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
def test_a_speed_option_is_applied_and_the_clip_still_comes_out(tiny_ltx2_dir: Path, options: LTX2Options,
                                                                 speedup: str):
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
def test_full_guidance_adds_the_stg_and_modality_passes(tiny_ltx2_dir: Path, full_guidance: bool,
                                                        passes_per_step: int):
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
