"""Jobs per hour and per-job scheduling overhead: the local executor against 1 and 2 Ray Serve replicas.

    .venv/bin/python bench/ray_throughput.py                 # starts a loopback Ray head of its own
    .venv/bin/python bench/ray_throughput.py --address 127.0.0.1:6379 --jobs 20
    .venv/bin/python bench/ray_throughput.py --backend tests.ray.generators:SlowTone   # steps that wait, like a GPU

Every mode runs the same backlog (procedural by default; jobs from three users, all queued at once) through
the real core: SQLite, the fair queue, MP4 encoding. "gap" is the issue's overhead: on one worker, from
the end of one generation to the start of the next while jobs wait (medians). It splits into "back" (the
clip travelling from the replica to the core: object store, bridge, shared memory), "core" (the scheduler
picking and starting the next job; the MP4 is encoded alongside) and "out" (the request reaching a replica).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.events import JobDone, JobFailed  # noqa: E402
from core.execution.local import Availability, Executor, LocalExecutor  # noqa: E402
from core.execution.ray import RayExecutor  # noqa: E402
from core.execution.ray_wire import RayConfig  # noqa: E402
from core.service import Sorabox  # noqa: E402
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback  # noqa: E402
from model.registry import create_generator  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.media_store import MediaStore  # noqa: E402
from tests.ray.cluster import LocalCluster, ray_environment  # noqa: E402
from tests.support import actor, make_settings, place  # noqa: E402

APP = "bench-throughput"


@dataclass
class Span:
    """One generation on one worker, wall-clock seconds."""

    prompt: str
    worker: str
    started: float
    finished: float


@dataclass
class Timings:
    spans: list[Span] = field(default_factory=list)
    # prompt -> (run called, run returned) as the core saw it
    calls: dict[str, tuple[float, float]] = field(default_factory=dict)


class TimedGenerator:
    """The local baseline's generator, recording when each generation starts and ends."""

    def __init__(self, inner: object, timings: Timings) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.timings = timings

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        started = time.time()
        clip = self.inner.generate(request, progress, cancel)  # type: ignore[attr-defined]
        self.timings.spans.append(Span(request.prompt, "local", started, time.time()))
        return clip  # type: ignore[no-any-return]


class TimedExecutor:
    """Any executor, recording when the core calls `run` and when it gets the clip back."""

    def __init__(self, inner: Executor, timings: Timings) -> None:
        self.inner = inner
        self.timings = timings

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def availability(self) -> Availability:
        return self.inner.availability

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        called = time.time()
        clip = await self.inner.run(request, progress, cancel)
        self.timings.calls[request.prompt] = (called, time.time())
        return clip

    async def close(self) -> None:
        await self.inner.close()


def summarise(mode: str, jobs: int, wall: float, timings: Timings) -> dict[str, object]:
    """Medians over every (job, next job on the same worker) pair; the parts add up pair by pair."""
    gaps, backs, cores, outs = [], [], [], []
    by_worker: dict[str, list[Span]] = {}
    for span in timings.spans:
        by_worker.setdefault(span.worker, []).append(span)
    for spans in by_worker.values():
        spans.sort(key=lambda s: s.started)
        for a, b in itertools.pairwise(spans):
            a_returned = timings.calls[a.prompt][1]
            b_called = timings.calls[b.prompt][0]
            gaps.append(b.started - a.finished)
            backs.append(a_returned - a.finished)
            cores.append(b_called - a_returned)
            outs.append(b.started - b_called)
    generation = statistics.mean(s.finished - s.started for s in timings.spans)

    def ms(values: list[float]) -> int:
        return round(statistics.median(values) * 1000) if values else -1

    return {
        "mode": mode,
        "workers": len(by_worker),
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "jobs_per_hour": round(jobs / wall * 3600),
        "generation_s": round(generation, 3),
        "gap_ms": ms(gaps),
        "back_ms": ms(backs),
        "core_ms": ms(cores),
        "out_ms": ms(outs),
    }


async def run_backlog(
    executor: Executor, timings: Timings, jobs: int, args: argparse.Namespace, replicas: int
) -> float:
    """Queue `jobs` jobs from three users at once; seconds until the last is done."""
    with tempfile.TemporaryDirectory(prefix="sorabox-bench-") as tmp:
        settings = make_settings(Path(tmp), max_jobs_per_user=1000, daily_credits=10**6, max_queue=10_000)
        db = Database(settings.database_path)
        timed = TimedExecutor(executor, timings)
        core = Sorabox(db=db, media=MediaStore(settings.media_dir), executor=timed, settings=settings)
        await core.start()
        try:
            deadline = time.monotonic() + 300
            while executor.capacity < replicas:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {executor.capacity} of {replicas} replica(s) came up")
                await asyncio.sleep(0.1)
            subscription = core.bus.subscribe()
            size = f"--size {args.size} --seconds {args.seconds}"
            # One warm-up job per worker: first calls pay for torch's start-up, not for scheduling.
            await drain(core, subscription, [f"warm-up {i}" for i in range(replicas)], size)
            timings.spans.clear()
            timings.calls.clear()
            started = time.time()
            await drain(core, subscription, [f"a ball bounces, take {i}" for i in range(jobs)], size)
            return time.time() - started
        finally:
            await core.stop()
            await executor.close()
            db.close()


