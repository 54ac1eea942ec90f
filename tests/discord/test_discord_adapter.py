"""The Discord adapter end to end: the real core (SQLite in tmp_path, a real generator, real MP4s), the adapter,
and the real discord.py client against the loopback fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import numpy as np
import pytest
import pytest_asyncio

from bots.discordbot import DiscordAdapter, DiscordSettings
from core.identity import Actor, Place
from core.service import Sorabox
from core.settings import SettingsError
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from model.media import probe
from tests.fakes.discord_server import (
    ACK_DEADLINE_S,
    RESPONSE_DEFERRED_MESSAGE,
    TOKEN_LIFETIME_S,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    UserActionRefused,
    fake_discord,
    no_real_network,
)
from tests.support import ToneGenerator, running_core

__all__ = ["fake_discord", "no_real_network"]  # fixtures used by this module

PROMPT = "a wooden crate slides down a ramp"


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def settings_for(fake: FakeDiscord, **overrides: Any) -> DiscordSettings:
    environ = {
        "SORABOX_DISCORD_TOKEN": fake.token,
        "SORABOX_DISCORD_API_BASE": fake.api_base,
        "SORABOX_DISCORD_GATEWAY_URL": fake.gateway_url,
        "SORABOX_PUBLIC_URL": "http://sorabox.example",
    }
    settings = DiscordSettings.from_env(environ)
    assert settings is not None
    # Short waits so the tests run in seconds; production keeps the defaults.
    quick = {
        "guild_ready_timeout": 0.05,
        "progress_interval_seconds": 0.1,
        "fallback_interval_seconds": 0.2,
        "delivery_poll_seconds": 0.3,
        "delivery_retry_seconds": 0.2,
    }
    return dataclasses.replace(settings, **(quick | overrides))


@contextlib.asynccontextmanager
async def running_adapter(
    fake: FakeDiscord, core: Sorabox, *, expected_errors: tuple[str, ...] = (), **overrides: Any
) -> AsyncIterator[DiscordAdapter]:
    """The adapter started against `fake`; its client task is watched and any logged error fails the test
    (except those starting with one of `expected_errors`)."""
    errors = _ErrorRecords()
    loggers = [logging.getLogger("discord"), logging.getLogger("bots.discordbot")]
    for logger in loggers:
        logger.addHandler(errors)
    adapter = DiscordAdapter(core, settings_for(fake, **overrides))
    await adapter.start()
    assert adapter.client_task is not None
    fake.watch(adapter.client_task)
    try:
        await fake.wait_ready()
        await fake.wait_until(lambda: adapter.client is not None and adapter.client.is_ready(), what="client ready")
        yield adapter
        fake.raise_if_crashed()
    finally:
        await adapter.stop()
        for logger in loggers:
            logger.removeHandler(errors)
    fake.raise_if_crashed()
    unexpected = [r for r in errors.records if not r.getMessage().startswith(expected_errors or ("\0",))]
    assert not unexpected, [f"{r.name}: {r.getMessage()}" for r in unexpected]


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Sorabox]:
    async with running_core(tmp_path / "data", ToneGenerator(steps=3)) as service:
        yield service


@pytest_asyncio.fixture
async def adapter(fake_discord: FakeDiscord, core: Sorabox) -> AsyncIterator[DiscordAdapter]:
    async with running_adapter(fake_discord, core) as running:
        yield running


def clip_posts(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    """Bot messages in a channel that carry clip buttons (the posted results)."""
    return [
        m
        for m in fake.channel_messages(channel_id)
        if m.author.id == fake.bot.id and any(c.startswith("sora:remix:") for c in m.custom_ids())
    ]


def clip_id_of(message: FakeMessage) -> str:
    return next(c for c in message.custom_ids() if c.startswith("sora:remix:")).removeprefix("sora:remix:")


def original(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    assert interaction.original_message_id is not None, "the interaction has no response yet"
    return fake.messages[interaction.original_message_id]


async def answered(fake: FakeDiscord, interaction: FakeInteraction, needle: str) -> FakeMessage:
    """Wait until the interaction's response says `needle`."""
    await fake.wait_until(
        lambda: interaction.original_message_id and needle in original(fake, interaction).content,
        within=15,
        what=f"the response to say {needle!r}",
    )
    return original(fake, interaction)


