"""Memory plans: sizes counted from the configs, the plan chosen for each card size, the refusal, and each plan applied
to the tiny model on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")

import torch

from model.generator import CancelToken, GenerationError, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options
from model.ltx2.memory import GB, HEADROOM, PLANS, ClipShape, PlanRefused, choose_plan, estimate
from model.ltx2.sizes import LTX23_TRANSFORMER, reference_sizes, sizes_from_folder, transformer_params
from tests.ltx2.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.ltx2

# The largest clip the backend accepts by default (SORABOX_LTX2_MAX_PIXELS 1280x736, MAX_SECONDS 20 at 24 fps).
LARGEST = ClipShape(1280, 736, 481)
DEFAULT_5S = ClipShape(768, 512, 121)


@pytest.mark.parametrize("shape", ["tiny_ltx2_dir", "tiny_ltx23_distilled_dir"])
def test_sizes_counted_from_the_configs_equal_the_built_modules(shape: str, request: pytest.FixtureRequest):
    folder: Path = request.getfixturevalue(shape)
    generator = LTX2Generator(folder, LTX2Options(steps=1))
    pipe = generator.pipeline

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    sizes = sizes_from_folder(folder)
    assert sizes.transformer == count(pipe.transformer)
    assert sizes.text_encoder == count(pipe.text_encoder)
    # Read from the weights files, so the saved buffers (the VAEs' latent statistics) are counted too: memory as well.
    stored = sum(
        t.numel() for p in ("connectors", "vae", "audio_vae", "vocoder") for t in getattr(pipe, p).state_dict().values()
    )
    assert sizes.small_parts == stored
    assert sizes.block == count(pipe.transformer.transformer_blocks[0])


@pytest.mark.timeout(180)
def test_the_full_size_ltx23_transformer_count_matches_diffusers_model_built_on_the_meta_device():
    from diffusers import LTX2VideoTransformer3DModel

    with torch.device("meta"):
        model = LTX2VideoTransformer3DModel(**LTX23_TRANSFORMER)
    assert transformer_params(LTX23_TRANSFORMER) == sum(p.numel() for p in model.parameters())  # 18.99 B


def test_the_full_size_text_encoder_is_gemma3_12b():
    assert round(reference_sizes("2.0").text_encoder / 1e9, 2) == 12.20  # counted when built (docs/notes/ltx2.md)
    assert round(reference_sizes("2.0").transformer / 1e9, 2) == 18.88


# (version, distilled, card GB) -> the plan and tiling chosen for the largest accepted clip; None: refused.
CHOICES = [
    ("2.0", False, 24, None),
    ("2.0", False, 32, ("group-offload", True)),
    ("2.0", False, 48, ("fp8", True)),
    ("2.0", False, 80, ("text-offload", True)),
    ("2.0", False, 141, ("gpu", False)),
    ("2.0", True, 24, ("group-offload", True)),
    ("2.0", True, 48, ("fp8", True)),
    ("2.0", True, 80, ("text-offload", True)),
    ("2.3", False, 24, None),
    ("2.3", False, 32, None),
    ("2.3", False, 48, ("group-offload", True)),
    ("2.3", False, 80, ("text-offload", True)),
    ("2.3", False, 141, ("gpu", False)),
    ("2.3", True, 24, None),
    ("2.3", True, 32, ("group-offload", True)),
    ("2.3", True, 48, ("fp8", True)),
    ("2.3", True, 141, ("gpu", False)),
]


@pytest.mark.parametrize(("version", "distilled", "card_gb", "expected"), CHOICES)
def test_the_fastest_plan_that_fits_the_card_is_chosen(version, distilled, card_gb, expected):
    sizes = reference_sizes(version)
    clip = ClipShape(LARGEST.width, LARGEST.height, LARGEST.frames, guidance=not distilled)

    if expected is None:
        with pytest.raises(PlanRefused):
            choose_plan(sizes, clip, card_gb * GB, f"a {card_gb} GB card")
        return
    chosen = choose_plan(sizes, clip, card_gb * GB, f"a {card_gb} GB card")

    assert (chosen.plan, chosen.vae_tiling) == expected
    assert chosen.peak <= card_gb * GB * HEADROOM
    # Every faster plan (in any tiling) would not have fitted: the choice is the fastest that does.
    for faster in PLANS[: PLANS.index(chosen.plan)]:
        assert all(estimate(faster, sizes, clip, t).peak > card_gb * GB * HEADROOM for t in (False, True))


def test_more_memory_never_gives_a_slower_plan():
    sizes = reference_sizes("2.3")
    ranks = []
    for card_gb in (26, 32, 40, 48, 64, 80, 96, 141):
        ranks.append(PLANS.index(choose_plan(sizes, DEFAULT_5S, card_gb * GB, "card").plan))
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == PLANS.index("group-offload") and ranks[-1] == 0


def test_the_default_5_s_clip_runs_on_a_24_gb_card_with_group_offloading_and_distilled_skips_the_cfg_batch():
    sizes = reference_sizes("2.3")
    full = choose_plan(sizes, DEFAULT_5S, 24 * GB, "RTX 4090")
    distilled = estimate(full.plan, sizes, ClipShape(768, 512, 121, guidance=False), full.vae_tiling)

    assert full.plan == "group-offload"
    assert distilled.denoising * 2 == full.denoising  # batch 1 instead of CFG's batch 2
    assert distilled.text_encoding * 2 == full.text_encoding and distilled.peak <= full.peak


def test_a_plan_that_does_not_fit_is_refused_in_one_line_naming_card_free_memory_need_and_variable():
    with pytest.raises(PlanRefused) as caught:
        choose_plan(reference_sizes("2.3"), LARGEST, 24 * GB, "NVIDIA GeForce RTX 4090")

    line = str(caught.value)
    assert "\n" not in line and isinstance(caught.value, GenerationError)
    assert "NVIDIA GeForce RTX 4090 (24.0 GB free)" in line
    assert "needs 32.9 GB" in line and "plan group-offload with VAE tiling" in line
    assert "SORABOX_LTX2_MAX_SECONDS" in line and "SORABOX_LTX2_MEMORY_GB" in line


def test_a_requested_plan_is_used_when_it_fits_and_refused_naming_the_plan_variable_when_not():
    sizes = reference_sizes("2.0")
    assert choose_plan(sizes, DEFAULT_5S, 141 * GB, "H200", requested="group-offload").plan == "group-offload"
    with pytest.raises(PlanRefused, match=r"on H100 \(80\.0 GB free\).*set SORABOX_LTX2_MEMORY_PLAN=auto"):
        choose_plan(sizes, LARGEST, 80 * GB, "H100", requested="gpu")


def test_the_generator_refuses_at_start_when_the_budget_is_too_small(tiny_ltx2_dir: Path):
    with pytest.raises(PlanRefused, match=r"does not fit on .* \(0\.0 GB free\).*SORABOX_LTX2_MEMORY_GB"):
        LTX2Generator(tiny_ltx2_dir, LTX2Options.from_env({"SORABOX_LTX2_MEMORY_GB": "0.001"}))


def test_vae_tiling_is_switched_on_when_only_the_whole_frame_decode_does_not_fit(tiny_ltx2_dir: Path):
    # The tiny model's weights are a few MB; a 20 s 1280x736 decode is ~60 GB whole, ~9 GB in tiles.
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=1, memory_gb=16))

    assert generator.memory is not None and (generator.memory.plan, generator.memory.vae_tiling) == ("gpu", True)
    generator.load()
    assert generator.pipeline.vae.use_tiling


def _make_clip(generator: LTX2Generator):
    return generator.generate(
        GenerationRequest(kind="generate", prompt="a red ball", width=WIDTH, height=HEIGHT, seconds=0.4),
        lambda *args: None,
        CancelToken(),
    )


def test_text_offload_streams_the_text_encoder_and_the_clip_still_comes_out(tiny_ltx2_dir: Path):
    from diffusers.hooks.group_offloading import _get_group_onload_device

    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, memory_plan="text-offload"))
    clip = _make_clip(generator)

    assert clip.metadata["memory_plan"] == "text-offload"
    assert generator._pipes is not None
    assert _get_group_onload_device(generator.pipeline.text_encoder) == generator._pipes.device
    with pytest.raises(ValueError):  # the transformer stays resident
        _get_group_onload_device(generator.pipeline.transformer)


def test_the_fp8_plan_stores_the_transformer_blocks_in_fp8_on_the_cpu_by_layerwise_casting(tiny_ltx2_dir: Path):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, memory_plan="fp8"))
    clip = _make_clip(generator)

    block = generator.pipeline.transformer.transformer_blocks[0]
    assert block.ff.net[2].weight.dtype == torch.float8_e4m3fn
    assert "fp8 weights (layerwise casting)" in clip.metadata["speedups"]
    assert clip.frames.std() > 0


def test_group_offload_streams_the_transformer_blocks_and_the_clip_still_comes_out(tiny_ltx2_dir: Path):
    from diffusers.hooks.group_offloading import _get_group_onload_device

    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, memory_plan="group-offload"))
    clip = _make_clip(generator)

    assert generator._pipes is not None
    assert _get_group_onload_device(generator.pipeline.transformer) == generator._pipes.device
    assert "transformer blocks streamed from CPU memory" in clip.metadata["speedups"]
    assert clip.frames.shape[1:] == (HEIGHT, WIDTH, 3)


def test_the_fp8_plan_with_scaled_matmuls_quantizes_each_block_as_it_is_placed(tiny_ltx2_dir: Path):
    from model.ltx2.fp8 import Fp8Linear

    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2, memory_plan="fp8", fp8_weights="scaled-mm"))
    clip = _make_clip(generator)

    blocks = generator.pipeline.transformer.transformer_blocks
    assert all(any(isinstance(m, Fp8Linear) for m in block.modules()) for block in blocks)
    assert any(item.startswith("fp8 weights and matmuls in") for item in clip.metadata["speedups"])
    assert not any(item.startswith("fp8 matmuls in") for item in clip.metadata["speedups"])  # not quantized twice
