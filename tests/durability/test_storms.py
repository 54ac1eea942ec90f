"""Platform fault storms: while Telegram and Discord answer 429, 500, 502, time out, drop connections and lose the
answers to uploads, no request is lost and no clip is posted twice (clips come late, never twice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.durability.chaos import Chaos
from tests.durability.storms import Storm
from tests.fakes.discord_server import FakeDiscord, fake_discord
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server

__all__ = ["fake_discord", "no_real_network", "telegram_server"]

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


@pytest.mark.timeout(480)
@pytest.mark.parametrize("rate", [0.1, 0.5], ids=["10%", "50%"])
async def test_a_fault_storm_on_the_platforms_loses_and_doubles_nothing(
    tmp_path: Path, telegram_server: FakeTelegram, fake_discord: FakeDiscord, rate: float
) -> None:
    chaos = Chaos(tmp_path, telegram_server, fake_discord, seed=int(rate * 100))
    await chaos.start()
    storm = Storm(telegram_server, fake_discord, rate, seed=3)
    storm.start()
    try:
        await chaos.steady(requests=8)
        await chaos.settle(within=150)  # clips may be late: the storm keeps blowing while they are delivered
        await storm.stop()
        await chaos.settle(within=120)
    finally:
        await storm.stop()
        await chaos.stop()
    report = chaos.report()
    print(report.summary(), dict(storm.injected))  # shown with -s, and in a failure's captured output

    assert sum(storm.injected.values()) > 0
    assert report.lost == []
    assert report.duplicates == []
    assert report.unbalanced == []
    assert report.missing == [] and report.orphaned == []
    assert report.jobs["queued"] == report.jobs["running"] == 0
