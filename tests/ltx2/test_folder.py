"""Loading errors name what is missing: no folder, an incomplete download, another model's folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from model.generator import CancelToken, GenerationError, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options, ModelFolderError, check_model_folder

pytestmark = pytest.mark.ltx2


@pytest.fixture
def copy_of_tiny(tiny_ltx2_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ltx2"
    shutil.copytree(tiny_ltx2_dir, target)
    return target


def test_a_complete_folder_passes_the_checks(tiny_ltx2_dir: Path):
    assert check_model_folder(tiny_ltx2_dir).pipeline_class == "LTX2Pipeline"


def test_a_missing_folder_is_named(tmp_path: Path):
    with pytest.raises(ModelFolderError, match=r"nowhere does not exist.*SORABOX_MODEL_DIR"):
        LTX2Generator(tmp_path / "nowhere")


def test_a_folder_without_model_index_is_not_a_diffusers_model(tmp_path: Path):
    (tmp_path / "weights.safetensors").write_bytes(b"x")
    with pytest.raises(ModelFolderError, match=r"no model_index\.json"):
        LTX2Generator(tmp_path)


def test_another_models_folder_is_named_by_its_pipeline(copy_of_tiny: Path):
    index = json.loads((copy_of_tiny / "model_index.json").read_text())
    index["_class_name"] = "WanPipeline"
    (copy_of_tiny / "model_index.json").write_text(json.dumps(index))

    with pytest.raises(ModelFolderError, match="holds a WanPipeline model, not LTX-2"):
        LTX2Generator(copy_of_tiny)


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("transformer", "the `transformer/` folder is missing"),
        ("transformer/diffusion_pytorch_model.safetensors", "transformer/ has no weights file"),
        ("vae/config.json", "vae/config.json is missing"),
        ("scheduler/scheduler_config.json", "scheduler/scheduler_config.json is missing"),
        ("tokenizer/tokenizer.json", "tokenizer/ has none of tokenizer.json"),
    ],
)
def test_a_missing_part_of_the_download_is_named(copy_of_tiny: Path, remove: str, named: str):
    target = copy_of_tiny / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()

    with pytest.raises(ModelFolderError, match=named.replace("(", r"\(")):
        LTX2Generator(copy_of_tiny)


def test_a_missing_shard_of_a_sharded_download_is_named(copy_of_tiny: Path):
    folder = copy_of_tiny / "transformer"
    first = "diffusion_pytorch_model-00001-of-00002.safetensors"
    second = "diffusion_pytorch_model-00002-of-00002.safetensors"
    (folder / "diffusion_pytorch_model.safetensors").rename(folder / first)
    weight_map = {"proj_in.weight": first, "proj_out.weight": second}
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))

    with pytest.raises(ModelFolderError, match=r"transformer/diffusion_pytorch_model-00002-of-00002\.safetensors is"):
        LTX2Generator(copy_of_tiny)


def test_a_download_still_in_progress_is_named(copy_of_tiny: Path):
    partial = copy_of_tiny / ".cache" / "huggingface" / "download" / "transformer"
    partial.mkdir(parents=True)
    (partial / "abc123.incomplete").write_bytes(b"half")

    with pytest.raises(ModelFolderError, match=r"incomplete: .*abc123.incomplete is still a partial file"):
        LTX2Generator(copy_of_tiny)


def test_a_truncated_weights_file_fails_the_load_with_a_generation_error(copy_of_tiny: Path):
    weights = copy_of_tiny / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    generator = LTX2Generator(copy_of_tiny, LTX2Options(steps=1))

    with pytest.raises(GenerationError, match="could not be loaded"):
        generator.generate(
            GenerationRequest(kind="generate", prompt="a drum", width=64, height=64, seconds=0.4),
            lambda *args: None,
            CancelToken(),
        )
    assert not generator.loaded
