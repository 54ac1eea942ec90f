"""Daily use follows the platform account: `unlink` and `forgetme` give no fresh allowance (#16 finding 3)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.events import JobDone
from core.identity import Actor
from tests.cameos.helpers import Rig, cameo_core, dm
from tests.support import wait_for

ANA_TG = Actor("telegram", "111", "Ana")
ANA_DC = Actor("discord", "222", "ana_dc")
SHORT = "--seconds 2 --size 160x96"


async def _spend(rig: Rig, who: Actor) -> None:
    subscription = rig.core.bus.subscribe()
    reply = await rig.core.handle_text(who, dm(who), f"sora a red ball bounces {SHORT}")
    assert reply.ok, reply.text
    await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
    subscription.close()


async def _link(rig: Rig, first: Actor, second: Actor) -> None:
    code = (await rig.core.handle_text(first, dm(first), "link")).data["code"]
    reply = await rig.core.handle_text(second, dm(second), f"link {code}")
    assert reply.ok, reply.text


async def _used(rig: Rig, who: Actor) -> int:
    return (await rig.core.quota_status(who, dm(who))).used


async def test_unlinking_the_account_that_spent_keeps_its_use(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        await _link(rig, ANA_TG, ANA_DC)
        await _spend(rig, ANA_DC)
        spent = await _used(rig, ANA_DC)
        assert spent > 0

        reply = await rig.core.handle_text(ANA_DC, dm(ANA_DC), "unlink discord")
        assert reply.ok, reply.text

        assert await _used(rig, ANA_DC) == spent  # detached, it is a new user, but the same account
        await _spend(rig, ANA_DC)
        assert await _used(rig, ANA_DC) == 2 * spent
        # Linking again adds nothing back either.
        await _link(rig, ANA_TG, ANA_DC)
        assert await _used(rig, ANA_DC) == 2 * spent


async def test_forgetme_keeps_only_an_anonymous_count_until_the_day_ends(tmp_path: Path) -> None:
    moment = [datetime(2026, 12, 6, 10, 0, tzinfo=UTC)]
    async with cameo_core(tmp_path) as rig:
        rig.core.kernel.clock = lambda: moment[0]
        await _spend(rig, ANA_TG)
        spent = await _used(rig, ANA_TG)
        assert spent > 0

        assert (await rig.core.handle_text(ANA_TG, dm(ANA_TG), "forgetme")).ok
        done = await rig.core.handle_text(ANA_TG, dm(ANA_TG), "forgetme confirm")
        assert done.ok, done.text
        assert "anonymous count of the credits used today" in done.text and "00:00 UTC" in done.text

        def dump(db: Any) -> str:
            return " ".join(str(dict(r)) for t in db.table_names() for r in db.query(f"SELECT * FROM [{t}]"))

        left = await rig.db.read(dump)
        assert "111" not in left and "Ana" not in left
        carried = await rig.db.read(lambda db: [dict(r) for r in db.query("SELECT * FROM quota_carryover")])
        assert [(r["period"], r["credits_used"]) for r in carried] == [("2026-12-06", spent)]

        assert await _used(rig, ANA_TG) == spent  # coming back the same day: the same use

        moment[0] += timedelta(days=1)
        assert await _used(rig, ANA_TG) == 0
        await _spend(rig, ANA_TG)  # the next day's first job drops the ended day's count
        carried = await rig.db.read(lambda db: [dict(r) for r in db.query("SELECT * FROM quota_carryover")])
        assert carried == []


async def test_which_account_spent_a_row_cannot_be_rewritten(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        await _spend(rig, ANA_TG)

        def rewrite(db: Any) -> None:
            db.execute("UPDATE quota_ledger SET account_sha256 = 'someone-else'")

        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            await rig.db.write(rewrite)
