"""The operator's dry run: `sorabox model tiny-ltx2 DIR`, then `sorabox generate --backend ltx2`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")

from bots.cli import main
from model.media import probe

pytestmark = pytest.mark.ltx2


def test_the_tiny_folder_and_a_generate_through_the_cli_make_an_mp4_with_sound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    tiny, out = tmp_path / "tiny", tmp_path / "d.mp4"
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(tiny))
    monkeypatch.setenv("SORABOX_LTX2_STEPS", "2")

    assert main(["model", "tiny-ltx2", str(tiny)]) == 0
    assert (tiny / "model_index.json").is_file()
    code = main(["--data-dir", str(tmp_path / "data"), "generate", "--backend", "ltx2", "a drummer plays a fast fill",
                 "--size", "96x64", "--seconds", "1", "-o", str(out)])

    assert code == 0
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (96, 64, 25)
    assert info.audio_codec == "aac" and abs(info.audio_seconds - info.seconds) <= 2 / info.fps


def test_the_cli_names_a_missing_model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("SORABOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SORABOX_MODEL_DIR", str(tmp_path / "not-downloaded"))

    code = main(["--data-dir", str(tmp_path / "data"), "generate", "--backend", "ltx2", "a drum", "-o",
                 str(tmp_path / "d.mp4")])

    assert code != 0
    assert "not-downloaded does not exist" in capsys.readouterr().err
