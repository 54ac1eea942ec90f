"""A clip made in a private chat is its maker's alone: nobody else can find it by id, use it, or read it in a tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.console.threads import recent_clips
from core.events import JobDone
from core.identity import Place
from tests.support import actor, place, running_core, wait_for

SHORT = "--seconds 1 --size 96x64"


def dm(name: str) -> Place:
    return Place(platform="test", channel_id=f"dm-{name}", is_private=True)


async def _made(core, events, who: str, where: Place, text: str) -> str:
    reply = await core.handle_text(actor(who), where, text)
    assert reply.ok, reply.text
    return (await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)).clip_id


BY_ID = [
    "remix {clip} a blue ball",
    "extend {clip}",
    "reroll {clip}",
    "stitch {clip} {clip}",
    "tree {clip}",
    "delete {clip}",
]


@pytest.mark.parametrize("command", BY_ID)
async def test_someone_elses_private_clip_cannot_be_used_or_read_by_id(tmp_path: Path, command: str) -> None:
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        secret = await _made(core, events, "ana", dm("ana"), f"sora my secret birthday plan {SHORT}")
        credits = (await core.quota_status(actor("bo"), place())).remaining

        reply = await core.handle_text(actor("bo"), place(), command.format(clip=secret))

        assert not reply.ok and reply.text == f"there is no clip `{secret}`"
        assert "birthday" not in reply.text
        assert (await core.quota_status(actor("bo"), place())).remaining == credits


async def test_the_maker_still_uses_their_private_clip(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        secret = await _made(core, events, "ana", dm("ana"), f"sora my secret birthday plan {SHORT}")
        for command in (f"remix {secret} now in blue", f"extend {secret}", f"tree {secret}"):
            reply = await core.handle_text(actor("ana"), dm("ana"), command)
            assert reply.ok, reply.text


async def test_a_public_remix_of_a_private_clip_shows_it_without_its_prompt(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        secret = await _made(core, events, "ana", dm("ana"), f"sora my secret birthday plan {SHORT}")
        shared = await _made(core, events, "ana", place(), f"remix {secret} a red ball for everyone")

        seen_by_bo = await core.handle_text(actor("bo"), place(), f"tree {shared}")
        seen_by_ana = await core.handle_text(actor("ana"), place(), f"tree {shared}")

        assert seen_by_bo.ok and "birthday" not in seen_by_bo.text and "a private clip" in seen_by_bo.text
        assert seen_by_bo.tree is not None and seen_by_bo.tree.posts == ()
        assert "a red ball for everyone" in seen_by_bo.text
        assert "birthday" in seen_by_ana.text


async def test_the_gallery_follows_the_same_rule(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        secret = await _made(core, events, "ana", dm("ana"), f"sora my secret birthday plan {SHORT}")
        public = await _made(core, events, "ana", place(), f"sora a public ball {SHORT}")
        for who, expected in (("ana", {secret, public}), ("bo", {public})):
            shown = {c.clip_id for c in await recent_clips(core.db, viewer=actor(who))}
            assert shown == expected, who
