"""The operator's dry run: `sorabox model tiny-ltx2 DIR`, then `sorabox generate --backend ltx2`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from bots.cli import main
from model.media import probe

pytestmark = pytest.mark.ltx2


def _generate_a_drum_fill(out: str) -> list[str]:
    """`sorabox generate` as the README types it for the tiny folder: 1 s at 96x64."""
    return ["generate", "--backend", "ltx2", "a drummer plays a fast fill", "--size", "96x64", "--seconds", "1",
            "-o", out]  # fmt: skip


def test_the_tiny_folder_and_a_generate_through_the_cli_make_an_mp4_with_sound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    tiny, out = tmp_path / "tiny", tmp_path / "d.mp4"
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(tiny))
    monkeypatch.setenv("SORABOX_LTX2_STEPS", "2")

    assert main(["model", "tiny-ltx2", str(tiny)]) == 0
    assert (tiny / "model_index.json").is_file()
    code = main(["--data-dir", str(tmp_path / "data"), *_generate_a_drum_fill(str(out))])

    assert code == 0
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (96, 64, 25)
    assert info.audio_codec == "aac" and abs(info.audio_seconds - info.seconds) <= 2 / info.fps


def test_the_cli_names_a_missing_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(tmp_path / "not-downloaded"))

    code = main(
        ["--data-dir", str(tmp_path / "data"), "generate", "--backend", "ltx2", "a drum", "-o", str(tmp_path / "d.mp4")]
    )

    assert code != 0
    assert "not-downloaded does not exist" in capsys.readouterr().err


def test_the_done_when_commands_work_as_typed_the_tiny_folder_is_used_once_the_printed_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # `sorabox model tiny-ltx2 /tmp/tiny`, then the command it prints, then `sorabox generate --backend ltx2 ...`, in
    # a fresh checkout: no SORABOX_MODEL_DIR, no sorabox.toml yet. The dry run alone changes nothing (issue 21).
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SORABOX_MODEL_DIR", raising=False)
    monkeypatch.delenv("SORABOX_CONFIG", raising=False)
    monkeypatch.setenv("SORABOX_LTX2_STEPS", "2")

    assert main(["model", "tiny-ltx2", "tiny"]) == 0
    assert not (tmp_path / "sorabox.toml").exists()
    printed = capsys.readouterr().out
    assert f"to use it: sorabox model use {tmp_path / 'tiny'}\n" in printed
    command = printed.split("to use it: sorabox ", 1)[1].split()
    assert main(command) == 0
    assert f'model_dir = "{tmp_path / "tiny"}"' in (tmp_path / "sorabox.toml").read_text()
    code = main(_generate_a_drum_fill("d.mp4"))

    assert code == 0, capsys.readouterr().err
    info = probe(tmp_path / "d.mp4")
    assert info.audio_codec == "aac" and info.frame_count == 25


def test_tiny_ltx2_with_use_records_the_folder_and_the_named_config_is_in_the_printed_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SORABOX_CONFIG", raising=False)
    config = tmp_path / "elsewhere.toml"

    assert main(["--config", str(config), "model", "tiny-ltx2", "a"]) == 0
    assert not config.exists()
    assert f"to use it: sorabox --config {config} model use {tmp_path / 'a'}" in capsys.readouterr().out
    assert main(["--config", str(config), "model", "tiny-ltx2", "b", "--use"]) == 0
    assert config.read_text() == f'model_dir = "{tmp_path / "b"}"\n'
    assert not (tmp_path / "sorabox.toml").exists()


def test_a_dry_run_does_not_replace_the_model_the_operator_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_ltx2_dir: Path
):
    config = tmp_path / "sorabox.toml"
    config.write_text(f'model_dir = "{tiny_ltx2_dir}"\n')
    monkeypatch.setenv("SORABOX_CONFIG", str(config))
    monkeypatch.delenv("SORABOX_MODEL_DIR", raising=False)

    assert main(["model", "tiny-ltx2", str(tmp_path / "dry-run")]) == 0

    assert config.read_text() == f'model_dir = "{tiny_ltx2_dir}"\n'
    assert f"sorabox model use {tmp_path / 'dry-run'}" in capsys.readouterr().out
    assert main(["model", "use", str(tmp_path / "dry-run")]) == 0
    assert config.read_text() == f'model_dir = "{tmp_path / "dry-run"}"\n'
    assert "tiny random model" in capsys.readouterr().out


def test_model_use_refuses_a_folder_that_is_not_ltx2_and_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "sorabox.toml"
    monkeypatch.setenv("SORABOX_CONFIG", str(config))
    (tmp_path / "half-downloaded").mkdir()

    assert main(["model", "use", str(tmp_path / "half-downloaded")]) == 2

    assert "has no model_index.json" in capsys.readouterr().err
    assert not config.exists()


def test_a_card_too_small_for_every_plan_is_refused_before_loading_with_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_ltx2_dir: Path
):
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(tiny_ltx2_dir))
    monkeypatch.setenv("SORABOX_LTX2_MEMORY_GB", "0.01")

    code = main(
        ["--data-dir", str(tmp_path / "data"), "generate", "--backend", "ltx2", "a drum", "-o", str(tmp_path / "d.mp4")]
    )

    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not (tmp_path / "d.mp4").exists()
    assert len(err) == 1 and err[0].startswith("sorabox: the LTX-2 model does not fit on ")
    assert "(0.0 GB free)" in err[0] and "SORABOX_LTX2_MEMORY_GB" in err[0]
