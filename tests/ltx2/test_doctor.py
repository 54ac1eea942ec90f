"""`sorabox doctor` through the real command line, on the CPU: a complete tiny folder passes, a broken one names the
missing file and its fix and exits non-zero."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("diffusers")

import torch

from bots.cli import main
from model.ltx2.memory import ClipShape
from model.ltx2.sizes import reference_sizes
from model.ltx2.speed_estimate import seconds_per_clip

pytestmark = pytest.mark.ltx2
ROOT = Path(__file__).resolve().parents[2]


def _doctor(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SORABOX_CONFIG": str(tmp_path / "none.toml"),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", "doctor", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(150)
def test_doctor_passes_a_complete_tiny_folder_and_reports_gpu_weights_plan_codecs_and_extras(
    tiny_ltx23_distilled_dir: Path, tmp_path: Path
):
    done = _doctor(tmp_path, "--backend", "ltx2", "--model-dir", str(tiny_ltx23_distilled_dir))

    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    assert f"weights    {tiny_ltx23_distilled_dir}: complete, LTX-2.3 distilled (the tiny random model" in report
    if torch.cuda.is_available():  # the device check runs this file on a GPU too
        assert ", driver " in report and "plan       plan gpu" in report
    else:
        assert "gpu        none: no CUDA GPU" in report
        assert "no GPU: runs on the CPU (the tiny model); a real LTX-2.3 distilled needs a GPU with at least" in report
    assert "codecs     libx264 and aac encoders present" in report
    assert "[ltx2]     installed (diffusers 0.42" in report
    assert "espeak-ng" in report and report.endswith("nothing blocks serving\n")


def test_doctor_names_the_missing_file_of_a_broken_folder_and_its_fix_and_exits_non_zero(
    tiny_ltx2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    broken = tmp_path / "half-downloaded"
    shutil.copytree(tiny_ltx2_dir, broken)
    (broken / "vae" / "config.json").unlink()
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(broken))

    code = main(["doctor", "--backend", "ltx2"])

    report = capsys.readouterr().out
    assert code == 1
    assert f"✗ weights    the LTX-2 model folder {broken} is incomplete: vae/config.json is missing" in report
    assert f"fix (weights): finish the download into {broken}" in report
    assert report.endswith("1 problem blocks serving\n")


def test_doctor_refuses_a_budget_too_small_for_the_plan_in_one_line_with_the_variable(
    tiny_ltx2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SORABOX_MODEL_DIR", raising=False)
    monkeypatch.setenv("SORABOX_LTX2_MEMORY_GB", "24")

    code = main(["doctor", "--backend", "ltx2"])

    report = capsys.readouterr().out
    assert code == 1
    assert "no model folder configured" in report and "sorabox model use DIR" in report
    assert "✗ plan       the LTX-2 model does not fit on a card with 24 GB" in report
    assert "SORABOX_LTX2_MAX_SECONDS" in report


def test_with_the_procedural_backend_a_missing_model_folder_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SORABOX_MODEL_DIR", raising=False)

    assert main(["doctor", "--backend", "procedural"]) == 0
    assert "nothing blocks serving" in capsys.readouterr().out


def test_the_seconds_estimate_scales_with_the_card_and_the_plan():
    sizes, clip = reference_sizes("2.0"), ClipShape(768, 512, 121, guidance=False)
    h200 = seconds_per_clip(sizes, clip, 8, "gpu", "NVIDIA H200")
    rtx = seconds_per_clip(sizes, clip, 8, "group-offload", "NVIDIA GeForce RTX 4090")

    assert h200 is not None and 3.5 < h200 < 5.0  # 8 x 0.5 s eager forwards + decode (MODELS.md)
    assert rtx is not None and rtx > 4 * h200
    assert seconds_per_clip(sizes, clip, 8, "gpu", "Some Unknown Card") is None


def _full_size_configs(folder: Path) -> None:
    """Give a tiny folder the full-size LTX-2.3 transformer and Gemma-3-12B configs (the weights stay tiny): what
    doctor reads before loading is the configs, so this is what it sees in a real download."""
    import json

    from model.ltx2.sizes import GEMMA3_12B, LTX23_TRANSFORMER

    transformer = folder / "transformer" / "config.json"
    config = json.loads(transformer.read_text())
    config.update(
        LTX23_TRANSFORMER,
        num_attention_heads=32,
        attention_head_dim=128,
        cross_attention_dim=4096,
        audio_num_attention_heads=32,
        audio_attention_head_dim=64,
        audio_cross_attention_dim=2048,
        num_layers=48,
        in_channels=128,
        out_channels=128,
        audio_in_channels=128,
        audio_out_channels=128,
        caption_channels=3840,
    )
    transformer.write_text(json.dumps(config))
    text_encoder = folder / "text_encoder" / "config.json"
    config = json.loads(text_encoder.read_text())
    config["text_config"].update(GEMMA3_12B["text_config"])
    config["vision_config"].update(GEMMA3_12B["vision_config"])
    text_encoder.write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("card_gb", "code", "line"),
    [
        # The VAEs and connectors stay tiny here (their sizes come from the weights files), so the peaks are about
        # 9 GB below the real model's (README's table).
        (16, 1, "✗ plan       the LTX-2 model does not fit on a card with 16 GB"),
        (24, 0, "✓ plan       plan group-offload with VAE tiling: about 21.3 GB at its peak"),
        (48, 0, "✓ plan       plan fp8 with VAE tiling: about 38.3 GB at its peak"),
        (80, 0, "✓ plan       plan text-offload with VAE tiling: about 56.8 GB at its peak"),
    ],
)
def test_doctor_plans_from_a_full_size_folders_configs(
    tiny_ltx2_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    card_gb: int,
    code: int,
    line: str,
):
    folder = tmp_path / "LTX-2.3-Diffusers"
    shutil.copytree(tiny_ltx2_dir, folder)
    (folder / "sorabox-tiny-model.txt").unlink()
    _full_size_configs(folder)
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_LTX2_MEMORY_GB", str(card_gb))

    assert main(["doctor", "--backend", "ltx2", "--model-dir", str(folder)]) == code

    report = capsys.readouterr().out
    assert "LTX-2.3; transformer 18.99 B, text encoder 12.20 B" in report
    assert line in report
