import asyncio
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bots.cli import main
from bots.serve import run_service  # imported at collection, as the bug needed: before any test swapped sys.stdout
from core.settings import Settings
from model.media import probe

ROOT = Path(__file__).resolve().parents[2]


def test_generate_writes_a_playable_clip_and_says_where(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_BACKEND", "tests.support:ToneGenerator")
    out = tmp_path / "clips" / "ball.mp4"
    assert main(["generate", "a red ball", "-o", str(out), "--seconds", "2", "--size", "320x180"]) == 0
    printed = capsys.readouterr()
    assert f"wrote {out}" in printed.out and "backend tone" in printed.out
    assert "generating" in printed.err  # progress goes to stderr
    info = probe(out)
    assert (info.width, info.height, info.frame_count, info.audio_codec) == (320, 180, 48, "aac")
    assert not list(out.parent.glob(".*.part"))


def test_generate_refuses_bad_options_with_a_message(tmp_path, capsys):
    assert main(["generate", "x", "-o", str(tmp_path / "x.mp4"), "--seconds", "99"]) == 2
    assert "--seconds must be between 1 and 20" in capsys.readouterr().err


def test_unknown_backend_is_a_clear_error(tmp_path, capsys):
    assert main(["generate", "x", "-o", str(tmp_path / "x.mp4"), "--backend", "dreams"]) == 1
    assert "unknown backend 'dreams'" in capsys.readouterr().err


def test_bad_setting_names_the_variable(capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_WEB_PORT", "eighty")
    assert main(["jobs"]) == 2
    assert "SORABOX_WEB_PORT must be a whole number" in capsys.readouterr().err


def test_jobs_and_quota_on_an_empty_service(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    assert main(["jobs"]) == 0
    assert "no jobs waiting or running" in capsys.readouterr().out
    assert main(["quota", "ana", "--platform", "telegram"]) == 0
    assert "telegram:ana: 60 of 60 credits left" in capsys.readouterr().out


def test_the_operator_grants_credits_from_the_command_line_and_they_can_be_spent(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    assert main(["quota", "ana", "--platform", "telegram", "--grant", "25", "--note", "contest winner"]) == 0
    out = capsys.readouterr().out
    assert "granted 25 credits to ana for today" in out and "telegram:ana: 85 of 85 credits left" in out
    assert main(["quota", "ana", "--platform", "telegram"]) == 0
    assert "85 of 85 credits left" in capsys.readouterr().out  # kept: the ledger is in the database


@pytest.mark.parametrize("credits", ["0", "-5", "1000000"])
def test_a_grant_out_of_range_is_refused_and_changes_nothing(tmp_path, capsys, monkeypatch, credits):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    assert main(["quota", "ana", "--grant", credits]) == 2
    assert "a grant is 1 to 100000 credits" in capsys.readouterr().err
    assert main(["quota", "ana"]) == 0
    assert "60 of 60 credits left" in capsys.readouterr().out


def test_toml_settings_apply_under_the_environment(tmp_path, capsys, monkeypatch):
    config = tmp_path / "sorabox.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-toml"}"\ndaily_credits = 12\n')
    monkeypatch.delenv("SORABOX_DATA_DIR", raising=False)
    assert main(["--config", str(config), "quota", "bob"]) == 0
    assert "12 of 12 credits" in capsys.readouterr().out
    assert (tmp_path / "from-toml" / "sorabox.db").exists()


@pytest.mark.parametrize("command", [[], ["generate"], ["serve"], ["jobs"], ["quota"]])
def test_every_command_has_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "bots.cli", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0 and "usage: sorabox" in result.stdout


def test_serve_with_a_malformed_bot_token_names_the_variable_and_exits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SORABOX_WEB_PORT", "0")
    monkeypatch.setenv("SORABOX_TELEGRAM_TOKEN", "not-a-token")
    assert main(["serve"]) == 2
    assert "SORABOX_TELEGRAM_TOKEN must look like" in capsys.readouterr().err


def test_serve_with_a_bad_number_names_the_variable_and_exits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SORABOX_WEB_PORT", "0")
    monkeypatch.setenv("SORABOX_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("SORABOX_TELEGRAM_EDIT_INTERVAL", "soon")
    assert main(["serve"]) == 2
    assert "SORABOX_TELEGRAM_EDIT_INTERVAL must be a number, got 'soon'" in capsys.readouterr().err


def test_serve_with_a_backend_that_cannot_load_says_why_and_exits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SORABOX_WEB_PORT", "0")
    monkeypatch.setenv("SORABOX_BACKEND", "ltx2")
    monkeypatch.delenv("SORABOX_MODEL_DIR", raising=False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "needs SORABOX_MODEL_DIR" in err or "needs the [ltx2] extra" in err
    assert "Traceback" not in err


def test_serve_on_a_taken_port_says_so_in_one_line_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "SORABOX_WEB_PORT" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_failed_start_is_reported_even_when_stdout_and_stderr_are_closed(tmp_path, capfd, monkeypatch):
    """A harness or a detached terminal can leave the streams closed; the reason still reaches the process's stderr."""
    closed_out, closed_err = io.StringIO(), io.StringIO()
    closed_out.close()
    closed_err.close()
    monkeypatch.setattr(sys, "stdout", closed_out)
    monkeypatch.setattr(sys, "stderr", closed_err)
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SORABOX_BACKEND", "ltx2")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1])]) == 2
    err = capfd.readouterr().err
    assert "needs SORABOX_MODEL_DIR" in err or "needs the [ltx2] extra" in err


def test_serve_prints_its_address_to_the_stdout_of_the_moment_not_the_one_at_import(tmp_path, capsys):
    """The stream a default argument bound at import may be closed by the time serve runs."""
    settings = Settings.from_env({"SORABOX_DATA_DIR": str(tmp_path), "SORABOX_WEB_PORT": "0"})

    async def serve_briefly() -> int:
        stop = asyncio.Event()
        return await run_service(settings, stop, on_ready=lambda _address: stop.set())

    assert asyncio.run(serve_briefly()) == 0
    assert "sorabox is serving on http://127.0.0.1:" in capsys.readouterr().out


def test_settings_read_no_sorabox_toml_unless_one_is_named(tmp_path, monkeypatch):
    (tmp_path / "sorabox.toml").write_text('backend = "ltx2"\n')
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).backend == "procedural"
    assert Settings.from_env({"SORABOX_CONFIG": str(tmp_path / "sorabox.toml")}).backend == "ltx2"


def test_the_command_line_reads_the_sorabox_toml_in_the_working_directory(tmp_path, capsys, monkeypatch):
    (tmp_path / "sorabox.toml").write_text('web_port = "eighty"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SORABOX_CONFIG")
    assert main(["jobs"]) == 2
    assert "SORABOX_WEB_PORT must be a whole number" in capsys.readouterr().err
