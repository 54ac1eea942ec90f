"""A busy server: many simulated people across Telegram, Discord and the console for a while, against
`sorabox serve` as its own process, with a backend that sleeps like a GPU (so the service itself is measured).

Reported:
- Discord acknowledgement p50/p99: the fake Discord's time from creating an interaction to its deferral;
- admission p99: a console POST's round trip (the console answers after the job is admitted, on disk);
- event-loop lag p99, as an upper bound: the round trip of `/healthz` (answered by the service's loop at once),
  probed every 100 ms;
- deliveries per second: clips posted on Telegram and Discord over the run;
- the service's memory (VmRSS) after a warm-up (--warmup s: the first clips load the codecs) and at the end;
- the SQLite file and WAL growth.

    python bench/load.py [--people 1000] [--seconds 60] [--rate 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.durability.chaos import Chaos  # noqa: E402
from tests.fakes.discord_server import FakeDiscord  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402
from tests.support import ToneGenerator  # noqa: E402


class GpuLike(ToneGenerator):
    """Four steps of 0.25 s that wait instead of compute, as a GPU-bound backend leaves the CPU to the service."""

    def __init__(self) -> None:
        super().__init__(steps=4, step_seconds=0.25)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def size_mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


async def main(args: argparse.Namespace) -> None:
    telegram, discord = FakeTelegram(), FakeDiscord()
    await telegram.start()
    await discord.start()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="sorabox-load-") as folder:
        data = Path(folder)
        chaos = Chaos(
            data,
            telegram,
            discord,
            seed=args.seed,
            env={"SORABOX_BACKEND": "bench.load:GpuLike", "SORABOX_GENERATION_WORKERS": str(args.workers)},
        )
        await chaos.start()
        assert chaos.service is not None and chaos.web is not None and chaos.thread is not None
        pid = chaos.service.pid
        people_tg = [telegram.add_user(f"p{i}", f"p{i}") for i in range(args.people // 2)]
        group = telegram.add_group("Busy", people_tg)
        people_dc = [discord.add_member(f"d{i}") for i in range(args.people - len(people_tg))]
        rss: list[float] = []
        start_db = size_mb(data / "sorabox.db")
        start_wal = size_mb(data / "sorabox.db-wal")
        lags: list[float] = []
        admissions: list[float] = []
        interactions = []
        sent: Counter[str] = Counter()
        stop_at = time.monotonic() + args.seconds

        async def probe() -> None:
            while time.monotonic() < stop_at:
                t = time.perf_counter()
                async with chaos.web.get("/healthz") as r:  # type: ignore[union-attr]
                    await r.read()
                lags.append(time.perf_counter() - t)
                if time.monotonic() - started >= args.warmup and not rss:
                    rss.append(rss_mb(pid))  # after the first clips: libraries loaded, caches warm
                await asyncio.sleep(0.1)

        async def one() -> None:
            which = rng.random()
            tag = f"load{sum(sent.values())}x"
            if which < 0.45:
                telegram.send_text(group, rng.choice(people_tg), f"/sora {tag} a ball --seconds 1 --size 160x96")
                sent["telegram"] += 1
            elif which < 0.9:
                user = rng.choice(people_dc)
                interactions.append(await discord.invoke_command("sora", user=user, prompt=f"{tag} a ball", seconds=3))
                sent["discord"] += 1
            else:
                thread_id, csrf = chaos.thread  # type: ignore[misc]
                t = time.perf_counter()
                async with chaos.web.post(  # type: ignore[union-attr]
                    f"/api/threads/{thread_id}/messages",
                    json={"text": f"sora {tag} a ball --seconds 1 --size 160x96"},
                    headers={"X-CSRF-Token": csrf},
                ) as r:
                    await r.read()
                admissions.append(time.perf_counter() - t)
                sent["console"] += 1

        started = time.monotonic()
        prober = asyncio.create_task(probe())
        pending: set[asyncio.Task[None]] = set()
        while time.monotonic() < stop_at:
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(rng.expovariate(args.rate))
        await asyncio.gather(*pending, return_exceptions=True)
        await prober
        elapsed = time.monotonic() - started
        end_rss = rss_mb(pid)
        end_db, end_wal = size_mb(data / "sorabox.db"), size_mb(data / "sorabox.db-wal")
        clips_tg = sum(1 for m in telegram.bot_messages(group) if "video" in m)
        clips_dc = sum(1 for m in discord.messages.values() if m.attachments and m.interaction_metadata is None)
        acks = [i.ack_latency for i in interactions if i.ack_latency is not None]
        chaos.service.send_signal(signal.SIGTERM)
        await asyncio.to_thread(chaos.service.wait, 60)
        await chaos.web.close()
        await telegram.stop()
        await discord.close()
    result = {
        "machine": f"{os.cpu_count()} cores, no GPU, shared with other work",
        "people": args.people,
        "seconds": round(elapsed, 1),
        "requests": dict(sent),
        "discord_ack_ms": {
            "p50": round(1000 * statistics.median(acks), 1) if acks else None,
            "p99": round(1000 * percentile(acks, 0.99), 1),
            "max": round(1000 * max(acks), 1) if acks else None,
            "unacknowledged": len(interactions) - len(acks),
        },
        "admission_p99_ms": round(1000 * percentile(admissions, 0.99), 1),
        "loop_lag_p99_ms_upper_bound": round(1000 * percentile(lags, 0.99), 1),
        "deliveries_per_s": round((clips_tg + clips_dc) / elapsed, 2),
        "rss_mb_after_warmup_and_end": [round(rss[0], 1) if rss else None, round(end_rss, 1)],
        "sqlite_mb": [round(start_db, 2), round(end_db, 2)],
        "wal_mb": [round(start_wal, 2), round(end_wal, 2)],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=3.0, help="requests per second, all people together")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before the first memory reading")
    asyncio.run(main(parser.parse_args()))
