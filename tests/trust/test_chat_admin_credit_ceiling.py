"""A chat admin cannot give their own server or group more credits than the service admin allows (#16 finding 6)."""

from __future__ import annotations

from pathlib import Path

from core.identity import Actor, Place
from tests.support import running_core

# Anyone can create a Discord server (Manage Server) or a Telegram group (admin) and be its admin.
OWNER = Actor("discord", "900", "mallory", is_admin=True)
MEMBER = Actor("discord", "901", "bob")
HER_SERVER = Place("discord", "chan-1", "guild-1")
OPERATOR = Actor("cli", "root", "root")


async def _allowance(core, who: Actor) -> int:  # type: ignore[no-untyped-def]
    return (await core.quota_status(who, HER_SERVER)).allowance


async def test_a_chat_admin_is_held_to_the_ceiling(tmp_path: Path) -> None:
    async with running_core(tmp_path, chat_admin_max_credits=120) as core:
        huge = await core.set_quota_override(OWNER, "discord", "guild-1", None, 1_000_000)
        assert not huge.ok and "at most 120 credits a day" in huge.text
        over = await core.set_quota_override(OWNER, "discord", "guild-1", "some-role", 121)
        assert not over.ok
        assert await _allowance(core, MEMBER) == 60 and await _allowance(core, OWNER) == 60

        within = await core.set_quota_override(OWNER, "discord", "guild-1", None, 120)
        assert within.ok, within.text
        assert await _allowance(core, MEMBER) == 120
        lower = await core.set_quota_override(OWNER, "discord", "guild-1", "muted", 0)
        assert lower.ok, lower.text


async def test_the_ceiling_defaults_to_300_and_binds_no_service_admin(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        assert not (await core.set_quota_override(OWNER, "discord", "guild-1", None, 301)).ok
        await core.make_admin(OPERATOR)
        generous = await core.set_quota_override(OPERATOR, "discord", "guild-1", None, 5_000)
        assert generous.ok, generous.text
        assert await _allowance(core, MEMBER) == 5_000
