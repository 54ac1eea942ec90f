"""Admission throughput: many users submitting `/sora` through the core into SQLite, durably.

Every command is parsed, moderated, checked against the user's cap, the queue bound and their
quota, and written (job + ledger reservation) in a transaction that is on disk (WAL,
synchronous=FULL) before the user's answer comes back. Generation is held, so only admission is
measured.

Two measurements in one run:
- capacity: every user submits as fast as answers come back (a closed loop): the most commands/s;
- latency at a load: commands arrive at a fixed rate (an open loop, like people typing), spread over
  the users; the latency percentiles are those a person would see at that load.

    python bench/admission.py [--users 200] [--commands 5000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from core.execution.local import Executor
from core.identity import Actor, Place
from core.jobs.quotas import QuotaPolicy
from core.service import Sorabox
from core.settings import Settings
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from storage.database import Database
from storage.media_store import MediaStore


class HeldExecutor:
    """Takes one job and never finishes it, so the benchmark measures admission alone."""

    capacity = 1
    backend = "held"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        await self.release.wait()
        raise asyncio.CancelledError

    async def close(self) -> None:
        self.release.set()


async def bench(users: int, commands: int, rate: float, data_dir: Path) -> dict[str, object]:
    settings = Settings(
        data_dir=data_dir,
        max_jobs_per_user=commands * 2,
        max_queue=commands * 3,
        quota=QuotaPolicy(daily_credits=commands * 20),
    )
    db = Database(settings.database_path)
    executor: Executor = HeldExecutor()
    core = Sorabox(db=db, media=MediaStore(settings.media_dir), executor=executor, settings=settings)
    await core.start()
    latencies: list[float] = []
    per_user = commands // users

    async def user(index: int) -> None:
        who = Actor("bench", f"user-{index}", f"User {index}")
        where = Place("bench", f"chan-{index % 10}", guild_id="guild")
        for n in range(per_user):
            started = time.perf_counter()
            reply = await core.handle_text(who, where, f"/sora a red ball number {n} bounces --seconds 3 --seed {n}")
            latencies.append(time.perf_counter() - started)
            if not reply.ok:
                raise RuntimeError(reply.text)

    def summary(elapsed: float) -> dict[str, float]:
        latencies.sort()
        return {
            "commands": len(latencies),
            "seconds": round(elapsed, 3),
            "admitted_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max_ms": round(1000 * latencies[-1], 2),
        }

    # Warm-up: the first users are created, the caches filled.
    await asyncio.gather(*(user(-i - 1) for i in range(5)))
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(users)))
    capacity = summary(time.perf_counter() - started)

    latencies.clear()

    async def one_command(n: int) -> None:
        who = Actor("bench", f"open-{n % users}", f"User {n % users}")
        where = Place("bench", f"chan-{n % 10}", guild_id="guild")
        begun = time.perf_counter()
        reply = await core.handle_text(who, where, f"/sora a blue cube number {n} slides --seconds 3")
        latencies.append(time.perf_counter() - begun)
        if not reply.ok:
            raise RuntimeError(reply.text)

    tasks = []
    started = time.perf_counter()
    for n in range(commands):
        # Arrivals on a fixed schedule; sleeping only when ahead of it keeps the offered rate exact.
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one_command(n)))
    await asyncio.gather(*tasks)
    at_load = summary(time.perf_counter() - started) | {"offered_per_second": rate}

    await core.stop(grace_seconds=0.1)
    await executor.close()
    db.close()
    return {"users": users, "capacity_closed_loop": capacity, "latency_open_loop": at_load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0, help="commands/s offered in the open-loop phase")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder on this disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        result = asyncio.run(bench(args.users, args.commands, args.rate, Path(tmp)))
    result |= {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
