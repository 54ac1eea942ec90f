"""Ray across two machines: the README's "Two machines" steps, run in two network namespaces joined by a veth pair.

Namespace a is the main box (Ray head, `sorabox serve`, its console on its own 127.0.0.1); namespace b is the
GPU box, which joins it over the pair. Both declare one GPU, as in the README, so `sorabox ray deploy` places one
replica on each. The test's browser reaches the console through a relay (tests/ray/namespaces.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import av
import pytest
import sqlite_utils

from core.jobs.quotas import unbalanced_jobs
from tests.ray.cluster import REPO
from tests.ray.namespaces import Machine, Relay, two_machines, unavailable
from tests.web.helpers import open_thread, sign_in_with_link

pytest.importorskip("ray.serve", reason="the [ray] extra is not installed")

pytestmark = [pytest.mark.ray, pytest.mark.slow]

BIN = Path(sys.executable).parent  # `ray` and `sorabox`, as an operator's PATH would have them
BACKEND = "tests.ray.generators:NodeTone"
CONSOLE_PORT = 8080  # the default: each namespace has its own ports
SIZE = "--size 160x96 --seconds 1"


@pytest.fixture
def machines() -> Iterator[tuple[Machine, Machine]]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with two_machines() as pair:
        yield pair


def environment(machine: Machine, **extra: str) -> dict[str, str]:
    """A shell on `machine`: its own HOME (where Ray keeps the token) and temp dir, the README's RAY_AUTH_MODE."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SORABOX_"))},
        "PATH": os.pathsep.join((str(BIN), os.environ.get("PATH", ""))),
        "HOME": str(machine.home),
        "RAY_TMPDIR": str(machine.tmp),  # two "machines" share one /tmp here
        "RAY_AUTH_MODE": "token",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Every machine has sorabox installed: here, the checkout (replicas import tests.ray.generators from it).
        "PYTHONPATH": str(REPO),
        **extra,
    }