async def sora_clip(fake: FakeDiscord, user: FakeUser, prompt: str = PROMPT, **options: Any) -> FakeMessage:
    """`user` runs /sora in #general and waits for the clip to be posted there."""
    before = len(clip_posts(fake, fake.general.id))
    interaction = await fake.invoke_command("sora", user=user, prompt=prompt, **options)
    posts = await fake.wait_until(
        lambda: len(clip_posts(fake, fake.general.id)) > before and clip_posts(fake, fake.general.id),
        within=20,
        what="the clip in #general",
    )
    assert interaction.ack_latency is not None and interaction.ack_latency < ACK_DEADLINE_S
    await fake.wait_until(lambda: fake.thread_of(posts[-1]), what="the clip's thread")
    return posts[-1]


async def clip_and_a_remix_by_id(
    fake: FakeDiscord, remixer: FakeUser, prompt: str
) -> tuple[FakeMessage, list[FakeMessage]]:
    """The owner's clip in #general, then `remixer`'s `/remix clip:<id>` of it: the clip and its thread's posts."""
    post = await sora_clip(fake, fake.owner)
    thread = fake.thread_of(post)
    assert thread is not None
    await fake.invoke_command("remix", user=remixer, clip=clip_id_of(post), prompt=prompt)
    remixes = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the remix")
    return post, remixes


# ------------------------------------------------------------------------------------------------ settings


def test_settings_need_a_token_and_read_the_redirects() -> None:
    assert DiscordSettings.from_env({}) is None
    assert DiscordSettings.from_env({"SORABOX_DISCORD_TOKEN": "  "}) is None
    settings = DiscordSettings.from_env(
        {
            "SORABOX_DISCORD_TOKEN": "t",
            "SORABOX_DISCORD_GUILD_IDS": "12, 34",
            "SORABOX_DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "SORABOX_DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway",
        }
    )
    assert settings is not None
    assert settings.guild_ids == (12, 34)
    assert settings.api_base == "http://127.0.0.1:9/api/v10"
    assert settings.gateway_url == "ws://127.0.0.1:9/gateway"
    with pytest.raises(SettingsError, match="GUILD_IDS"):
        DiscordSettings.from_env({"SORABOX_DISCORD_TOKEN": "t", "SORABOX_DISCORD_GUILD_IDS": "general"})


async def test_redirect_is_undone_when_the_adapter_stops(fake_discord: FakeDiscord, core: Sorabox) -> None:
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    before = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with running_adapter(fake_discord, core):
        assert fake_discord.api_base == Route.BASE
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


# ------------------------------------------------------------------------------------------------ the main path


async def test_sora_is_deferred_then_posted_as_a_playable_mp4_in_a_new_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT, seconds=3, aspect="square", seed=7)
    await fake.wait_until(lambda: interaction.acknowledged_at, what="the deferral")
    assert interaction.response_type == RESPONSE_DEFERRED_MESSAGE
    assert interaction.ack_latency is not None and interaction.ack_latency < 0.5  # well inside 3 s

    posts = await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip")
    post = posts[0]
    assert PROMPT in post.content and "credits left" in post.content
    [attachment] = post.attachments
    assert attachment.filename.endswith(".mp4") and attachment.size <= interaction.attachment_size_limit
    info = probe(attachment.data)
    assert (info.width, info.height) == (480, 480) and info.audio_codec == "aac"
    assert [b["label"] for b in post.buttons()] == ["Remix", "Extend", "Reroll", "Delete"]

    thread = await fake.wait_until(lambda: fake.thread_of(post), what="the clip's thread")
    assert thread.name == PROMPT and thread.parent_id == fake.general.id
    response = await answered(fake, interaction, "done")
    assert any("queued" in text for text in response.history)  # the deferral showed progress before the result


