"""Remixing a clip by replying to its message on Discord: the real core, the adapter, the real discord.py client and
the fake Discord, which withholds message text the way Discord does for a bot without the Message Content intent."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bots.discordbot import DiscordAdapter
from core.identity import Actor, Place
from core.service import Sorabox
from tests.discord.test_discord_adapter import (
    adapter,
    answered,
    clip_id_of,
    clip_posts,
    core,
    running_adapter,
    sora_clip,
)
from tests.fakes.discord_server import (
    FakeChannel,
    FakeDiscord,
    FakeMessage,
    FakeUser,
    discord_py_pointed_at,
    fake_discord,
    no_real_network,
    running_client,
)
from tests.support import ToneGenerator, running_core

__all__ = ["adapter", "core", "fake_discord", "no_real_network"]  # fixtures used by this module


def answers_to(fake: FakeDiscord, message: FakeMessage) -> list[FakeMessage]:
    """The bot's replies to a person's message."""
    return [m for m in fake.messages.values() if m.author.id == fake.bot.id and m.reference_id == message.id]


async def answer_to(fake: FakeDiscord, message: FakeMessage, needle: str) -> FakeMessage:
    """Wait until the bot's reply to `message` says `needle` (its progress edits end with the outcome)."""
    await fake.wait_until(
        lambda: any(needle in m.content for m in answers_to(fake, message)),
        within=20,
        what=f"the answer to say {needle!r}",
    )
    [answer] = answers_to(fake, message)
    return answer


def thread_of(fake: FakeDiscord, post: FakeMessage) -> FakeChannel:
    thread = fake.thread_of(post)
    assert thread is not None
    return thread


async def ledger_of(core: Sorabox, job_id: str) -> list[tuple[str, int]]:
    rows = await core.db.read(
        lambda db: list(db.query("SELECT kind, credits FROM quota_ledger WHERE job_id = ? ORDER BY id", [job_id]))
    )
    return [(row["kind"], row["credits"]) for row in rows]


def discord_actor(user: FakeUser, *roles: str) -> Actor:
    return Actor("discord", str(user.id), user.username, roles)


# ------------------------------------------------------------------------------------------------ the fake


