"""One command registry: built-in commands and extension commands are found the same way, by the command's type."""

from __future__ import annotations

from dataclasses import dataclass

from core.commands import Limits, Quota
from core.identity import Actor, Place
from core.records import Reply
from tests.support import actor, place, running_core


@dataclass(frozen=True)
class Wave:
    who: str


def parse_wave(rest: str, limits: Limits) -> Wave:
    return Wave(rest.strip() or "everyone")


async def test_an_extension_command_is_parsed_dispatched_and_listed_in_help_like_a_built_in(tmp_path) -> None:
    async with running_core(tmp_path) as core:

        async def wave(who: Actor, where: Place, command: Wave) -> Reply:
            return Reply(f"{who.display_name} waves at {command.who} in {where.channel_id}")

        core.register_command("wave", parse_wave, Wave, wave, "wave [who]")
        assert (await core.handle_text(actor(), place(), "/wave bo")).text == "Ana waves at bo in chan"
        assert (await core.execute(actor(), place(), Wave("cy"))).text == "Ana waves at cy in chan"
        assert "wave [who]" in (await core.handle_text(actor(), place(), "help")).text


async def test_registering_a_built_in_name_replaces_its_handler_for_text_and_parsed_commands(tmp_path) -> None:
    async with running_core(tmp_path) as core:
        before = await core.handle_text(actor(), place(), "quota")
        assert before.ok and "credits left today" in before.text

        async def quota(who: Actor, where: Place, command: Quota) -> Reply:
            return Reply("quotas are off here")

        core.register_command("quota", core.parsers["quota"], Quota, quota)
        assert (await core.handle_text(actor(), place(), "quota")).text == "quotas are off here"
        assert (await core.execute(actor(), place(), Quota())).text == "quotas are off here"


async def test_a_command_of_a_type_nobody_registered_is_refused_not_raised(tmp_path) -> None:
    async with running_core(tmp_path) as core:
        reply = await core.execute(actor(), place(), Wave("bo"))
        assert not reply.ok and reply.text == "unknown command"
