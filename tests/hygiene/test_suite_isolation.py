"""The suite itself: it never reads the operator's files or shell settings, and a hung test fails, not stalls."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pytest(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_tests_pass_beside_an_operators_sorabox_toml_naming_a_loadable_model(tmp_path: Path) -> None:
    """The checkout a new operator has after the README's dry run: a sorabox.toml that names the tiny model,
    and SORABOX_* variables in the shell. The serve tests once loaded that model and served for 22 minutes."""
    pytest.importorskip("diffusers")
    from model.ltx2.tiny import write_tiny_ltx2

    model = tmp_path / "tiny"
    write_tiny_ltx2(model, seed=0)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "sorabox.toml").write_text(f'model_dir = "{model}"\nbackend = "ltx2"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SORABOX_")}
    env.update(SORABOX_BACKEND="ltx2", SORABOX_MODEL_DIR=str(model), PYTHONPATH=str(ROOT))

    result = _pytest(["-q", "-x", str(ROOT / "tests" / "cli")], cwd=checkout, env=env, timeout=540)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_the_suite_has_a_default_time_limit_per_test(pytestconfig: pytest.Config) -> None:
    limit = float(pytestconfig.getini("timeout"))
    assert 0 < limit <= 30, f"a unit test's limit should be a few seconds, got {limit}"


@pytest.mark.timeout(120)
def test_a_hung_test_fails_within_its_time_limit_with_a_stack_trace(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(
        textwrap.dedent(
            """
            import threading

            def wait_for_a_reply_that_never_comes():
                threading.Event().wait()

            def test_hangs():
                wait_for_a_reply_that_never_comes()

            def test_after_the_hang_still_runs():
                assert True
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The project's own pytest settings, with the limit shortened so this check stays quick.
    args = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "timeout=2", str(tmp_path)]
    started = time.monotonic()
    result = _pytest(args, cwd=tmp_path, env=env, timeout=100)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert "Timeout" in result.stdout  # pytest-timeout's banner
    assert "wait_for_a_reply_that_never_comes" in result.stdout  # the stack shows where it hung
    assert "1 failed, 1 passed" in result.stdout
    assert elapsed < 60