class MessageRecorder(discord.Client):
    """A bot with message events but without the Message Content intent, like the adapter."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents(guilds=True, guild_messages=True))
        self.seen: dict[int, discord.Message] = {}

    async def on_message(self, message: discord.Message) -> None:
        self.seen[message.id] = message


async def test_without_message_content_only_a_ping_brings_the_text(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    bob = fake.add_member("bob")
    recorder = MessageRecorder()
    with discord_py_pointed_at(fake.api_base, fake.gateway_url):
        async with running_client(fake, recorder):
            await fake.wait_until(recorder.is_ready, what="the client ready")
            channel = recorder.get_channel(fake.general.id)
            assert isinstance(channel, discord.TextChannel)
            ours = fake.messages[(await channel.send("a clip")).id]
            plain = await fake.post_user_message(bob, fake.general, "hello all")
            silent = await fake.post_user_message(bob, fake.general, "make it snow", reply_to=ours, ping=False)
            pinged = await fake.post_user_message(bob, fake.general, "make it rain", reply_to=ours)
            await fake.wait_until(lambda: pinged.id in recorder.seen, what="the pinged reply")
    seen = recorder.seen
    assert seen[ours.id].content == "a clip"  # the bot's own message
    assert seen[plain.id].content == "" and seen[silent.id].content == ""
    got = seen[pinged.id]
    assert got.content == "make it rain" and [user.id for user in got.mentions] == [fake.bot.id]
    assert isinstance(got.author, discord.Member)  # guild messages carry the author's member object
    assert got.reference is not None and got.reference.message_id == ours.id
    replied = got.reference.resolved
    assert isinstance(replied, discord.Message) and replied.author.id == fake.bot.id and replied.content == "a clip"


# ------------------------------------------------------------------------------------------------ remixing


async def test_reply_to_clip_remixes_it_into_its_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    bob = fake.add_member("bob")
    post = await sora_clip(fake, fake.owner)
    thread = thread_of(fake, post)

    reply = await fake.post_user_message(bob, fake.general, "make it snow", reply_to=post)
    remixes = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the remix in the thread")
    assert "make it snow" in remixes[0].content and "— bob" in remixes[0].content
    assert len(clip_posts(fake, fake.general.id)) == 1  # the remix went to the thread, not the channel
    remix = await core.clip(clip_id_of(remixes[0]))
    assert remix.parent_clip_id == clip_id_of(post) and remix.kind == "remix" and remix.prompt == "make it snow"

    # The answer is a reply to Bob's message where he wrote it, edited as the job moves.
    answer = await answer_to(fake, reply, "done")
    assert answer.channel_id == fake.general.id and answer.webhook_id is None
    assert any("queued" in text for text in answer.history)


async def test_a_typed_mention_of_the_bot_is_not_part_of_the_prompt(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    post = await sora_clip(fake, fake.owner)
    thread = thread_of(fake, post)
    # Typed mention, and Reply's ping switched off: the typed mention alone makes Discord send the text.
    reply = await fake.post_user_message(
        fake.owner, fake.general, f"<@{fake.bot.id}>  <@!{fake.bot.id}> at night", reply_to=post, ping=False
    )
    remixes = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the remix")
    assert (await core.clip(clip_id_of(remixes[0]))).prompt == "at night"
    await answer_to(fake, reply, "done")


async def test_replies_in_the_thread_remix_the_clip_they_reply_to(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    bob, carol = fake.add_member("bob"), fake.add_member("carol")
    post = await sora_clip(fake, fake.owner)
    thread = thread_of(fake, post)

    # In the thread, a reply to its starter message (the clip, shown at the top of its thread).
    first = await fake.post_user_message(bob, thread, "make it blue", reply_to=post)
    [bobs] = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="bob's remix")
    await answer_to(fake, first, "done")
    # A reply to Bob's remix, posted in the thread: a remix of the remix.
    second = await fake.post_user_message(carol, thread, "now with a cat", reply_to=bobs)
    await fake.wait_until(lambda: len(clip_posts(fake, thread.id)) == 2, within=20, what="carol's remix")
    carols = clip_posts(fake, thread.id)[1]
    assert answers_to(fake, second)[0].channel_id == thread.id

    tree = await core.lineage(clip_id_of(post))
    assert [(depth, node.clip_id) for depth, node in tree.walk()] == [
        (0, clip_id_of(post)),
        (1, clip_id_of(bobs)),
        (2, clip_id_of(carols)),
    ]


async def test_reply_to_a_clip_in_a_dm_remixes_it_there(fake_discord: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake = fake_discord
    dana = fake.add_user("dana")
    dm = fake.dm_channel(dana)
    await fake.invoke_command("sora", user=dana, channel=dm, prompt="a paper boat on a pond")
    [post] = await fake.wait_until(lambda: clip_posts(fake, dm.id), within=20, what="the clip in the DM")
    # DMs carry their text without any intent, pinged or not.
    reply = await fake.post_user_message(dana, dm, "in the rain", reply_to=post, ping=False)
    await fake.wait_until(lambda: len(clip_posts(fake, dm.id)) == 2, within=20, what="the remix in the DM")
    await answer_to(fake, reply, "done")
    assert fake.threads() == []


# ------------------------------------------------------------------------------------------------ left alone


async def test_reply_without_ping_is_ignored(fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox) -> None:
    fake = fake_discord
    bob = fake.add_member("bob")
    post = await sora_clip(fake, fake.owner)
    chatter = await fake.post_user_message(bob, fake.general, "nice one")
    silent = await fake.post_user_message(bob, fake.general, "make it snow", reply_to=post, ping=False)
    # A reply to a person that types the bot's mention is a conversation between people, not a request.
    aside = await fake.post_user_message(fake.owner, fake.general, f"<@{fake.bot.id}> look", reply_to=chatter)
    # Messages are handled in order: once this one is answered, the ones before it were seen.
    pinged = await fake.post_user_message(bob, fake.general, "make it rain", reply_to=post)
    await answer_to(fake, pinged, "queued")

    assert answers_to(fake, silent) == [] and answers_to(fake, chatter) == [] and answers_to(fake, aside) == []
    [job] = await core.jobs_of(discord_actor(bob))
    assert job.prompt == "make it rain"
    assert len(await core.jobs_of(discord_actor(fake.owner))) == 1  # the /sora clip only: no job for the aside


# ------------------------------------------------------------------------------------------------ refusals


async def test_reply_to_a_non_clip_bot_message_says_so(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    tree = await fake.invoke_command("tree", user=fake.owner, clip="abcdefgh")
    note = await answered(fake, tree, "there is no clip")  # a bot message that is not a clip
    reply = await fake.post_user_message(fake.add_member("bob"), fake.general, "make it snow", reply_to=note)
    answer = await answer_to(fake, reply, "not a sorabox clip")
    assert answer.content.startswith("⚠️")
    assert await core.queue_snapshot() == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<@{bot}>", "the prompt is empty"),
        ("x" * 1500, "the limit is 1000"),
    ],
)
async def test_bad_reply_prompts_get_a_short_answer_and_no_job(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox, text: str, says: str
) -> None:
    fake = fake_discord
    bob = fake.add_member("bob")
    post = await sora_clip(fake, fake.owner)
    reply = await fake.post_user_message(bob, fake.general, text.format(bot=fake.bot.id), reply_to=post)
    answer = await answer_to(fake, reply, says)
    assert answer.content.startswith("⚠️") and "Traceback" not in answer.content
    assert await core.jobs_of(discord_actor(bob)) == []


async def test_reply_remix_counts_against_quota(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    async with running_core(tmp_path / "data", ToneGenerator(steps=2)) as core, running_adapter(fake, core):
        post = await sora_clip(fake, fake.owner)
        thread = thread_of(fake, post)
        source = await core.clip(clip_id_of(post))
        cost = core.settings.quota.cost(source.seconds, source.width, source.height)  # a remix costs its source's
        # Bob's role allows exactly one remix of it a day.
        one_remix = await fake.add_role("one-remix-a-day")
        bob = fake.add_member("bob")
        fake.give_role(bob, one_remix)
        setting = await fake.invoke_command(
            "sora-admin", subcommand="quota", user=fake.owner, role=one_remix, credits=cost
        )
        await answered(fake, setting, f"is now {cost} credits")

        first = await fake.post_user_message(bob, fake.general, "make it snow", reply_to=post)
        await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="bob's remix")
        await answer_to(fake, first, "done")
        bob_actor = discord_actor(bob, str(one_remix.id))  # the role Discord sent with his message
        [job] = await core.jobs_of(bob_actor)
        assert await ledger_of(core, job.id) == [("reserve", -cost), ("commit", 0)]
        status = await core.quota_status(bob_actor, Place("discord", str(fake.general.id), str(fake.guild_id)))
        assert (status.allowance, status.used, status.remaining) == (cost, cost, 0)

        second = await fake.post_user_message(bob, fake.general, "make it rain", reply_to=post)
        refused = await answer_to(fake, second, f"this needs {cost} credits and you have 0 left")
        assert refused.content.startswith("⚠️")
        assert len(await core.jobs_of(bob_actor)) == 1
        assert len(clip_posts(fake, thread.id)) == 1