async def test_progress_edits_show_steps_with_a_bar(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with (
        running_core(tmp_path / "data", ToneGenerator(steps=4, step_seconds=0.3)) as core,
        running_adapter(fake_discord, core, progress_interval_seconds=0.05),
    ):
        interaction = await fake_discord.invoke_command("sora", user=fake_discord.owner, prompt=PROMPT)
        await answered(fake_discord, interaction, "done")
    texts = [*original(fake_discord, interaction).history, original(fake_discord, interaction).content]
    steps = [t for t in texts if "step " in t]
    assert steps and "█" in steps[-1] and "about" in steps[-1]


async def test_second_user_remixes_through_the_modal_into_the_same_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    bob = fake.add_member("bob")
    post = await sora_clip(fake, fake.owner)
    thread = fake.thread_of(post)
    assert thread is not None

    click = await fake.click(post, f"sora:remix:{clip_id_of(post)}", user=bob)
    modal = await fake.wait_until(lambda: click.modal, what="the remix modal")
    assert modal["title"] == "Remix this clip"
    submit = await fake.submit_modal(click, {"sora:remix-prompt": "make it night and add rain"})
    remixes = await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the remix in the thread")
    assert submit.ack_latency is not None and submit.ack_latency < ACK_DEADLINE_S
    assert "make it night and add rain" in remixes[0].content and "— bob" in remixes[0].content
    assert remixes[0].attachments and fake.thread_of(remixes[0]) is None  # no thread inside a thread
    remix = await core.clip(clip_id_of(remixes[0]))
    assert remix.parent_clip_id == clip_id_of(post)

    # /tree inside the thread needs no id: the thread is the clip's.
    tree = await fake.invoke_command("tree", user=bob, channel=thread)
    shown = await answered(fake, tree, clip_id_of(remixes[0]))
    assert clip_id_of(post) in shown.content and "remixed" in shown.content


async def test_remix_of_a_remix_by_a_third_person_grows_the_tree_in_the_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    bob, carol = fake.add_member("bob"), fake.add_member("carol")
    post = await sora_clip(fake, fake.owner)
    thread = fake.thread_of(post)
    assert thread is not None
    first = await fake.invoke_command("remix", user=bob, clip=clip_id_of(post), prompt="make it blue")
    await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="bob's remix in the thread")
    await answered(fake, first, "done")
    bobs = clip_posts(fake, thread.id)[0]
    # Carol, in the thread, uses the message menu on Bob's remix.
    menu = await fake.invoke_message_command("Remix this clip", bobs, user=carol)
    await fake.wait_until(lambda: menu.modal, what="the modal from the message menu")
    await fake.submit_modal(menu, {"sora:remix-prompt": "now with a cat"})
    await fake.wait_until(lambda: len(clip_posts(fake, thread.id)) == 2, within=20, what="carol's remix")
    carols = clip_posts(fake, thread.id)[1]
    tree = await core.lineage(clip_id_of(post))
    assert [(depth, node.clip_id) for depth, node in tree.walk()] == [
        (0, clip_id_of(post)),
        (1, clip_id_of(bobs)),
        (2, clip_id_of(carols)),
    ]


async def test_extend_and_reroll_buttons_post_into_the_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    post = await sora_clip(fake, fake.owner)
    thread = fake.thread_of(post)
    assert thread is not None
    await fake.click(post, f"sora:extend:{clip_id_of(post)}", user=fake.owner)
    await fake.click(post, f"sora:reroll:{clip_id_of(post)}", user=fake.owner)
    posted = await fake.wait_until(
        lambda: len(clip_posts(fake, thread.id)) == 2 and clip_posts(fake, thread.id), within=20
    )
    kinds = sorted([(await core.clip(clip_id_of(m))).kind for m in posted])
    assert kinds == ["extend", "generate"]  # a reroll is a fresh generation of the same prompt


async def test_slash_remix_by_id_from_the_channel_lands_in_the_clip_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    _, remixes = await clip_and_a_remix_by_id(fake, fake.add_member("dan"), "in slow motion")
    assert "in slow motion" in remixes[0].content
    assert len(clip_posts(fake, fake.general.id)) == 1


async def test_buttons_work_after_a_restart(fake_discord: FakeDiscord, core: Sorabox) -> None:
    fake = fake_discord
    async with running_adapter(fake, core):
        post = await sora_clip(fake, fake.owner)
    async with running_adapter(fake, core):
        click = await fake.click(post, f"sora:remix:{clip_id_of(post)}", user=fake.owner)
        await fake.wait_until(lambda: click.modal, what="the modal from the restarted adapter")
        thread = fake.thread_of(post)
        assert thread is not None
        await fake.submit_modal(click, {"sora:remix-prompt": "after the restart"})
        await fake.wait_until(lambda: clip_posts(fake, thread.id), within=20, what="the remix")


