from datetime import UTC, datetime

import pytest

from core.identity import Actor, Place
from core.jobs.quotas import QuotaPolicy, allowance
from storage.database import Database
from tests.support import actor, place, running_core


def test_cost_is_seconds_times_resolution_factor():
    policy = QuotaPolicy()
    assert policy.cost(5, 640, 360) == 5
    assert policy.cost(5, 320, 180) == 5  # smaller frames never cost less than seconds
    assert policy.cost(5, 1280, 720) == 20
    assert policy.cost(2.5, 640, 360) == 3


def test_quota_day_and_reset_follow_the_reset_hour():
    policy = QuotaPolicy(reset_hour_utc=6)
    early = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    late = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert policy.period(early) == "2026-11-26"
    assert policy.period(late) == "2026-11-27"
    assert policy.resets_at(early) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert policy.resets_at(late) == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "q.db")
    yield database
    database.close()


def test_the_most_specific_override_wins(db):
    def setup(d):
        for platform, guild, role, credits in [
            ("discord", "", "", 30),
            ("discord", "", "vip", 40),
            ("discord", "g1", "", 50),
            ("discord", "g1", "vip", 90),
            ("discord", "g1", "mods", 70),
        ]:
            d.execute(
                "INSERT INTO quota_overrides (platform, guild_id, role, daily_credits) VALUES (?, ?, ?, ?)",
                [platform, guild, role, credits],
            )

    db.write_sync(setup)
    policy = QuotaPolicy(daily_credits=10)

    def get(roles=(), guild="g1", platform="discord"):
        who = Actor(platform, "u", "U", roles=roles)
        return db.read_sync(lambda d: allowance(d, policy, who, Place(platform, "c", guild)))

    assert get() == 50
    assert get(("vip",)) == 90
    assert get(("vip", "mods")) == 90
    assert get(("mods",)) == 70
    assert get(("vip",), guild="g2") == 40
    assert get((), guild="g2") == 30
    assert get(platform="telegram") == 10


async def test_only_a_service_admin_grants_credits_and_the_grant_adds_to_today(tmp_path):
    async with running_core(tmp_path, daily_credits=4) as core:
        refused = await core.grant_credits(actor("ana"), 10, by=actor("bob", is_admin=True))  # a server mod is not
        assert not refused.ok and "only a service admin" in refused.text
        await core.grant_credits(actor("root"), 1)  # the operator's grant makes root known to the core
        await core.db.write(
            lambda db: db.execute(
                "UPDATE users SET is_admin = 1 WHERE id = "
                "(SELECT user_id FROM identities WHERE platform_user_id = 'id-root')"
            )
        )
        granted = await core.grant_credits(actor("ana"), 10, by=actor("root"), note="bug report")
        assert granted.ok and "granted 10 credits" in granted.text
        status = await core.quota_status(actor("ana"), place())
        assert (status.remaining, status.granted) == (14, 10)


async def test_the_quota_answer_says_what_is_left_and_when_it_resets(tmp_path):
    async with running_core(tmp_path, daily_credits=10, quota_reset_hour_utc=6) as core:
        core.clock = lambda: datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
        assert (await core.handle_text(actor(), place(), "sora a ball --seconds 2")).ok
        answer = await core.handle_text(actor(), place(), "quota")
        assert answer.text.startswith("8 of 10 credits left today; they reset at 06:00 UTC (in 7 h 30 min).")
