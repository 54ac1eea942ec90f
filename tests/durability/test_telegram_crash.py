"""A command handed over by Telegram survives a SIGKILL at any moment: after the restart it is one job and one clip."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.jobs.quotas import unbalanced_jobs
from storage.database import Database
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server

__all__ = ["no_real_network", "telegram_server"]

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def serve(data_dir: Path, server: FakeTelegram, log: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SORABOX_")}
    env.update(
        SORABOX_DATA_DIR=str(data_dir),
        SORABOX_CONFIG=str(data_dir / "absent.toml"),
        SORABOX_WEB_PORT="0",
        SORABOX_BACKEND="tests.support:ToneGenerator",
        SORABOX_TELEGRAM_TOKEN=server.token,
        SORABOX_TELEGRAM_BASE_URL=server.base_url,
        SORABOX_TELEGRAM_POLL_TIMEOUT="1",
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "bots.cli", "serve"]
    with log.open("a") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def polls_since(server: FakeTelegram, moment: float) -> int:
    return sum(1 for c in server.calls if c.method == "getUpdates" and c.at > moment)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kill_after", [0.0, 0.03, 0.3], ids=["at-once", "30ms", "300ms"])
async def test_a_kill_just_after_telegram_hands_over_a_command_loses_nothing_and_doubles_nothing(
    tmp_path: Path, telegram_server: FakeTelegram, kill_after: float
) -> None:
    server = telegram_server
    alice = server.add_user("Alice")
    group = server.add_group("Makers", [alice])
    log = tmp_path / "serve.log"
    service = serve(tmp_path, server, log)
    try:
        started = time.monotonic()
        await server.wait_for(lambda: polls_since(server, started) >= 1 or None, within=60)
        sent = time.monotonic()
        server.send_text(group, alice, "/sora a red ball bounces --seconds 1 --size 160x96")
        # The long poll that hands the update over is recorded as it answers: kill the bot right then.
        await server.wait_for(lambda: polls_since(server, sent) >= 1 or None, within=30)
        await asyncio.sleep(kill_after)
        service.send_signal(signal.SIGKILL)
        service.wait(10)

        restarted = time.monotonic()
        service = serve(tmp_path, server, log)
        # The clip may have been posted before the kill; either way the restarted bot must be up and polling.
        await server.wait_for(lambda: polls_since(server, restarted) >= 1 or None, within=60)
        await server.wait_for(lambda: [m for m in server.bot_messages(group) if "video" in m], within=60)
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0, log.read_text()[-3000:]
        # A killed bot cuts its open requests short: the fake sees those as dropped connections, as Telegram would.
        server.server_errors[:] = [e for e in server.server_errors if not isinstance(e, ConnectionResetError)]

    videos = [m for m in server.bot_messages(group) if "video" in m]
    assert len(videos) == 1
    db = Database(tmp_path / "sorabox.db")
    try:
        jobs = db.read_sync(lambda d: list(d.query("SELECT id, state FROM jobs")))
        assert [j["state"] for j in jobs] == ["done"]
        assert db.read_sync(unbalanced_jobs) == []
        unhandled = "SELECT count(*) FROM inbox WHERE handled_at IS NULL"
        assert db.read_sync(lambda d: d.execute(unhandled).fetchone()[0]) == 0
    finally:
        db.close()
