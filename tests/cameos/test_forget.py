"""`forgetme`: a person's rows and files are gone everywhere; other people's work stays, without their name."""

from __future__ import annotations

from pathlib import Path

from core.events import ClipDeleted, JobDone
from core.identity import Place
from core.jobs import quotas
from tests.cameos.helpers import GROUP, Rig, cameo_core, dm, person, synthetic_likeness
from tests.support import wait_for

ZOE, BO, ADMIN = person("zoe_q"), person("bo"), person("root")
SHORT = "--seconds 1 --size 160x96"


async def _make(rig: Rig, who: object, text: str) -> str:
    subscription = rig.core.bus.subscribe()
    reply = await rig.core.handle_text(who, GROUP, text)  # type: ignore[arg-type]
    assert reply.ok, reply.text
    done = await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
    subscription.close()
    return done.clip_id  # type: ignore[attr-defined]


async def _rows(rig: Rig, sql: str) -> list[dict[str, str]]:
    return await rig.db.read(lambda db: [dict(r) for r in db.query(sql)])


async def _everything(rig: Rig) -> list[tuple[str, str]]:
    """(table, text of the row) for every row of every table."""

    def dump(db):  # type: ignore[no-untyped-def]
        rows = []
        for table in db.table_names():
            for row in db.query(f"SELECT * FROM [{table}]"):
                rows.append((table, " ".join(str(v) for v in row.values())))
        return rows

    return await rig.db.read(dump)


async def test_forgetme_leaves_no_row_and_no_file_of_the_person_and_keeps_others_remixes(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        core = rig.core
        created = await rig.cameos.create_from_likeness(
            ZOE, dm(ZOE), "zoeq", synthetic_likeness(1), reference=b"zoe's reference video bytes"
        )
        assert created.ok
        assert (await rig.cameos.create_from_likeness(BO, dm(BO), "bocam", synthetic_likeness(2))).ok
        await core.handle_text(ZOE, dm(ZOE), "cameo allow test:id-bo")
        await core.handle_text(BO, dm(BO), "cameo allow test:id-zoe_q")
        await core.remember_handle(ZOE.platform, "@Zoe_Q", ZOE.user_id)  # an @username a platform showed for her

        own_with_cameo = await _make(rig, ZOE, f"sora @zoeq and @bocam wave {SHORT}")
        own_plain = await _make(rig, ZOE, f"sora a red ball bounces {SHORT}")
        others_with_her = await _make(rig, BO, f"sora @zoeq juggles {SHORT}")
        others_remix = await _make(rig, BO, f"remix {own_plain} make it blue")
        for delivery in await core.claim_deliveries("test"):
            await core.delivery_sent(delivery.id, f"message-{delivery.id}")
        cameo = (await _rows(rig, "SELECT * FROM cameos WHERE handle = 'zoeq'"))[0]
        user_id = cameo["owner_user_id"]
        her_files = {core.media_path(await core.clip(c)) for c in (own_with_cameo, own_plain, others_with_her)}
        her_files |= {
            rig.media.path(cameo["face_sha256"], ".png"),
            rig.media.path(cameo["voice_sha256"], ".wav"),
            rig.media.path(cameo["reference_sha256"], ".ref.mp4"),
        }
        assert len(her_files) == 6 and all(p.exists() for p in her_files)

        asked = await core.handle_text(ZOE, dm(ZOE), "forgetme")
        assert asked.ok and asked.data == {"needs_confirmation": True} and "forgetme confirm" in asked.text
        assert any("zoe" in text.lower() for _, text in await _everything(rig))

        subscription = core.bus.subscribe()
        done = await core.handle_text(ZOE, dm(ZOE), "forgetme confirm")
        assert done.ok, done.text
        assert done.data["report"]["placeholders"] == 1

        # No row anywhere names her: not her user id, account id, name, handle or cameo.
        leftovers = [(t, text) for t, text in await _everything(rig) if "zoe" in text.lower() or user_id in text]
        assert leftovers == []
        # No file of hers: her clips, and her face, voice and reference video.
        assert [p for p in her_files if p.exists()] == []
        # Every clip of hers, or showing her, was taken down where it was posted.
        taken_down = set()
        while len(taken_down) < 3:
            event = await wait_for(subscription, lambda e: isinstance(e, ClipDeleted))
            taken_down.add(event.clip_id)  # type: ignore[attr-defined]
        assert taken_down == {own_with_cameo, own_plain, others_with_her}
        subscription.close()

        # Bo's remix stays, hanging from an anonymous placeholder; Bo's own cameo is untouched.
        remix = await core.clip(others_remix)
        assert core.media_path(remix).exists()
        tree = await core.lineage(others_remix)
        assert tree.clip_id == own_plain and tree.deleted and tree.author == "someone (deleted)"
        assert (await core.handle_text(BO, GROUP, f"sora @bocam bows {SHORT}")).ok
        assert await rig.db.read(quotas.unbalanced_jobs) == []


async def test_forgetme_needs_a_recent_confirmation_and_only_admins_can_forget_someone_else(tmp_path: Path) -> None:
    async with cameo_core(tmp_path, provenance=False) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(BO, dm(BO), "bocam", synthetic_likeness())).ok
        premature = await core.handle_text(BO, dm(BO), "forgetme confirm")
        assert not premature.ok and "send `forgetme` first" in premature.text
        not_admin = await core.handle_text(ZOE, dm(ZOE), "forgetme test:id-bo")
        assert not not_admin.ok and "only a service admin" in not_admin.text

        await core.make_admin(ADMIN)
        asked = await core.handle_text(ADMIN, dm(ADMIN), "forgetme test:id-bo")
        assert asked.ok and "Bo's" in asked.text
        # The admin's request does not let Bo's own `confirm` through, nor the other way round.
        assert not (await core.handle_text(BO, dm(BO), "forgetme confirm")).ok
        done = await core.handle_text(ADMIN, dm(ADMIN), "forgetme test:id-bo confirm")
        assert done.ok, done.text
        assert [t for t, text in await _everything(rig) if "id-bo" in text or "bocam" in text] == []
        assert len(await _rows(rig, "SELECT detail FROM audit_events WHERE kind = 'user_forgotten'")) == 1


async def test_forgetting_a_web_console_user_removes_their_account_sessions_and_links(tmp_path: Path) -> None:
    from core.people.accounts import Accounts

    async with cameo_core(tmp_path, provenance=False) as rig:
        accounts = Accounts(rig.db)
        account = await accounts.create("zoe_web", password="a long enough password")
        await accounts.start_session(account)
        await accounts.issue_link_token(account.id)
        web = account.actor
        console = Place("web", "cameos", is_private=True)
        assert (await rig.cameos.create_from_likeness(web, console, "zoeweb", synthetic_likeness(4))).ok
        assert (await rig.core.handle_text(web, console, "forgetme")).ok
        assert (await rig.core.handle_text(web, console, "forgetme confirm")).ok
        leftovers = [(t, text) for t, text in await _everything(rig) if "zoe" in text.lower() or account.id in text]
        assert leftovers == []
        assert await accounts.by_name("zoe_web") is None
