"""Generation on a local Ray Serve cluster (127.0.0.1, 2 CPUs), driven through the core like `sorabox serve` does.

One Ray head serves the whole module; each test builds its own core and RayExecutor (a bridge process) on it.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bots.serve import run_service
from core.events import JobCancelled, JobDone, JobFailed, JobProgress, JobQueued, JobStarted
from core.execution.ray import RayExecutor
from core.execution.ray_wire import RayConfig
from core.service import Sorabox
from model.media import decode_clip, probe
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server
from tests.ray.cluster import LocalCluster, free_port, ray_environment
from tests.support import actor, make_settings, place, running_core, wait_for
from tests.web.helpers import open_thread, served_console, sign_in_with_link

pytest.importorskip("ray.serve", reason="the [ray] extra is not installed")

pytestmark = pytest.mark.ray
__all__ = ["no_real_network", "telegram_server"]  # fixtures used here

SLOW_TONE = "tests.ray.generators:SlowTone"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The module's Ray head; not started here, so the first test can see the cluster unreachable."""
    saved = dict(os.environ)
    # The bridge processes inherit this: loopback, no token (see tests/ray/cluster.py).
    os.environ.update({k: v for k, v in ray_environment().items() if k.startswith("RAY_")})
    head = LocalCluster(tmp_path_factory.mktemp("ray") / "head.log")
    try:
        yield head
    finally:
        head.stop()
        os.environ.clear()
        os.environ.update(saved)


def start_or_skip(cluster: LocalCluster) -> None:
    """Start the head; where Ray cannot start on this machine at all, skip with Ray's own words."""
    try:
        cluster.start()
    except RuntimeError as exc:
        tail = cluster.log_path.read_text(errors="replace")[-600:]
        pytest.skip(f"Ray cannot start on this machine: {exc}\n{tail}")


@pytest.fixture
def running_cluster(cluster: LocalCluster) -> LocalCluster:
    if not cluster.running:
        start_or_skip(cluster)
    return cluster


def config_for(cluster: LocalCluster, backend: str = SLOW_TONE, app: str = "test-slow-tone", **kw: object) -> RayConfig:
    # Quarter-CPU replicas: the apps of this module fit the 2-CPU head side by side.
    options: dict[str, object] = {"replicas": 2, "cpus_per_replica": 0.25, "retry_seconds": 1.0, **kw}
    return RayConfig(address=cluster.address, backend=backend, app_name=app, **options)  # type: ignore[arg-type]


@asynccontextmanager
async def ray_core(tmp_path: Path, config: RayConfig, **overrides: object) -> AsyncIterator[Sorabox]:
    """tests.support.running_core with a RayExecutor instead of the local worker."""
    async with running_core(tmp_path, executor=RayExecutor(config), **overrides) as core:
        yield core


def executor_of(core: Sorabox) -> RayExecutor:
    assert isinstance(core.executor, RayExecutor)
    return core.executor


