"""Both folder shapes (LTX-2.0 and LTX-2.3, full and distilled) are told apart from their files and load on the CPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from model.generator import CancelToken, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options
from model.ltx2.variant import detect_variant
from tests.ltx2.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.ltx2


def test_the_ltx20_folder_is_read_as_the_full_ltx20_model(tiny_ltx2_dir: Path):
    variant = detect_variant(tiny_ltx2_dir)

    assert (variant.version, variant.distilled, variant.steps, variant.guidance) == ("2.0", False, 30, 3.0)
    assert variant.name == "LTX-2.0"


def test_the_ltx23_distilled_folder_is_read_from_its_configs_and_its_model_card(tiny_ltx23_distilled_dir: Path):
    variant = detect_variant(tiny_ltx23_distilled_dir)

    assert (variant.version, variant.distilled, variant.steps, variant.guidance) == ("2.3", True, 8, 1.0)
    assert any("per_modality_projections" in line and "gated_attn" in line for line in variant.evidence)


def test_a_distilled_checkpoint_is_known_by_its_folders_name(tiny_ltx2_dir: Path, tmp_path: Path):
    folder = tmp_path / "LTX-2.3-Distilled-Diffusers"
    shutil.copytree(tiny_ltx2_dir, folder)

    assert detect_variant(folder).distilled
    assert "the folder's name" in detect_variant(folder).evidence[-1]
    # A full model's card may mention its distilled sibling in the prose: only its tags count.
    (folder.parent / "ltx-2").mkdir()
    (folder.parent / "ltx-2" / "README.md").write_text("---\ntags:\n- video\n---\nSee also the distilled model.\n")
    assert not detect_variant(folder.parent / "ltx-2").distilled


def test_sorabox_ltx2_distilled_overrides_what_the_folder_says(tiny_ltx23_distilled_dir: Path):
    assert not detect_variant(tiny_ltx23_distilled_dir, distilled=False).distilled
    generator = LTX2Generator(tiny_ltx23_distilled_dir, LTX2Options.from_env({"SORABOX_LTX2_DISTILLED": "0"}))
    assert (generator.options.num_steps, generator.options.video_guidance) == (30, 3.0)


def test_an_ltx25_transformer_config_is_named_as_such(tiny_ltx2_dir: Path, tmp_path: Path):
    folder = tmp_path / "ltx25"
    shutil.copytree(tiny_ltx2_dir, folder)
    config_path = folder / "transformer" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(use_keyframes_abs_pos_embedding=True, ff_bias=False)
    config_path.write_text(json.dumps(config))

    assert detect_variant(folder).version == "2.5"


@pytest.mark.parametrize("shape", ["tiny_ltx2_dir", "tiny_ltx23_distilled_dir"])
def test_both_folder_shapes_load_and_make_a_clip_with_the_steps_and_guidance_they_are_trained_for(
    shape: str, request: pytest.FixtureRequest
):
    folder: Path = request.getfixturevalue(shape)
    generator = LTX2Generator(folder, LTX2Options(steps=None if "distilled" in shape else 2))
    steps: list[int] = []

    clip = generator.generate(
        GenerationRequest(kind="generate", prompt="a red ball", width=WIDTH, height=HEIGHT, seconds=0.4),
        lambda step, total, stage="": stage == "generating" and steps.append(step),
        CancelToken(),
    )

    distilled = "distilled" in shape
    assert clip.frames.shape[1:] == (HEIGHT, WIDTH, 3) and clip.audio.shape[-1] > 0
    assert clip.metadata["model_variant"] == ("LTX-2.3 distilled" if distilled else "LTX-2.0")
    assert steps == list(range(1, (8 if distilled else 2) + 1))
    assert clip.metadata["guidance"] == (1.0 if distilled else 3.0)
    assert clip.metadata["distilled"] is distilled