async def drain(core: Sorabox, subscription: object, prompts: list[str], size: str) -> None:
    users = ["ana", "bo", "cy"]
    pending = set()
    for i, prompt in enumerate(prompts):
        reply = await core.handle_text(actor(users[i % len(users)]), place(), f"sora {prompt} {size}")
        if not reply.ok:
            raise SystemExit(reply.text)
        pending.add(reply.job_id)
    async for event in subscription:  # type: ignore[attr-defined]
        if isinstance(event, JobFailed) and event.job_id in pending:
            raise SystemExit(f"a job failed: {event.reason}")
        if isinstance(event, JobDone):
            pending.discard(event.job_id)
            if not pending:
                return


async def bench_local(args: argparse.Namespace) -> dict[str, object]:
    import torch

    # Like for like: Ray gives a one-CPU replica one torch thread (OMP_NUM_THREADS=1).
    torch.set_num_threads(args.local_threads)
    timings = Timings()
    generator = TimedGenerator(create_generator(args.backend, {}), timings)
    wall = await run_backlog(LocalExecutor(generator, workers=1), timings, args.jobs, args, 1)  # type: ignore[arg-type]
    return summarise("local", args.jobs, wall, timings)


def deploy(address: str, backend: str, replicas: int, cpus: float) -> None:
    """`sorabox ray deploy`, as an operator scales the application between runs."""
    command = [sys.executable, "-m", "bots.cli", "ray", "deploy", "--address", address, "--app", APP]
    command += ["--backend", backend, "--replicas", str(replicas), "--replica-cpus", str(cpus)]
    env = {**ray_environment(), "SORABOX_CONFIG": os.devnull}
    subprocess.run(command, env=env, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


async def bench_ray(args: argparse.Namespace, address: str, replicas: int) -> dict[str, object]:
    await asyncio.to_thread(deploy, address, args.backend, replicas, args.replica_cpus)
    timings = Timings()
    config = RayConfig(address=address, backend=args.backend, app_name=APP, replicas=replicas)
    executor = RayExecutor(config)
    wall = await run_backlog(executor, timings, args.jobs, args, replicas)
    for attempt in executor.attempts():
        if attempt.prompt in timings.calls and attempt.outcome == "done":
            timings.spans.append(Span(attempt.prompt, str(attempt.pid), attempt.started_at, attempt.finished_at))
    return summarise(f"ray-{replicas}", args.jobs, wall, timings)


async def main(args: argparse.Namespace) -> list[dict[str, object]]:
    os.environ.update({k: v for k, v in ray_environment().items() if k.startswith("RAY_")})
    results = [await bench_local(args)]
    cluster = None
    address = args.address
    if address is None:
        cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="sorabox-bench-ray-")) / "head.log", cpus=args.cpus)
        cluster.start()
        address = cluster.address
    try:
        for replicas in (1, 2):
            results.append(await bench_ray(args, address, replicas))
    finally:
        if cluster is not None:
            cluster.stop()
    return results


def report(results: list[dict[str, object]]) -> str:
    columns = ["mode", "workers", "jobs", "wall_s", "jobs_per_hour", "generation_s", "gap_ms", "back_ms", "core_ms"]
    columns.append("out_ms")
    lines = [" | ".join(columns), " | ".join("---" for _ in columns)]
    lines += [" | ".join(str(r[c]) for c in columns) for r in results]
    one = next(r for r in results if r["mode"] == "ray-1")
    two = next(r for r in results if r["mode"] == "ray-2")
    ratio = float(two["jobs_per_hour"]) / float(one["jobs_per_hour"])  # type: ignore[arg-type]
    lines.append(f"\n2 replicas / 1 replica: {ratio:.2f}x jobs per hour")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="an existing Ray cluster (default: start a loopback head)")
    parser.add_argument("--backend", default="procedural", help="procedural (default) or module:Class")
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the loopback head")
    parser.add_argument("--replica-cpus", type=float, default=1.0)
    parser.add_argument("--local-threads", type=int, default=1, help="torch threads of the local baseline")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    print(report(figures))
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