async def until(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def replica_pid_of(executor: RayExecutor, prompt: str, attempt: int = 1) -> int:
    """The process id of the replica running the `attempt`-th try of the job with this prompt."""
    await until(lambda: len([a for a in executor.attempts() if a.prompt == prompt]) >= attempt, 30, f"try {attempt}")
    return [a for a in executor.attempts() if a.prompt == prompt][attempt - 1].pid


def assert_plays(core: Sorabox, clip_path: Path, width: int, height: int) -> None:
    decoded = decode_clip(clip_path)
    assert (decoded.width, decoded.height) == (width, height)
    assert decoded.frames.shape[0] > 0 and decoded.audio.shape[1] > 0


async def test_jobs_wait_while_the_cluster_is_unreachable_and_run_once_it_is_up(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    if cluster.running:  # another selection started it: take it down to see the unreachable start
        cluster.stop()
    async with ray_core(tmp_path, config_for(cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        reply = await core.handle_text(actor("ana"), place(), "sora a red ball --size 160x96 --seconds 1")
        assert reply.ok, reply.text
        await until(lambda: executor.error is not None, 20, "the executor to give up on the cluster")
        assert f"cannot reach the Ray cluster at {cluster.address}" in (executor.error or "")
        assert executor.capacity == 0
        await asyncio.sleep(1.5)  # more than one scheduler re-check of the capacity
        assert (await core.job(reply.job_id)).state == "queued"

        await asyncio.to_thread(start_or_skip, cluster)  # the core keeps running meanwhile
        done = await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id, 120)
        assert executor.error is None and executor.capacity == 2
        clip = await core.clip(done.clip_id)  # type: ignore[attr-defined]
        assert clip.backend == "slow-tone"
        assert_plays(core, core.media_path(clip), 160, 96)


async def test_a_procedural_job_reaches_a_replica_and_comes_back_as_a_clip_with_progress(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    config = config_for(running_cluster, backend="procedural", app="test-procedural")
    async with ray_core(tmp_path, config) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        await until(lambda: executor.capacity == 2, 120, "two procedural replicas")
        reply = await core.handle_text(actor("ana"), place(), "sora a blue ball bounces --size 160x96 --seconds 1")
        progress: list[tuple[float, JobProgress]] = []

        def record(event: object) -> bool:
            if isinstance(event, JobProgress) and event.stage != "encoding":
                progress.append((time.time(), event))
            return isinstance(event, JobDone | JobFailed) and event.job_id == reply.job_id  # type: ignore[attr-defined]

        done = await wait_for(subscription, record, 60)
        assert isinstance(done, JobDone)
        clip = await core.clip(done.clip_id)
        assert clip.backend == "procedural"
        assert_plays(core, core.media_path(clip), 160, 96)
        [attempt] = [a for a in executor.attempts() if a.prompt == "a blue ball bounces"]
        assert attempt.outcome == "done"
        steps = [event.step for _, event in progress]
        assert steps == sorted(steps) and steps[-1] == progress[-1][1].total
        # The replica's first step reaches the core well within a second of the replica starting the job.
        assert progress[0][0] - attempt.started_at < 1.0


async def test_sorabox_serve_with_the_ray_executor_answers_sora_from_the_web_console_and_telegram(
    running_cluster: LocalCluster, tmp_path: Path, telegram_server: FakeTelegram
) -> None:
    """`SORABOX_EXECUTOR=ray sorabox serve`: the settings alone choose the cluster; prompts typed in the console
    and in a Telegram group come back as clips made on the replicas."""
    settings = make_settings(
        tmp_path,
        executor="ray",
        ray_address=running_cluster.address,
        ray_app="test-procedural",
        web_port=0,
        telegram_token=telegram_server.token,
        telegram_base_url=telegram_server.base_url,
        telegram_poll_timeout=1,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    out = io.StringIO()
    addresses: list[str] = []
    service = asyncio.create_task(
        run_service(settings, stop, out, on_ready=lambda address: (addresses.append(address), ready.set()))
    )
    try:
        await asyncio.wait_for(ready.wait(), 60)
        link = re.search(r"one-time link: (\S+)", out.getvalue())
        assert link, out.getvalue()
        jar = aiohttp.CookieJar(unsafe=True)  # the console is on 127.0.0.1
        async with aiohttp.ClientSession(base_url=addresses[0], cookie_jar=jar) as browser:
            await sign_in_with_link(browser, link.group(1))  # type: ignore[arg-type]
            thread_id, csrf = await open_thread(browser)  # type: ignore[arg-type]
            sent = await browser.post(
                f"/api/threads/{thread_id}/messages",
                json={"text": "sora a green ball rolls --size 160x96 --seconds 1"},
                headers={"X-CSRF-Token": csrf},
            )
            body = await sent.json()
            assert body["ok"], body

            async def clip_message() -> dict[str, object] | None:
                thread = await (await browser.get(f"/api/threads/{thread_id}")).json()
                return next((m for m in thread["messages"] if m["kind"] == "clip"), None)

            deadline = time.monotonic() + 60
            while (message := await clip_message()) is None:
                assert time.monotonic() < deadline, "no clip in the thread after 60 s"
                await asyncio.sleep(0.2)
            assert message["job_id"] == body["job_id"]
            media = await browser.get(str(message["media_url"]))
            assert media.status == 200 and media.headers["Content-Type"] == "video/mp4"
            info = probe(await media.read())
            assert (info.width, info.height) == (160, 96) and info.audio_codec == "aac"

        alice = telegram_server.add_user("Alice")
        group = telegram_server.add_group("Makers", [alice])
        telegram_server.send_text(group, alice, "/sora a red cube slides --size 160x96 --seconds 1")
        videos = await telegram_server.wait_for(
            lambda: [m for m in telegram_server.bot_messages(group) if "video" in m], within=60
        )
        info = probe(telegram_server.file_bytes(videos[0]["video"]["file_id"]))
        assert (info.width, info.height, info.video_codec, info.audio_codec) == (160, 96, "h264", "aac")
        assert "backend: procedural" in out.getvalue()
    finally:
        stop.set()
        await asyncio.wait_for(service, 60)


async def test_cancel_stops_the_replica_between_steps(running_cluster: LocalCluster, tmp_path: Path) -> None:
    async with ray_core(tmp_path, config_for(running_cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        await until(lambda: executor.capacity == 2, 60, "two replicas")
        ana = actor("ana")
        reply = await core.handle_text(ana, place(), "sora a slow sunset --size 160x96 --seconds 1")
        await wait_for(
            subscription, lambda e: isinstance(e, JobProgress) and e.job_id == reply.job_id and e.step >= 2, 30
        )
        cancelled_at = time.time()
        assert (await core.handle_text(ana, place(), f"cancel {reply.job_id}")).ok
        event = await wait_for(subscription, lambda e: isinstance(e, JobCancelled) and e.job_id == reply.job_id, 20)
        assert "cancelled by Ana" in event.reason  # type: ignore[attr-defined]
        [attempt] = [a for a in executor.attempts() if a.prompt == "a slow sunset"]
        assert attempt.outcome == "cancelled"
        # Ten steps of 0.15 s: stopping between steps ends the work well before the clip would be done.
        assert attempt.finished_at - cancelled_at < 1.0
        assert attempt.finished_at - attempt.started_at < 10 * 0.15
        assert (await core.quota_status(ana, place())).used == 0


async def test_two_users_jobs_interleave_fairly_across_two_replicas(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    async with ray_core(tmp_path, config_for(running_cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        # Queued before the executor reaches the cluster, so the whole backlog is the scheduler's to order.
        prompts = {"ana": [f"ana clip {i}" for i in range(3)], "bo": [f"bo clip {i}" for i in range(3)]}
        job_of: dict[str, str] = {}
        for name in ("ana", "bo"):
            for prompt in prompts[name]:
                reply = await core.handle_text(actor(name), place(), f"sora {prompt} --size 160x96 --seconds 1")
                assert reply.ok, reply.text
                job_of[reply.job_id] = prompt  # type: ignore[index]
        started: list[str] = []
        done: set[str] = set()

        def record(event: object) -> bool:
            if isinstance(event, JobStarted):
                started.append(job_of[event.job_id])
            if isinstance(event, JobDone):
                done.add(event.job_id)
            return len(done) == 6

        await wait_for(subscription, record, 90)
        assert started == ["ana clip 0", "bo clip 0", "ana clip 1", "bo clip 1", "ana clip 2", "bo clip 2"]
        # On the replicas too: each round of two started before any job of the next round.
        attempts = sorted((a for a in executor.attempts() if a.prompt in job_of.values()), key=lambda a: a.started_at)
        rounds = [{a.prompt for a in attempts[i : i + 2]} for i in (0, 2, 4)]
        assert rounds == [{"ana clip 0", "bo clip 0"}, {"ana clip 1", "bo clip 1"}, {"ana clip 2", "bo clip 2"}]
        assert len({a.pid for a in attempts}) == 2


def sorabox_cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The `sorabox` command in its own process: a Ray driver must not live in the test process."""
    env = {**ray_environment(), "SORABOX_DATA_DIR": str(tmp_path), "SORABOX_CONFIG": str(tmp_path / "none.toml")}
    command = [sys.executable, "-m", "bots.cli", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_ray_status_says_clearly_when_the_cluster_cannot_be_reached(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = sorabox_cli(tmp_path, "ray", "status", "--address", address)
    assert result.returncode == 2
    assert f"cannot reach the Ray cluster at {address}" in result.stderr


def test_ray_deploy_starts_the_replicas_and_ray_status_lists_them(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    deploy = sorabox_cli(
        tmp_path,
        *("ray", "deploy", "--address", running_cluster.address, "--app", "test-cli", "--backend", SLOW_TONE),
        *("--replicas", "1", "--replica-cpus", "0.25"),
    )
    assert deploy.returncode == 0, deploy.stderr
    status = sorabox_cli(tmp_path, "ray", "status", "--address", running_cluster.address, "--app", "test-cli")
    assert status.returncode == 0, status.stderr
    assert "cluster: 1 node(s), 2 CPU(s), 0 GPU(s)" in status.stdout
    assert "application 'test-cli': RUNNING; replicas: 1 RUNNING" in status.stdout


async def test_a_replica_killed_mid_job_is_survived_by_retrying_on_the_other(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    async with ray_core(tmp_path, config_for(running_cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        await until(lambda: executor.capacity == 2, 60, "two replicas")
        reply = await core.handle_text(actor("ana"), place(), "sora a doomed kite --size 160x96 --seconds 1")
        first = await replica_pid_of(executor, "a doomed kite")
        await wait_for(subscription, lambda e: isinstance(e, JobProgress) and e.job_id == reply.job_id, 20)
        os.kill(first, signal.SIGKILL)
        done = await wait_for(subscription, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id)
        assert isinstance(done, JobDone), done
        tries = [a for a in executor.attempts() if a.prompt == "a doomed kite"]
        assert len(tries) == 2 and tries[1].pid != first and tries[1].outcome == "done"
        assert_plays(core, core.media_path(await core.clip(done.clip_id)), 160, 96)


async def test_a_job_whose_replica_dies_twice_fails_clearly_and_is_refunded(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    async with ray_core(tmp_path, config_for(running_cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        # The last test may have left a replica restarting.
        await until(lambda: executor.capacity == 2, 60, "two replicas")
        ana = actor("ana")
        reply = await core.handle_text(ana, place(), "sora an unlucky owl --size 160x96 --seconds 1")
        os.kill(await replica_pid_of(executor, "an unlucky owl", 1), signal.SIGKILL)
        os.kill(await replica_pid_of(executor, "an unlucky owl", 2), signal.SIGKILL)
        failed = await wait_for(subscription, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id)
        assert isinstance(failed, JobFailed), failed
        assert "retried on" in failed.reason and "refunded" in failed.reason
        assert (await core.quota_status(ana, place())).used == 0


async def test_the_tiny_ltx2_folder_makes_a_clip_on_a_replica(
    running_cluster: LocalCluster, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("diffusers", reason="the [ltx2] extra is not installed")
    from model.ltx2.tiny import write_tiny_ltx2

    folder = tmp_path_factory.mktemp("tiny-ltx2")
    await asyncio.to_thread(write_tiny_ltx2, folder, 0)
    config = replace(
        config_for(running_cluster, backend="ltx2", app="test-ltx2", replicas=1),
        model_dir=str(folder),
        model_environ={"SORABOX_LTX2_STEPS": "2"},
    )
    async with ray_core(tmp_path, config) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        await until(lambda: executor.capacity == 1, 120, "an LTX-2 replica")
        reply = await core.handle_text(actor("ana"), place(), "sora a lighthouse at dusk --size 96x64 --seconds 1")
        done = await wait_for(subscription, lambda e: isinstance(e, JobDone | JobFailed) and e.job_id == reply.job_id)
        assert isinstance(done, JobDone), done
        clip = await core.clip(done.clip_id)
        assert clip.backend == executor.backend != "procedural"
        assert_plays(core, core.media_path(clip), 96, 64)


async def test_losing_the_cluster_mid_job_puts_the_job_back_in_the_queue(
    running_cluster: LocalCluster, tmp_path: Path
) -> None:
    """Last in the module: it stops the shared head."""
    async with ray_core(tmp_path, config_for(running_cluster)) as core:
        executor = executor_of(core)
        subscription = core.bus.subscribe()
        await until(lambda: executor.capacity == 2, 60, "two replicas")
        ana = actor("ana")
        reply = await core.handle_text(ana, place(), "sora a storm rolls in --size 160x96 --seconds 1")
        await wait_for(subscription, lambda e: isinstance(e, JobProgress) and e.job_id == reply.job_id, 30)
        await asyncio.to_thread(running_cluster.stop)
        await wait_for(subscription, lambda e: isinstance(e, JobQueued) and e.job_id == reply.job_id, 30)
        # Until the bridge reports the cluster gone, the scheduler may start the job again and get it back at once.
        await until(lambda: executor.error is not None, 20, "the executor to report the lost cluster")
        for _ in range(100):  # the last bounce's requeue is written a moment after the executor gives up
            job = await core.job(reply.job_id)
            if job.state == "queued":
                break
            await asyncio.sleep(0.05)
        assert job.state == "queued"
        assert (await core.quota_status(ana, place())).used == job.cost  # still reserved, not refunded
        assert executor.capacity == 0
        await asyncio.sleep(1.5)
        assert (await core.job(reply.job_id)).state == "queued"


async def test_healthz_answers_503_and_metrics_say_the_executor_is_down_while_the_cluster_is_unreachable(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there: the bridge gives up within a second
    executor = RayExecutor(RayConfig(address=address, backend=SLOW_TONE, retry_seconds=1.0))
    async with served_console(tmp_path, executor=executor) as served:
        await until(lambda: executor.error is not None, 20, "the executor to give up on the cluster")
        client = served.client()
        await client.start_server()
        health = await client.get("/healthz")
        body = await health.json()
        assert health.status == 503 and body["ok"] is False
        assert body["executor"]["kind"] == "ray" and body["executor"]["reachable"] is False
        assert body["executor"]["since"] and f"cannot reach the Ray cluster at {address}" in body["executor"]["reason"]
        metrics = await (await client.get("/metrics")).text()
        # prometheus-client writes sample values as floats ("0.0").
        assert re.search(r'^sorabox_executor_up\{kind="ray"\} 0(\.0)?$', metrics, re.M)
