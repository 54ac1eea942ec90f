"""Account linking through the real Telegram adapter (python-telegram-bot against the fake Bot API server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.identity import Actor, Place
from tests.fakes.telegram_harness import reply_text, world
from tests.fakes.telegram_server import no_real_network

__all__ = ["no_real_network"]  # the fixture, imported so pytest applies it here

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_link_is_answered_privately_on_telegram_and_the_code_joins_a_discord_account(tmp_path: Path) -> None:
    async with world(tmp_path) as (core, server, _):
        ana, bo = server.add_user("Ana", "ana"), server.add_user("Bo", "bo")
        group = server.add_group("Friends", [ana, bo])
        dm = server.private_chat(ana)

        async def say(chat, text: str) -> str:  # type: ignore[no-untyped-def]
            return await reply_text(server, chat, server.send_text(chat, ana, text))

        # In the group no code is shown: anyone reading it could join Ana's account.
        refused = await say(group, "/link")
        assert "private chat" in refused and not re.search(r"link [A-Z2-9]{8}", refused)

        answer = await say(dm, "/link")
        match = re.search(r"link ([A-Z2-9]{8})", answer)
        assert match and "other account" in answer, answer
        discord = Actor("discord", "4242", "ana_dc")
        joined = await core.handle_text(discord, Place("discord", "dm-4242", is_private=True), f"link {match.group(1)}")
        assert joined.ok, joined.text

        listed = await say(dm, "/links")
        assert "telegram (Ana)" in listed and "discord (ana_dc)" in listed
        credits = await core.quota_status(discord, Place("discord", "dm-4242", is_private=True))
        assert "credits left today" in await say(dm, "/quota") and credits.used == 0
