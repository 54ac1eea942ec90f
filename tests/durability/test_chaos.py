"""`sorabox serve` SIGKILLed at random moments under Telegram, Discord and console traffic loses and doubles nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.durability.chaos import Chaos
from tests.fakes.discord_server import FakeDiscord, fake_discord
from tests.fakes.telegram_server import FakeTelegram, no_real_network, telegram_server

__all__ = ["fake_discord", "no_real_network", "telegram_server"]

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


@pytest.mark.timeout(420)
async def test_random_kills_under_mixed_traffic_lose_no_request_and_double_no_job_or_clip(
    tmp_path: Path, telegram_server: FakeTelegram, fake_discord: FakeDiscord
) -> None:
    chaos = Chaos(tmp_path, telegram_server, fake_discord, seed=17)
    try:
        await chaos.run(kills=3, requests_per_kill=4)
        await chaos.settle(within=180)
    finally:
        await chaos.stop()
    report = chaos.report()
    print(report.summary())  # shown with -s, and in a failure's captured output

    assert report.kills == 3 and report.requests == 12
    assert report.lost == []
    assert report.duplicates == []
    assert report.unbalanced == []
    assert report.missing == [] and report.orphaned == []
    assert report.jobs["queued"] == report.jobs["running"] == 0
