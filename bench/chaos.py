"""The long chaos run: `sorabox serve` SIGKILLed at random moments, >= 100 times, under mixed Telegram, Discord and
console traffic (generate, remix, extend, cancel, cameo use, quota), then every request accounted for.

The driver is tests/durability/chaos.py, the same one the short test in `make test` uses. Faults, optional: the
fake platforms answer a share of calls with 429/500/502, time out, drop connections or lose upload answers.

    python bench/chaos.py [--kills 100] [--requests-per-kill 3] [--seed 1] [--faults 0.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.durability.chaos import Chaos  # noqa: E402
from tests.durability.storms import Storm  # noqa: E402
from tests.fakes.discord_server import FakeDiscord  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    telegram, discord = FakeTelegram(), FakeDiscord()
    await telegram.start()
    await discord.start()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sorabox-chaos-") as folder:
        data = Path(args.data) if args.data else Path(folder)  # --data keeps the service's log and database
        data.mkdir(parents=True, exist_ok=True)
        chaos = Chaos(data, telegram, discord, seed=args.seed)
        storm = Storm(telegram, discord, args.faults, seed=args.seed) if args.faults else None
        try:
            if storm is not None:
                storm.start()
            await chaos.run(kills=args.kills, requests_per_kill=args.requests_per_kill)
            if storm is not None:
                await storm.stop()
            await chaos.settle(within=args.settle)
        finally:
            await chaos.stop()
            await telegram.stop()
            await discord.close()
        report = chaos.report()
    report.seconds = time.monotonic() - started
    print(report.summary())
    print(
        json.dumps(
            {
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, no GPU",
                "kills": report.kills,
                "requests": report.requests,
                "by_platform": dict(report.by_platform),
                "jobs": dict(report.jobs),
                "not_acknowledged": report.not_acknowledged,
                "lost": report.lost,
                "duplicates": report.duplicates,
                "unbalanced": len(report.unbalanced),
                "orphaned": report.orphaned,
                "missing": report.missing,
                "faults": storm.injected if storm is not None else {},
                "seconds": round(report.seconds),
            },
            indent=1,
        )
    )
    return 0 if report.clean else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--requests-per-kill", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.0, help="share of platform calls that fail (0.1, 0.5)")
    parser.add_argument("--data", help="a folder to keep the service's data and log in (default: a temporary one)")
    parser.add_argument("--settle", type=float, default=600.0, help="seconds to wait for the last jobs and answers")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