# ------------------------------------------------------------------------------------------------ resilience


async def test_a_job_outliving_the_token_reports_through_ordinary_messages(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    async with (
        running_core(tmp_path / "data", ToneGenerator(steps=3, gate=gate)) as core,
        running_adapter(fake, core),
    ):
        interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, interaction, "starting")
        fake.clock.advance(TOKEN_LIFETIME_S + 1)  # the job is still running when the token dies
        gate.set()
        posts = await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip")
        status = await fake.wait_until(
            lambda: [
                m
                for m in fake.channel_messages(fake.general)
                if m.interaction_metadata is None and m not in posts and "done" in m.content
            ],
            what="the ordinary status message",
        )
    assert status[0].webhook_id is None  # posted as the bot, not through the interaction webhook
    expired = [r for r in fake.requests if r.path.startswith("/webhooks/") and r.status == 401]
    assert expired, "the adapter never noticed the token had expired"
    assert posts[0].attachments


async def test_clips_finished_while_the_bot_was_down_are_delivered_once(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    async with running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as core:
        async with running_adapter(fake, core):
            interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
            await answered(fake, interaction, "queued")
        gate.set()  # the job finishes while no adapter runs
        for _ in range(200):
            if (await core.pending_delivery_counts()).get("discord"):
                break
            await asyncio.sleep(0.05)
        assert (await core.pending_delivery_counts()) == {"discord": 1}
        assert clip_posts(fake, fake.general.id) == []
        async with running_adapter(fake, core) as second:
            await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the late clip")
            assert await second.deliver_pending() == 0
        async with running_adapter(fake, core) as third:
            assert await third.deliver_pending() == 0
    assert len(clip_posts(fake, fake.general.id)) == 1


async def test_a_clip_finished_during_a_discord_outage_is_posted_once_it_is_back(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    async with (
        running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as core,
        # discord.py logs each failed gateway reconnect as an error; during an outage that is expected.
        running_adapter(fake, core, expected_errors=("Attempting a reconnect",)) as adapter,
    ):
        interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, interaction, "queued")
        await fake.start_outage()
        gate.set()
        await fake.wait_until(
            lambda: any(r.status == 0 and "/messages" in r.path for r in fake.requests), what="a failed post"
        )
        fake.end_outage()
        await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip after the outage")
        assert await adapter.deliver_pending() == 0
    assert len(clip_posts(fake, fake.general.id)) == 1


async def test_rate_limited_posts_are_retried_and_delivered_once(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    # A 429 with Via: discord.py waits retry_after and retries. Without Via (a proxy or Cloudflare said it),
    # discord.py gives up and the outbox tries again later.
    fake.rate_limit_next("POST", r"^/channels/\d+/messages$", retry_after=0.2)
    fake.rate_limit_next("POST", r"^/channels/\d+/messages$", retry_after=0.2, via=False)
    await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
    await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip")
    await asyncio.sleep(0.5)  # a duplicate would show up within the retry interval
    statuses = [
        r.status for r in fake.requests if r.method == "POST" and r.path == f"/channels/{fake.general.id}/messages"
    ]
    assert statuses == [429, 429, 200]
    assert len(clip_posts(fake, fake.general.id)) == 1


async def test_a_gateway_reconnect_loses_no_command(fake_discord: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake = fake_discord
    session = await fake.wait_ready()
    await fake.drop_gateway()
    interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
    await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip")
    assert session.resumes == 1 and fake.identifies == 1
    assert interaction.ack_latency is not None and interaction.ack_latency < ACK_DEADLINE_S


# ------------------------------------------------------------------------------------------------ places


async def test_sora_in_a_dm_posts_the_clip_there_without_a_thread(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    carol = fake.add_user("carol")
    dm = fake.dm_channel(carol)
    interaction = await fake.invoke_command("sora", user=carol, channel=dm, prompt="a paper boat on a pond")
    posts = await fake.wait_until(lambda: clip_posts(fake, dm.id), within=20, what="the clip in the DM")
    assert posts[0].attachments and fake.thread_of(posts[0]) is None
    assert fake.threads() == []
    await answered(fake, interaction, "done")


async def test_guild_ids_sync_commands_to_those_servers_only(fake_discord: FakeDiscord, core: Sorabox) -> None:
    async with running_adapter(fake_discord, core, guild_ids=(fake_discord.guild_id,)):
        assert {"sora", "remix", "extend", "stitch", "tree", "sora-admin", "Remix this clip"} <= set(
            fake_discord.guild_commands()
        )
        assert fake_discord.global_commands() == {}


async def test_only_minimal_intents_are_requested(fake_discord: FakeDiscord, adapter: DiscordAdapter) -> None:
    session = await fake_discord.wait_ready()
    # Message events for replies to clips, but never the privileged Message Content intent.
    assert session.intents == discord.Intents(guilds=True, guild_messages=True, dm_messages=True).value


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"prompt": "   "}, "the prompt is empty"),
        ({"prompt": "x" * 6000}, "the limit is 1000"),
    ],
)
async def test_bad_prompts_are_refused_without_a_job(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox, options: dict[str, Any], says: str
) -> None:
    interaction = await fake_discord.invoke_command("sora", user=fake_discord.owner, **options)
    response = await answered(fake_discord, interaction, says)
    assert response.content.startswith("⚠️")
    assert await core.queue_snapshot() == []