def run_on(machine: Machine, command: str, timeout: float = 120, **extra: str) -> str:
    """One line of the README, typed into `machine`'s shell; fails the test with its output when it fails."""
    result = subprocess.run(
        machine.command("sh", "-c", command),
        env=environment(machine, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command!r} on {machine.name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def main_box_settings(machine: Machine) -> dict[str, str]:
    """The README's `export SORABOX_*` lines for the main box, with the test backend in place of LTX-2."""
    return {
        "SORABOX_EXECUTOR": "ray",
        "SORABOX_RAY_ADDRESS": "auto",
        "SORABOX_BACKEND": BACKEND,
        "SORABOX_DATA_DIR": str(machine.root / "data"),
        "SORABOX_CONFIG": str(machine.root / "sorabox.toml"),  # never written
    }


def join(head: Machine, gpu_box: Machine) -> None:
    """The README's line for the GPU box."""
    run_on(gpu_box, f"ray start --address={head.address}:6379 --num-gpus=1")


def start_service(machine: Machine) -> subprocess.Popen[bytes]:
    """`sorabox serve` on the main box, in its own process group; its output goes to serve.log."""
    with (machine.root / "serve.log").open("wb") as out:
        return subprocess.Popen(
            machine.command(str(BIN / "sorabox"), "serve"),
            env=environment(machine, **main_box_settings(machine)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_service(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # a clean stop: the ledger is read after it
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def service_log(machine: Machine) -> str:
    """serve.log without the access log and the Ray processes' own lines."""
    lines = (machine.root / "serve.log").read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if "aiohttp.access" not in line and "(raylet)" not in line)


@asynccontextmanager
async def serving(machine: Machine) -> AsyncIterator[tuple[aiohttp.ClientSession, str, subprocess.Popen[bytes]]]:
    """`sorabox serve` on the main box; a signed-in browser on the host, and the thread it opened."""
    process = start_service(machine)
    try:
        deadline = time.monotonic() + 60
        while not (link := re.search(r"one-time link: (\S+)", service_log(machine))):
            assert process.poll() is None and time.monotonic() < deadline, f"no start:\n{service_log(machine)}"
            await asyncio.sleep(0.2)
        async with Relay(machine, CONSOLE_PORT) as relay:
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(base_url=relay.url, cookie_jar=jar) as browser:
                await sign_in_with_link(browser, urlsplit(link.group(1)).path)  # type: ignore[arg-type]
                thread_id, csrf = await open_thread(browser)  # type: ignore[arg-type]
                browser.headers["X-CSRF-Token"] = csrf
                yield browser, thread_id, process
    except BaseException:
        print(f"sorabox serve on the main box said:\n{service_log(machine)[-6000:]}")
        raise
    finally:
        await asyncio.to_thread(stop_service, process)


async def until(probe: Any, seconds: float, what: str) -> Any:
    """`await probe()` every 0.2 s until it is truthy; its value."""
    deadline = time.monotonic() + seconds
    while not (value := await probe()):
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        await asyncio.sleep(0.2)
    return value


async def thread_of(browser: aiohttp.ClientSession, thread_id: str) -> dict[str, Any]:
    response = await browser.get(f"/api/threads/{thread_id}")
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def ask(browser: aiohttp.ClientSession, thread_id: str, prompts: list[str]) -> list[str]:
    """Send prompts one after another, without waiting for clips; their job ids."""
    jobs = []
    for prompt in prompts:
        sent = await browser.post(f"/api/threads/{thread_id}/messages", json={"text": f"sora {prompt} {SIZE}"})
        body = await sent.json()
        assert body["ok"], body
        jobs.append(body["job_id"])
    return jobs


async def endings(browser: aiohttp.ClientSession, thread_id: str, jobs: list[str], seconds: float) -> dict[str, Any]:
    """Each job's clip message or failure notice in the thread, once every job has one."""

    async def ended() -> dict[str, Any] | None:
        messages = (await thread_of(browser, thread_id))["messages"]
        found = {m["job_id"]: m for m in messages if m.get("job_id") in jobs and m["kind"] in ("clip", "notice")}
        return found if len(found) == len(jobs) else None

    return await until(ended, seconds, f"jobs {jobs} to end")  # type: ignore[no-any-return]


async def maker(browser: aiohttp.ClientSession, clip_message: dict[str, Any]) -> str:
    """The address of the machine that made the clip, as its MP4's provenance comment says (see NodeTone)."""
    media = await browser.get(clip_message["media_url"])
    assert media.status == 200 and media.headers["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(await media.read())) as container:
        assert container.streams.video and container.streams.audio
        comment = json.loads(container.metadata["comment"])
    return str(comment["model"]).removeprefix("node-tone on ")


async def makers(browser: aiohttp.ClientSession, ended: dict[str, Any]) -> list[str]:
    assert all(m["kind"] == "clip" for m in ended.values()), ended
    return sorted([await maker(browser, m) for m in ended.values()])


def workers_at(browser: aiohttp.ClientSession, count: int) -> Callable[[], Awaitable[bool]]:
    """A probe: the service counts `count` live replicas (/healthz)."""

    async def probe() -> bool:
        body = await (await browser.get("/healthz")).json()
        return bool(body["ok"]) and body["executor"]["workers"] == count

    return probe


# Where each live actor runs, from Ray's own state API on the main box: [class name, node address] pairs.
PLACEMENT = """
import json, ray
from ray.util.state import list_actors
ray.init(address="auto", logging_level="ERROR")
ips = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}
print(json.dumps(sorted([a.class_name, ips[a.node_id]] for a in list_actors(filters=[("state", "=", "ALIVE")]))))
"""


@pytest.mark.timeout(420)
async def test_a_gpu_box_joined_by_the_readme_steps_makes_clips_survives_losing_its_raylet_and_rejoins(
    machines: tuple[Machine, Machine],
) -> None:
    main, gpu = machines
    # -- the README's steps, line by line -------------------------------------------------------------
    await asyncio.to_thread(run_on, main, "ray get-auth-token --generate")
    (gpu.home / ".ray").mkdir()
    shutil.copy(main.home / ".ray" / "auth_token", gpu.home / ".ray" / "auth_token")  # "copy it to the GPU box"
    head = f"ray start --head --port=6379 --node-ip-address={main.address} --num-gpus=1"
    await asyncio.to_thread(run_on, main, head)
    await asyncio.to_thread(join, main, gpu)
    deployed = await asyncio.to_thread(run_on, main, "sorabox ray deploy", **main_box_settings(main))
    assert "replicas: 2 RUNNING" in deployed, deployed
    status = await asyncio.to_thread(run_on, main, "sorabox ray status", **main_box_settings(main))
    assert "cluster: 2 node(s), 4 CPU(s), 2 GPU(s)" in status and "replicas: 2 RUNNING" in status, status

    async with serving(main) as (browser, thread_id, process):
        await until(workers_at(browser, 2), 60, "the service to count two replicas")
        placed = json.loads(await asyncio.to_thread(run_on, main, f"python -c '{PLACEMENT}'"))
        replica = "ServeReplica:sorabox:SoraboxReplica"
        assert sorted(a for c, a in placed if c == replica) == [main.address, gpu.address], placed
        # The board carrying progress and cancels lives with the service: a GPU box going down must not take it.
        assert ["JobBoard", main.address] in placed, placed

        # -- one job on each machine: the GPU box's clip comes back ------------------------------------
        first = await ask(browser, thread_id, ["a red kite", "a blue kite"])
        assert await makers(browser, await endings(browser, thread_id, first, 60)) == [main.address, gpu.address]

        # -- the GPU box's raylet dies mid-job: its job is retried once, on the main box's replica -------
        second = await ask(browser, thread_id, ["a green kite", "a yellow kite"])

        async def both_mid_way() -> bool:
            jobs = (await thread_of(browser, thread_id))["jobs"]
            mid_way = [
                j for j in jobs if j["job_id"] in second and j.get("state") == "running" and j.get("step", 0) >= 2
            ]
            return len(mid_way) == 2

        await until(both_mid_way, 30, "both jobs to be mid-way")  # one per replica: one of them on the GPU box
        [raylet] = gpu.pids_named("raylet")
        killed_at = time.monotonic()
        os.kill(raylet, signal.SIGKILL)
        ended = await endings(browser, thread_id, second, 60)
        print(f"both jobs ended {time.monotonic() - killed_at:.1f} s after the GPU box's raylet was killed")
        assert await makers(browser, ended) == [main.address, main.address]
        await until(workers_at(browser, 1), 30, "the service to count one replica")

        # -- the GPU box reboots (nothing of it survives), joins again, and takes jobs again --------------
        gpu.power_off()
        rejoined_at = time.monotonic()
        await asyncio.to_thread(join, main, gpu)
        await until(workers_at(browser, 2), 90, "the GPU box's replica to run again")
        print(f"the service counted the GPU box's replica {time.monotonic() - rejoined_at:.1f} s after `ray start`")
        third = await ask(browser, thread_id, ["a white kite", "a black kite"])
        assert await makers(browser, await endings(browser, thread_id, third, 60)) == [main.address, gpu.address]

        # -- every clip posted once ----------------------------------------------------------------------
        messages = (await thread_of(browser, thread_id))["messages"]
        posted = sorted(m["job_id"] for m in messages if m["kind"] == "clip")
        assert posted == sorted(first + second + third)
    assert process.returncode == 0
    # Exactly one request was sent again: the GPU box's job, once (the bridge logs each retry).
    assert service_log(main).count("retrying once on another") == 1, service_log(main)
    # -- the ledger balances: one reserve and one commit per job ------------------------------------------
    db = sqlite_utils.Database(main.root / "data" / "sorabox.db")
    try:
        assert unbalanced_jobs(db) == []
        states = {r["id"]: r["state"] for r in db.query("select id, state from jobs")}
    finally:
        db.close()
    assert states == dict.fromkeys(first + second + third, "done")
