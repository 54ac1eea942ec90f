"""`cameo allow <name>` matches handles, never display names, and answers name people by @username or by display name
with their platform, never by a raw account id (#16 finding 10 and the cameo message)."""

from __future__ import annotations

from pathlib import Path

from core.identity import Actor, Place
from tests.cameos.helpers import cameo_core, dm, synthetic_likeness

ALICE = Actor("telegram", "111", "Alice")
BOB = Actor("telegram", "222", "Bob")
# Anyone can call themselves "Bob": a display name is not an identity.
IMPOSTOR = Actor("telegram", "666", "Bob")
GROUP = Place("telegram", "-100", "-100")


async def _alice_with_a_cameo(rig) -> None:  # type: ignore[no-untyped-def]
    made = await rig.cameos.create_from_likeness(ALICE, dm(ALICE), "alicecam", synthetic_likeness())
    assert made.ok, made.text


async def test_a_display_name_never_names_anyone(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        await _alice_with_a_cameo(rig)
        await rig.core.handle_text(IMPOSTOR, GROUP, "cameo list")  # the impostor has used the bot, as "Bob"

        reply = await rig.core.handle_text(ALICE, dm(ALICE), "cameo allow Bob")

        assert not reply.ok and "don't know anyone called Bob" in reply.text
        grants = await rig.db.read(lambda db: list(db.query("SELECT * FROM cameo_grants")))
        assert grants == []


async def test_a_handle_names_the_account_that_showed_it_and_the_answer_says_the_handle(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        await _alice_with_a_cameo(rig)
        await rig.core.handle_text(IMPOSTOR, GROUP, "cameo list")
        await rig.core.handle_text(BOB, GROUP, "cameo list")
        await rig.core.remember_handle("telegram", "bob", BOB.user_id)

        # As the Telegram adapter passes `@bob` on: the account it resolved the mention to.
        allowed = await rig.core.handle_text(ALICE, dm(ALICE), f"cameo allow telegram:{BOB.user_id}")
        by_handle = await rig.core.handle_text(ALICE, dm(ALICE), "cameo allow @bob")
        settings = await rig.core.handle_text(ALICE, dm(ALICE), "cameo settings")

        assert allowed.text == "@bob may now use @alicecam", allowed.text
        assert by_handle.text == "@bob may now use @alicecam", by_handle.text
        assert "approved: @bob" in settings.text
        assert (await rig.core.handle_text(BOB, GROUP, "sora @alicecam waves --seconds 1 --size 96x64")).ok
        assert not (await rig.core.handle_text(IMPOSTOR, GROUP, "sora @alicecam waves --seconds 1 --size 96x64")).ok


async def test_without_a_handle_the_answer_names_the_platform_and_never_a_raw_id(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        await _alice_with_a_cameo(rig)
        await rig.core.handle_text(BOB, GROUP, "cameo list")  # seen, but with no @username
        known = await rig.core.handle_text(ALICE, dm(ALICE), f"cameo allow telegram:{BOB.user_id}")
        unseen = await rig.core.handle_text(ALICE, dm(ALICE), "cameo allow telegram:333")
        denied = await rig.core.handle_text(ALICE, dm(ALICE), f"cameo deny telegram:{BOB.user_id}")

        assert known.text == "telegram user Bob may now use @alicecam", known.text
        assert unseen.ok and "333" not in unseen.text and "a telegram account" in unseen.text, unseen.text
        assert denied.text.startswith("telegram user Bob may no longer use @alicecam"), denied.text
        # Naming Bob by id did not rename him to his id.
        settings = await rig.core.handle_text(ALICE, dm(ALICE), "cameo settings")
        assert "333" not in settings.text and "a telegram account" in settings.text
