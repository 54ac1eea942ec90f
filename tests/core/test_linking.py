"""Account linking: one person with accounts on several platforms is one user, over real SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from core.events import JobDone
from core.identity import Actor, Place
from core.people.linking import MAX_WRONG_TRIES
from tests.cameos.helpers import GROUP, Rig, cameo_core, dm, synthetic_likeness
from tests.support import wait_for

ANA_TG = Actor("telegram", "111", "Ana")
ANA_DC = Actor("discord", "222", "ana_dc")
ANA_WEB = Actor("web", "ana-web", "ana")
BO = Actor("telegram", "333", "Bo")
SHORT = "--seconds 1 --size 160x96"
TG_GROUP = Place("telegram", "-100", "-100")


async def _clip(rig: Rig, who: Actor, text: str = f"sora a red ball bounces {SHORT}") -> str:
    subscription = rig.core.bus.subscribe()
    reply = await rig.core.handle_text(who, dm(who), text)
    assert reply.ok, reply.text
    done = await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
    subscription.close()
    return str(done.clip_id)  # type: ignore[attr-defined]


async def _code(rig: Rig, who: Actor) -> str:
    reply = await rig.core.handle_text(who, dm(who), "link")
    assert reply.ok, reply.text
    code = str(reply.data["code"])
    assert f"link {code}" in reply.text and "other account" in reply.text
    return code


async def _link(rig: Rig, first: Actor, second: Actor) -> None:
    reply = await rig.core.handle_text(second, dm(second), f"link {await _code(rig, first)}")
    assert reply.ok, reply.text


async def _rows(rig: Rig, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return await rig.db.read(lambda db: [dict(r) for r in db.query(sql, params or [])])


async def _user(rig: Rig, who: Actor) -> str:
    rows = await _rows(
        rig, "SELECT user_id FROM identities WHERE platform = ? AND platform_user_id = ?", [who.platform, who.user_id]
    )
    return str(rows[0]["user_id"])


async def test_linking_two_platforms_makes_one_user_whose_credits_and_clips_are_shared(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        clip = await _clip(rig, ANA_TG)
        before = await core.quota_status(ANA_TG, dm(ANA_TG))

        # Asking in a group is refused: whoever sees a code can join the account.
        in_group = await core.handle_text(ANA_TG, TG_GROUP, "link")
        assert not in_group.ok and "private chat" in in_group.text
        await _link(rig, ANA_TG, ANA_DC)

        assert await _user(rig, ANA_TG) == await _user(rig, ANA_DC)
        assert (await core.quota_status(ANA_DC, dm(ANA_DC))).used == before.used > 0
        # The clip made on Telegram is hers on Discord too: she may delete it there.
        listed = await core.handle_text(ANA_DC, dm(ANA_DC), "links")
        assert listed.ok and "telegram (Ana)" in listed.text and "discord (ana_dc)" in listed.text
        deleted = await core.handle_text(ANA_DC, dm(ANA_DC), f"delete {clip}")
        assert deleted.ok, deleted.text

        # One account per platform, and never an account to itself.
        third = await core.handle_text(Actor("telegram", "999", "Ana2"), dm(ANA_TG), f"link {await _code(rig, ANA_DC)}")
        assert not third.ok and "one account per platform" in third.text
        again = await core.handle_text(ANA_TG, dm(ANA_TG), f"link {await _code(rig, ANA_DC)}")
        assert not again.ok and "already linked" in again.text
        assert "help" in (await core.handle_text(ANA_TG, dm(ANA_TG), "help")).text.lower()
        assert "link [code]" in (await core.handle_text(ANA_TG, dm(ANA_TG), "help")).text


async def test_a_used_expired_or_wrong_code_is_refused_and_guessing_is_limited(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        code = await _code(rig, ANA_TG)
        own = await core.handle_text(ANA_TG, dm(ANA_TG), f"link {code}")
        assert not own.ok and "other account" in own.text
        assert (await core.handle_text(ANA_DC, dm(ANA_DC), f"link {code.lower()[:4]}-{code.lower()[4:]}")).ok
        used = await core.handle_text(ANA_WEB, dm(ANA_WEB), f"link {code}")
        assert not used.ok and "already used" in used.text
        # Only the hash is stored.
        assert code not in str(await _rows(rig, "SELECT * FROM link_codes"))

        expiring = await _code(rig, ANA_TG)
        real_clock = core.clock
        core.clock = lambda: real_clock() + timedelta(minutes=11)
        expired = await core.handle_text(ANA_WEB, dm(ANA_WEB), f"link {expiring}")
        assert not expired.ok and "expired" in expired.text
        core.clock = real_clock

        # A code typed in a group is burnt: others have seen it.
        shown = await _code(rig, ANA_TG)
        in_group = await core.handle_text(ANA_WEB, Place("web", "general", "community"), f"link {shown}")
        assert not in_group.ok and "cancelled" in in_group.text
        assert not (await core.handle_text(ANA_WEB, dm(ANA_WEB), f"link {shown}")).ok

        malformed = await core.handle_text(BO, dm(BO), "link hello")
        assert not malformed.ok and "8 letters" in malformed.text
        good = await _code(rig, ANA_TG)
        for _ in range(MAX_WRONG_TRIES):
            wrong = await core.handle_text(BO, dm(BO), "link ABCDEFGH")
            assert not wrong.ok and "not right" in wrong.text
        # Even the right code is refused now: a guesser learns nothing more.
        limited = await core.handle_text(BO, dm(BO), f"link {good}")
        assert not limited.ok and "too many wrong" in limited.text
        assert BO.user_id not in str(await _rows(rig, "SELECT * FROM identities"))
        # The limit lifts after the window: the code is answered again (here: refused for what it is).
        core.clock = lambda: real_clock() + timedelta(minutes=10, seconds=1)
        later = await core.handle_text(BO, dm(BO), f"link {await _code(rig, ANA_TG)}")
        assert not later.ok and "one account per platform" in later.text


async def test_forgetme_on_one_platform_forgets_the_linked_accounts_everywhere(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA_DC, dm(ANA_DC), "anacam", synthetic_likeness(1))).ok
        await core.remember_handle("telegram", "ana_tg", ANA_TG.user_id)
        on_telegram = await _clip(rig, ANA_TG)
        on_discord = await _clip(rig, ANA_DC, f"sora @anacam waves {SHORT}")
        await _link(rig, ANA_TG, ANA_DC)
        bo_clip = await _clip(rig, BO)

        assert (await core.handle_text(ANA_DC, dm(ANA_DC), "forgetme")).ok
        done = await core.handle_text(ANA_DC, dm(ANA_DC), "forgetme confirm")
        assert done.ok, done.text

        assert await _rows(rig, "SELECT * FROM identities WHERE platform_user_id IN ('111', '222')") == []
        assert await _rows(rig, "SELECT * FROM cameos") == []
        assert await core.user_for_handle("telegram", "ana_tg") is None
        for clip in (on_telegram, on_discord):
            assert await _rows(rig, "SELECT * FROM clips WHERE id = ?", [clip]) == []
        assert await _rows(rig, "SELECT * FROM users WHERE display_name IN ('Ana', 'ana_dc')") == []
        assert (await core.clip(bo_clip)).id == bo_clip
        # Today's use stays with each account, anonymously (#16 finding 3): ANA_TG made one 1-credit clip.
        assert (await core.quota_status(ANA_TG, dm(ANA_TG))).used == 1


async def test_unlink_leaves_the_data_with_the_remaining_accounts(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        clip = await _clip(rig, ANA_DC)
        await _link(rig, ANA_DC, ANA_TG)
        await _link(rig, ANA_DC, ANA_WEB)
        person = await _user(rig, ANA_DC)

        missing = await core.handle_text(ANA_TG, dm(ANA_TG), "unlink cli")
        assert not missing.ok and "no cli account" in missing.text
        gone = await core.handle_text(ANA_TG, dm(ANA_TG), "unlink telegram")
        assert gone.ok and "starts fresh" in gone.text, gone.text

        assert await _user(rig, ANA_DC) == await _user(rig, ANA_WEB) == person
        assert (await core.quota_status(ANA_TG, dm(ANA_TG))).used == 0
        assert (await core.quota_status(ANA_WEB, dm(ANA_WEB))).used > 0
        refused = await core.handle_text(ANA_TG, dm(ANA_TG), f"delete {clip}")
        assert not refused.ok
        await _clip(rig, ANA_TG)  # the detached account is a new user from its next request on
        assert await _user(rig, ANA_TG) != person
        alone = await core.handle_text(ANA_TG, dm(ANA_TG), "unlink discord")
        assert not alone.ok and "not linked" in alone.text
        assert (await core.handle_text(ANA_WEB, dm(ANA_WEB), f"delete {clip}")).ok


async def test_linking_an_account_with_history_merges_it(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA_TG, dm(ANA_TG), "anatg", synthetic_likeness(1))).ok
        assert (await rig.cameos.create_from_likeness(BO, dm(BO), "bocam", synthetic_likeness(2))).ok
        assert (await core.handle_text(BO, dm(BO), "cameo allow discord:222")).ok  # Bo approved her Discord
        assert (await core.handle_text(ANA_TG, dm(ANA_TG), "cameo allow discord:222")).ok  # and so did she
        await _clip(rig, ANA_TG)
        from_discord = await _clip(rig, ANA_DC, "sora @bocam waves --seconds 2 --size 160x96")
        assert (await core.grant_credits(ANA_DC, 7)).ok
        old_discord_user = await _user(rig, ANA_DC)
        await core.db.write(lambda db: db.execute("UPDATE users SET is_admin = 1 WHERE id = ?", [old_discord_user]))
        tg_used = (await core.quota_status(ANA_TG, dm(ANA_TG))).used
        dc_used = (await core.quota_status(ANA_DC, dm(ANA_DC))).used

        await _link(rig, ANA_TG, ANA_DC)

        person = await _user(rig, ANA_TG)
        assert await _user(rig, ANA_DC) == person

        # No row anywhere names the merged-away user.
        def dump(db: Any) -> str:
            return " ".join(str(dict(r)) for t in db.table_names() for r in db.query(f"SELECT * FROM [{t}]"))

        everything = await core.db.read(dump)
        assert old_discord_user not in everything, everything[everything.find(old_discord_user) - 300 :][:400]
        status = await core.quota_status(ANA_TG, dm(ANA_TG))
        assert status.used == tg_used + dc_used and status.granted == 7
        assert (await core.clip(from_discord)).user_id == person
        # Bo's approval moved; her approval of her own Discord account is gone (it is her now).
        grants = await _rows(rig, "SELECT c.handle, g.user_id FROM cameo_grants g JOIN cameos c ON c.id = g.cameo_id")
        assert grants == [{"handle": "bocam", "user_id": person}]
        assert (await _rows(rig, "SELECT is_admin FROM users WHERE id = ?", [person]))[0]["is_admin"] == 1
        assert (await core.handle_text(ANA_TG, GROUP, f"sora @bocam and @anatg wave {SHORT}")).ok
        jobs = await core.jobs_of(ANA_DC)
        assert len(jobs) >= 3