@pytest.mark.parametrize(
    ("clip", "says"),
    [("abcdefgh", "there is no clip `abcdefgh`"), ("hello", "is not a clip id")],
)
async def test_remix_of_an_unknown_clip_is_refused(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, clip: str, says: str
) -> None:
    interaction = await fake_discord.invoke_command("remix", user=fake_discord.owner, clip=clip, prompt="blue")
    await answered(fake_discord, interaction, says)


async def test_context_menu_on_a_message_that_is_not_a_clip_is_refused(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    message = await fake.post_user_message(fake.owner, fake.general, "just chatting")
    menu = await fake.invoke_message_command("Remix this clip", message, user=fake.owner)
    await fake.wait_until(lambda: menu.modal, what="the modal")
    submit = await fake.submit_modal(menu, {"sora:remix-prompt": "blue"})
    await answered(fake, submit, "not a sorabox clip")


async def test_delete_is_for_the_requester_and_server_managers(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    bob, manager = fake.add_member("bob"), fake.add_member("mia", manager=True)
    post = await sora_clip(fake, bob)
    clip = clip_id_of(post)

    stranger = await fake.click(post, f"sora:delete:{clip}", user=fake.add_member("eve"))
    refused = await answered(fake, stranger, "only the person who made this clip")
    assert refused.is_ephemeral and not post.deleted

    second = await sora_clip(fake, bob, prompt="a second clip")
    by_manager = await fake.click(second, f"sora:delete:{clip_id_of(second)}", user=manager)
    await answered(fake, by_manager, "deleted clip")
    await fake.wait_until(lambda: second.deleted, what="the manager's delete")

    mine = await fake.click(post, f"sora:delete:{clip}", user=bob)
    await answered(fake, mine, "deleted clip")
    await fake.wait_until(lambda: post.deleted, what="the requester's delete")


# ------------------------------------------------------------------------------------------------ other commands


async def test_quota_jobs_and_help_answer_privately(fake_discord: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake = fake_discord
    await sora_clip(fake, fake.owner)
    quota = await fake.invoke_command("quota", user=fake.owner)
    shown = await answered(fake, quota, "credits left today")
    assert shown.is_ephemeral and "55 of 60" in shown.content
    jobs = await fake.invoke_command("jobs", user=fake.owner)
    assert "done" in (await answered(fake, jobs, "`")).content
    help_ = await fake.invoke_command("help", user=fake.owner)
    assert (await answered(fake, help_, "/sora prompt")).is_ephemeral
    cancel = await fake.invoke_command("cancel", user=fake.owner, job="abcdefgh")
    await answered(fake, cancel, "there is no job")


async def test_link_in_a_server_channel_answers_only_the_asker_and_a_telegram_account_joins(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox
) -> None:
    fake = fake_discord
    asked = await answered(fake, await fake.invoke_command("link", user=fake.owner), "other account")
    assert asked.is_ephemeral, "a link code must never be shown to the channel"
    code = asked.content.split("link ", 1)[1][:8]
    telegram = Actor("telegram", "77", "Owner on Telegram")
    joined = await core.handle_text(telegram, Place("telegram", "77", is_private=True), f"link {code}")
    assert joined.ok, joined.text
    listed = await answered(fake, await fake.invoke_command("links", user=fake.owner), "linked accounts")
    assert listed.is_ephemeral and "telegram (Owner on Telegram)" in listed.content
    gone = await answered(fake, await fake.invoke_command("unlink", user=fake.owner, platform="telegram"), "unlinked")
    assert gone.is_ephemeral


async def test_stitch_joins_clips(fake_discord: FakeDiscord, adapter: DiscordAdapter, core: Sorabox) -> None:
    fake = fake_discord
    first = await sora_clip(fake, fake.owner)
    second = await sora_clip(fake, fake.owner, prompt="a red ball bounces")
    await fake.invoke_command("stitch", user=fake.owner, clips=f"{clip_id_of(first)} {clip_id_of(second)}")
    posts = await fake.wait_until(
        lambda: len(clip_posts(fake, fake.general.id)) == 3 and clip_posts(fake, fake.general.id), within=20
    )
    assert (await core.clip(clip_id_of(posts[-1]))).kind == "stitch"


async def test_server_managers_set_role_quotas_and_see_the_queue(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake = fake_discord
    muted = await fake.add_role("no-videos")
    bob = fake.add_member("bob")
    fake.give_role(bob, muted)
    with pytest.raises(UserActionRefused):
        await fake.invoke_command("sora-admin", subcommand="queue", user=bob)  # hidden from non-managers

    setting = await fake.invoke_command("sora-admin", subcommand="quota", user=fake.owner, role=muted, credits=0)
    await answered(fake, setting, "is now 0 credits")
    refused = await fake.invoke_command("sora", user=bob, prompt=PROMPT)
    await answered(fake, refused, "this needs 5 credits and you have 0 left")

    queue = await fake.invoke_command("sora-admin", subcommand="queue", user=fake.owner)
    await answered(fake, queue, "the queue is empty")


class NoiseGenerator:
    """Random frames and hiss: an MP4 that hardly compresses, to push clips over the upload limit."""

    name = "noise"

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        rng = np.random.default_rng(request.seed)
        frames = rng.integers(0, 256, (12, 108, 192, 3), dtype=np.uint8)  # (T, H, W, 3): 1 s at 12 fps
        audio = rng.uniform(-0.3, 0.3, (2, 48_000)).astype(np.float32)
        progress(1, 1)
        return Clip(frames, audio, 12.0, 48_000)


async def test_a_clip_over_the_attachment_limit_is_re_encoded_to_fit_or_linked(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    async with running_core(tmp_path / "data", NoiseGenerator()) as core:
        async with running_adapter(fake, core):
            first = await sora_clip(fake, fake.owner, seed=1)
        full = first.attachments[0].size
        fake.attachment_limit = full // 2
        async with running_adapter(fake, core):
            smaller = await sora_clip(fake, fake.owner, seed=1)
        assert smaller.attachments and smaller.attachments[0].size <= full // 2
        assert probe(smaller.attachments[0].data).seconds == pytest.approx(1.0, abs=0.1)
        fake.attachment_limit = 2_000  # nothing playable fits: a link to the service instead
        async with running_adapter(fake, core):
            linked = await sora_clip(fake, fake.owner, seed=1)
        assert linked.attachments == [] and f"http://sorabox.example/media/{clip_id_of(linked)}" in linked.content


async def test_the_cameo_option_picks_the_cameo_that_person_owns(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    from core.identity import Actor, Place
    from tests.cameos.helpers import cameo_core, synthetic_likeness

    fake = fake_discord
    ana = fake.add_member("ana.b")
    async with cameo_core(tmp_path) as rig, running_adapter(fake, rig.core):
        owner = Actor("discord", str(ana.id), "ana.b")
        made = await rig.cameos.create_from_likeness(
            owner, Place("discord", str(ana.id), is_private=True), "starlight", synthetic_likeness()
        )
        assert made.ok, made.text
        await fake.invoke_command("sora", user=ana, prompt="waves at the camera", cameo=ana)
        await fake.wait_until(lambda: clip_posts(fake, fake.general.id), within=20, what="the clip")
        [request] = rig.generator.calls
        assert [c.handle for c in request.cameos] == ["starlight"]  # not the username "ana_b"
