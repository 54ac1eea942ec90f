"""Cameos on Discord: `/cameo ...` and `/forgetme` through the real discord.py client against the loopback fake
Discord, over the real core with cameos installed (SQLite in tmp_path, the real likeness checker for uploads).

Reference videos with a real face and real speech come from tests/cameos/reference.py (the astronaut photo and
espeak-ng); tests about rules rather than checks create the cameo from a synthetic likeness to stay fast.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.errors import UnknownClip
from core.identity import Actor, Place
from tests.cameos.helpers import Rig, cameo_core, synthetic_likeness
from tests.cameos.reference import needs_espeak, speaking_astronaut, speaking_wall
from tests.discord.test_discord_adapter import answered, clip_id_of, clip_posts, original, running_adapter
from tests.fakes.discord_server import (
    ACK_DEADLINE_S,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    UserActionRefused,
    fake_discord,
    no_real_network,
)
from tests.support import ToneGenerator

__all__ = ["fake_discord", "no_real_network"]  # fixtures used by this module

SMALL = {"seconds": 3, "aspect": "square"}


@asynccontextmanager
async def cameo_service(fake: FakeDiscord, tmp_path: Path, **overrides: Any) -> AsyncIterator[Rig]:
    """The core with cameos installed (no watermark: not what these tests are about) and the adapter on it."""
    generator = overrides.pop("generator", None) or ToneGenerator(steps=2)
    async with (
        cameo_core(tmp_path / "data", generator, provenance=False, **overrides) as rig,
        running_adapter(fake, rig.core),
    ):
        yield rig


def discord_actor(user: FakeUser) -> Actor:
    return Actor("discord", str(user.id), user.username)


def dm_place(fake: FakeDiscord, user: FakeUser) -> Place:
    return Place("discord", str(fake.dm_channel(user).id), is_private=True)


async def give_cameo(fake: FakeDiscord, rig: Rig, user: FakeUser, handle: str) -> None:
    """`user` owns cameo `handle`, made in their DM (from a synthetic likeness: these tests are about rules)."""
    made = await rig.cameos.create_from_likeness(
        discord_actor(user), dm_place(fake, user), handle, synthetic_likeness()
    )
    assert made.ok, made.text


async def cameo_command(
    fake: FakeDiscord, user: FakeUser, subcommand: str, needle: str, *, in_dm: bool = True, **options: Any
) -> FakeMessage:
    """`user` runs `/cameo <subcommand>`; returns the (private) answer once it says `needle`."""
    channel = fake.dm_channel(user) if in_dm else fake.general
    interaction = await fake.invoke_command("cameo", subcommand=subcommand, user=user, channel=channel, **options)
    answer = await answered(fake, interaction, needle)
    assert answer.is_ephemeral
    return answer


def notices_to(fake: FakeDiscord, user: FakeUser) -> list[FakeMessage]:
    return [
        m
        for m in fake.channel_messages(fake.dm_channel(user))
        if m.author.id == fake.bot.id and "used your cameo" in m.content
    ]


async def waiting_job(interaction: FakeInteraction, fake: FakeDiscord) -> str:
    answer = await answered(fake, interaction, "queued")
    found = re.search(r"`([a-z0-9]{8})`", answer.content)
    assert found, answer.content
    return found.group(1)


@needs_espeak
async def test_a_member_creates_a_cameo_from_an_attachment_and_a_friend_uses_it_after_allow(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    ana, bo = fake.add_member("ana"), fake.add_member("bo")
    async with cameo_service(fake, tmp_path) as rig:
        video = fake.upload("me.mp4", await asyncio.to_thread(speaking_astronaut, 4.0))
        create = await fake.invoke_command(
            "cameo", subcommand="create", user=ana, channel=fake.dm_channel(ana), video=video, handle="ana"
        )
        created = await answered(fake, create, "created cameo @ana")
        # Deferred before the download and the face and speech checks, which take seconds.
        assert create.ack_latency is not None and create.ack_latency < ACK_DEADLINE_S
        assert created.is_ephemeral and "a face in" in created.content and "`/cameo allow" in created.content
        assert (await rig.cameos.handle_of("discord", str(ana.id))) == "ana"

        # Without approval Bo is refused, and nothing is generated.
        refused = await fake.invoke_command("sora", user=bo, prompt="waves at the camera", cameo=ana, **SMALL)
        await answered(fake, refused, "its owner has not approved you")
        assert rig.generator.calls == []

        await cameo_command(fake, ana, "allow", "may now use @ana", person=bo)
        await fake.invoke_command("sora", user=bo, prompt="waves at the camera", cameo=ana, **SMALL)
        [post] = await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="Bo's clip")
        clip = clip_id_of(post)
        [request] = rig.generator.calls
        assert [c.handle for c in request.cameos] == ["ana"] and request.cameos[0].face is not None

        # Ana hears about it in her DM, with a Delete button for that clip and the commands as Discord has them.
        [notice] = await fake.wait_until(lambda: notices_to(fake, ana), within=10, what="the notice to Ana")
        assert clip in notice.content and "`/delete " in notice.content
        assert notice.custom_ids() == [f"sora:delete:{clip}"]
        assert clip in (await cameo_command(fake, ana, "clips", clip)).content

        # The Delete button under the notice takes the clip down everywhere, notice included.
        await fake.click(notice, f"sora:delete:{clip}", user=ana)
        await fake.wait_until(lambda: post.deleted and notice.deleted, within=10, what="the clip's posts removed")
        with pytest.raises(UnknownClip):
            await rig.core.clip(clip)


async def test_a_cameo_without_consent_is_refused_for_another_member(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    ana, bo, cy = fake.add_member("ana"), fake.add_member("bo"), fake.add_member("cy")
    async with cameo_service(fake, tmp_path) as rig:
        await give_cameo(fake, rig, ana, "ana")
        await cameo_command(fake, ana, "allow", "may now use @ana", person=bo)
        general = Place("discord", str(fake.general.id), str(fake.guild_id))
        before = (await rig.core.quota_status(discord_actor(cy), general)).remaining

        by_option = await fake.invoke_command("sora", user=cy, prompt="dances", cameo=ana, **SMALL)
        assert (
            "⚠️ @ana can't be used: its owner has not approved you"
            in (await answered(fake, by_option, "not approved")).content
        )
        by_mention = await fake.invoke_command("sora", user=cy, prompt="@ana dances in the rain", **SMALL)
        await answered(fake, by_mention, "its owner has not approved you")
        after = (await rig.core.quota_status(discord_actor(cy), general)).remaining
        assert after == before and rig.generator.calls == []

        # Taking Bo's approval back works the same way, and the settings show who may use it.
        await cameo_command(fake, ana, "deny", "may no longer use @ana", person=bo)
        settings = await cameo_command(fake, ana, "settings", "approved: nobody yet")
        assert "who may use it: you and the people you approved" in settings.content
        refused = await fake.invoke_command("sora", user=bo, prompt="waves", cameo=ana, **SMALL)
        await answered(fake, refused, "its owner has not approved you")

        # Someone else cannot change Ana's cameo.
        await cameo_command(fake, cy, "who", "is not your cameo", level="everyone", cameo="ana")


async def test_revoke_on_discord_cancels_a_queued_job_that_uses_it(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    ana, bo = fake.add_member("ana"), fake.add_member("bo")
    gate = threading.Event()
    gate.set()
    async with cameo_service(fake, tmp_path, generator=ToneGenerator(steps=2, gate=gate)) as rig:
        await give_cameo(fake, rig, ana, "ana")
        await cameo_command(fake, ana, "allow", "may now use @ana", person=bo)
        gate.clear()  # Ana's own clip holds the only worker; Bo's clip with her cameo waits behind it
        await fake.invoke_command("sora", user=ana, prompt="a red ball bounces", **SMALL)
        waiting = await fake.invoke_command("sora", user=bo, prompt="juggles", cameo=ana, **SMALL)
        job = await waiting_job(waiting, fake)
        await cameo_command(fake, ana, "revoke", "turned off")
        gate.set()
        cancelled = await answered(fake, waiting, "cancelled")
        assert "@ana can't be used" in cancelled.content and "refunded" in cancelled.content
        assert (await rig.core.job(job)).state == "cancelled"
        assert [c.prompt for c in rig.generator.calls] == ["a red ball bounces"]


async def test_a_notice_the_core_addresses_to_a_user_id_arrives_in_a_new_dm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    ana, bo = fake.add_member("ana"), fake.add_member("bo")
    async with cameo_service(fake, tmp_path) as rig:
        # Made outside any Discord DM (the CLI): the core knows only Ana's Discord user id to write to.
        made = await rig.cameos.create_from_likeness(
            discord_actor(ana), Place("cli", "local"), "ana", synthetic_likeness()
        )
        assert made.ok, made.text
        await rig.cameos.set_visibility(discord_actor(ana), Place("cli", "local"), "everyone", "ana")
        await fake.invoke_command("sora", user=bo, prompt="@ana waves", **SMALL)
        [notice] = await fake.wait_until(lambda: notices_to(fake, ana), within=20, what="the notice in a new DM")
        assert "bo used your cameo @ana" in notice.content and notice.custom_ids()[0].startswith("sora:delete:")
        refused = [r.status for r in fake.requests if r.path == f"/channels/{ana.id}/messages"]
        assert refused == [404]  # Discord: no channel with a user's id; the adapter then opened the DM
        opened = [r for r in fake.requests if r.method == "POST" and r.path == "/users/@me/channels"]
        assert opened and all(r.status == 200 for r in opened)


@needs_espeak
async def test_a_blank_video_is_refused_with_the_reason(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    ana = fake.add_member("ana")
    async with cameo_service(fake, tmp_path, cameo_max_bytes=2_000_000) as rig:
        wall = fake.upload("wall.mp4", await asyncio.to_thread(speaking_wall, 4.0))
        blank = await cameo_command(fake, ana, "create", "I could see a face in only 0 of 12", video=wall, handle="ana")
        assert blank.content.startswith("⚠️ I can't make cameo @ana from that video")

        text = fake.upload("notes.txt", b"not a video at all", "text/plain")
        await cameo_command(fake, ana, "create", "send an MP4, MOV or WebM video", video=text, handle="ana")

        # Above the service's limit: refused from the size Discord gives, before anything is downloaded.
        big = fake.upload("long.mp4", bytes(3_000_000))
        await cameo_command(fake, ana, "create", "it is 3 MB; the limit is 2 MB", video=big, handle="ana")
        assert big.id not in fake.downloads and wall.id in fake.downloads

        # A reference video is personal: not taken in a server's channel, even though the answer is private.
        in_server = fake.upload("me.mp4", b"\0" * 1000)
        await cameo_command(fake, ana, "create", "in a DM with me", in_dm=False, video=in_server, handle="ana")
        assert in_server.id not in fake.downloads

        assert (await rig.cameos.handle_of("discord", str(ana.id))) is None
        assert rig.media.files() == []


async def test_forgetme_asks_before_it_forgets(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    ana, bo = fake.add_member("ana"), fake.add_member("bo")
    async with cameo_service(fake, tmp_path) as rig:
        await give_cameo(fake, rig, ana, "ana")
        await fake.invoke_command("sora", user=ana, prompt="a red ball bounces", **SMALL)
        [post] = await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="Ana's clip")

        ask = await fake.invoke_command("forgetme", user=ana)
        question = await answered(fake, ask, "cannot be undone")
        assert question.is_ephemeral and "Press **Yes, delete everything** within 10 minutes" in question.content
        assert "forgetme confirm" not in question.content
        button = f"sora:forget:{ana.id}"
        assert question.custom_ids() == [button]
        # Asking deleted nothing yet.
        assert (await rig.cameos.handle_of("discord", str(ana.id))) == "ana"
        assert not post.deleted
        with pytest.raises(UserActionRefused):  # nobody else even sees the question
            await fake.click(question, button, user=bo)

        await fake.click(question, button, user=ana)
        done = await fake.wait_until(
            lambda: "done: deleted your data" in original(fake, ask).content and original(fake, ask),
            within=15,
            what="the confirmation's result",
        )
        assert "1 clip(s), 1 cameo(s)" in done.content and done.custom_ids() == []
        await fake.wait_until(lambda: post.deleted, within=10, what="Ana's clip taken down")
        assert (await rig.cameos.handle_of("discord", str(ana.id))) is None


async def test_help_on_discord_names_only_commands_people_can_use_here(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    async with cameo_service(fake, tmp_path) as rig:
        synced = set(fake.global_commands())
        # Every command of the core's grammar has a slash command here, except Reroll, which is a clip button.
        assert set(rig.core.usage) - synced == {"reroll"}
        assert {"cameo", "forgetme", "delete"} <= synced

        overview = await answered(fake, await fake.invoke_command("help", user=fake.owner), "Commands:")
        named = set(re.findall(r"^/([a-z-]+)", overview.content, re.MULTILINE))
        assert {"sora", "cameo", "forgetme", "delete", "help"} <= named and named <= synced
        assert "sora <prompt>" not in overview.content  # the typed grammar is not how Discord works

        member = fake.add_member("bo")
        for_member = await answered(fake, await fake.invoke_command("help", user=member), "Commands:")
        assert "/sora-admin" not in for_member.content

        cameo = await answered(fake, await fake.invoke_command("help", user=member, command="cameo"), "/cameo allow")
        assert "/cameo create video handle [name] [visibility]" in cameo.content
        assert len(cameo.content) <= 2000 and len(overview.content) <= 2000
