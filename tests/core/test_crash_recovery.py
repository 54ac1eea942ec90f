"""The service as a real process: killed with SIGKILL mid-job, stopped with SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bots.composition import NoExecutor, build_core
from core.jobs.quotas import unbalanced_jobs
from core.settings import Settings
from storage.database import Database, one
from tests.support import actor, place

ROOT = Path(__file__).resolve().parents[2]


def service_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SORABOX_")}
    env.update(
        SORABOX_DATA_DIR=str(data_dir),
        SORABOX_BACKEND="tests.support:SlowToneGenerator",
        SORABOX_WEB_PORT="0",
        SORABOX_CONFIG=str(data_dir / "absent.toml"),
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def start_service(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "serve"],
        cwd=ROOT,
        env=service_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def admit_job(data_dir: Path, prompt: str) -> str:
    """Queue a job the way an adapter would, from another process, before the service starts."""
    settings = Settings.from_env({"SORABOX_DATA_DIR": str(data_dir), "SORABOX_CONFIG": str(data_dir / "absent.toml")})

    async def main() -> str:
        parts = build_core(settings, executor=NoExecutor())  # type: ignore[arg-type]
        try:
            reply = await parts.core.handle_text(actor(), place(), f"sora {prompt} --seconds 1")
            assert reply.ok, reply.text
            return reply.job_id
        finally:
            await parts.close()

    return asyncio.run(main())


def job_state(db: Database, job_id: str) -> str:
    return db.read_sync(lambda d: one(d, "SELECT state FROM jobs WHERE id = ?", [job_id])["state"])


def wait_until(predicate, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"the service exited early:\n{process.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_sigkill_mid_job_then_restart_completes_the_job_once(tmp_path):
    job_id = admit_job(tmp_path, "survives a crash")
    db = Database(tmp_path / "sorabox.db")
    try:
        service = start_service(tmp_path)
        wait_until(lambda: job_state(db, job_id) == "running", 60, service)
        time.sleep(1.0)  # mid-generation: SlowToneGenerator takes 5 s
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        assert job_state(db, job_id) == "running"  # the process died without a word

        service = start_service(tmp_path)
        wait_until(lambda: job_state(db, job_id) == "done", 60, service)
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0

        clips = db.read_sync(lambda d: list(d.query("SELECT id FROM clips WHERE job_id = ?", [job_id])))
        deliveries = db.read_sync(lambda d: list(d.query("SELECT state FROM deliveries WHERE job_id = ?", [job_id])))
        attempts = db.read_sync(lambda d: one(d, "SELECT attempts FROM jobs WHERE id = ?", [job_id])["attempts"])
        assert len(clips) == 1
        assert deliveries == [{"state": "pending"}]
        assert attempts == 2
        assert db.read_sync(unbalanced_jobs) == []
        assert list((tmp_path / "media").rglob(".tmp-*")) == []
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT (Ctrl-C)"])
def test_a_stop_signal_mid_job_exits_cleanly_and_requeues_the_job(tmp_path, stop_signal):
    job_id = admit_job(tmp_path, "interrupted politely")
    db = Database(tmp_path / "sorabox.db")
    try:
        service = start_service(tmp_path)
        wait_until(lambda: job_state(db, job_id) == "running", 60, service)
        service.send_signal(stop_signal)
        assert service.wait(30) == 0
        output = service.stdout.read()
        assert "sorabox is serving on http://127.0.0.1:" in output
        assert "running jobs go back to the queue" in output
        assert job_state(db, job_id) == "queued"
        assert db.read_sync(unbalanced_jobs) == []
    finally:
        db.close()
