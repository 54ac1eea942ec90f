"""`sorabox serve` as a separate process pointed at the loopback test servers, for tests that SIGKILL it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def discord_env(api_base: str, gateway_url: str, token: str) -> dict[str, str]:
    return {
        "SORABOX_DISCORD_TOKEN": token,
        "SORABOX_DISCORD_API_BASE": api_base,
        "SORABOX_DISCORD_GATEWAY_URL": gateway_url,
    }


def telegram_env(base_url: str, token: str) -> dict[str, str]:
    return {
        "SORABOX_TELEGRAM_TOKEN": token,
        "SORABOX_TELEGRAM_BASE_URL": base_url,
        "SORABOX_TELEGRAM_POLL_TIMEOUT": "1",
    }


def serve(data_dir: Path, log: Path, platforms: dict[str, str], *, web_port: int = 0) -> subprocess.Popen[str]:
    """Start `sorabox serve` on `data_dir` with the tone backend; its output goes to `log` (appended)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SORABOX_")}
    env.update(
        SORABOX_DATA_DIR=str(data_dir),
        SORABOX_CONFIG=str(data_dir / "absent.toml"),
        SORABOX_WEB_PORT=str(web_port),
        SORABOX_BACKEND="tests.support:ToneGenerator",
        PYTHONPATH=str(ROOT),
    )
    env.update(platforms)
    command = [sys.executable, "-m", "bots.cli", "serve"]
    with log.open("a") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def tail(log: Path, chars: int = 3000) -> str:
    """The end of a service's log, for an assertion's message."""
    return log.read_text()[-chars:] if log.exists() else ""
