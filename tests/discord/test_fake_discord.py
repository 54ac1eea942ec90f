"""The fake Discord behaves like Discord where it matters, proven with the real discord.py client."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import discord
import numpy as np
import pytest
import pytest_asyncio
from discord import app_commands
from discord.http import Route
from discord.webhook.async_ import async_context, interaction_response_params

from model.generator import Clip
from model.media import encode_mp4, probe
from tests.fakes.discord_server import (
    ACK_DEADLINE_S,
    RESPONSE_DEFERRED_MESSAGE,
    RESPONSE_MODAL,
    TOKEN_LIFETIME_S,
    BucketRule,
    ClientCrashed,
    FakeDiscord,
    UserActionRefused,
    discord_py_pointed_at,
    fake_discord,
    no_real_network,
    running_client,
)

__all__ = ["fake_discord", "no_real_network"]  # fixtures used by this module


@pytest.fixture(autouse=True)
def _pointed_at_fake(fake_discord: FakeDiscord) -> Iterator[None]:
    with discord_py_pointed_at(fake_discord.api_base, fake_discord.gateway_url):
        yield


class EchoBot(discord.Client):
    """A tiny bot on discord.py's public API: slash commands, a context menu, a persistent button and a modal."""

    def __init__(self, guild_id: int, **options: Any) -> None:
        super().__init__(intents=discord.Intents(guilds=True), **options)
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id
        self.errors: list[BaseException] = []
        self.gate = asyncio.Event()  # a handler can wait on this (lets a test move the clock first)
        self.hooks: dict[str, Callable[..., Any]] = {}
        self._install()

    def _install(self) -> None:
        bot = self

        @self.tree.command(name="echo", description="Say it back")
        @app_commands.guild_only()
        @app_commands.describe(text="what to say", times="how often")
        async def echo(interaction: discord.Interaction, text: str, times: app_commands.Range[int, 1, 3] = 1) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=" ".join([text] * times)[:2000])

        @self.tree.command(name="hook", description="Run the test's hook")
        async def hook(interaction: discord.Interaction) -> None:
            try:
                await bot.hooks["hook"](interaction)
            except Exception as exc:
                bot.errors.append(exc)

        @self.tree.command(name="panel", description="Post a panel with a button")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("panel", view=PanelView())

        @self.tree.context_menu(name="Quote this")
        async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"quoted: {message.content}")

    async def setup_hook(self) -> None:
        self.add_view(PanelView())  # persistent: registered at start, before any message exists
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)
        await self.tree.sync()


class PanelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Ask", style=discord.ButtonStyle.primary, custom_id="panel:ask")
    async def ask(self, interaction: discord.Interaction, _button: discord.ui.Button[PanelView]) -> None:
        await interaction.response.send_modal(AskModal())


class AskModal(discord.ui.Modal, title="Ask something"):
    question: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
        label="Question", custom_id="ask:question", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"you asked: {self.question.value}")


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[EchoBot]:
    client = EchoBot(fake_discord.guild_id)
    async with running_client(fake_discord, client):
        yield client


def _tiny_clip(frames: int = 12) -> Clip:
    t = np.linspace(0, 1, frames, dtype=np.float32)
    video = np.zeros((frames, 64, 96, 3), np.uint8)
    video[..., 0] = (t[:, None, None] * 255).astype(np.uint8)
    audio = (0.2 * np.sin(np.linspace(0, 440 * 2 * np.pi * frames / 12, 48_000 * frames // 12))).astype(np.float32)
    return Clip(frames=video, audio=audio[None, :], fps=12.0, sample_rate=48_000)


# ------------------------------------------------------------------------------------------------ gateway


async def test_client_identifies_with_minimal_intents_and_keeps_heartbeating(fake_discord: FakeDiscord) -> None:
    fake_discord.heartbeat_interval_ms = 150
    client = EchoBot(fake_discord.guild_id)
    async with running_client(fake_discord, client):
        session = await fake_discord.wait_ready()
        assert session.intents == discord.Intents(guilds=True).value
        await fake_discord.wait_until(lambda: session.heartbeats >= 3, within=5, what="three heartbeats")
        await fake_discord.wait_until(lambda: client.get_guild(fake_discord.guild_id), what="guild in cache")
        assert client.user is not None and client.user.id == fake_discord.bot.id
        assert client.get_channel(fake_discord.general.id) is not None
    assert fake_discord.identifies == 1


async def test_privileged_intent_not_granted_closes_with_4014_and_crashes_the_client(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True, message_content=True))
    with pytest.raises(ClientCrashed) as crash:
        async with running_client(fake_discord, client, allow_errors=True):
            pass
    assert isinstance(crash.value.__cause__, discord.PrivilegedIntentsRequired)


async def test_malformed_gateway_payload_fails_the_wait_instead_of_hanging(fake_discord: FakeDiscord) -> None:
    client = EchoBot(fake_discord.guild_id)
    with pytest.raises(ClientCrashed):
        async with running_client(fake_discord, client, allow_errors=True):
            # READY without session_id: discord.py raises KeyError inside its gateway loop and the task dies.
            await fake_discord.send_raw_dispatch("READY", {"user": fake_discord.bot.payload(), "guilds": []})
            await fake_discord.wait_until(lambda: False, within=5, what="never")


async def test_wrong_token_fails_login(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True))
    with pytest.raises(discord.LoginFailure):
        await client.start("not-the-token")
    await client.close()
    assert fake_discord.requests[0].status == 401


async def test_dropped_gateway_resumes_and_replays_the_missed_interaction(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    session = await fake_discord.wait_ready()
    await fake_discord.drop_gateway()
    # While the socket is down Discord queues the dispatch; the client RESUMEs and gets it with its sequence.
    interaction = await fake_discord.invoke_command("echo", user=fake_discord.owner, text="still here")
    await fake_discord.wait_until(lambda: interaction.original_message_id, what="the echo after resume")
    original = fake_discord.messages[interaction.original_message_id]
    await fake_discord.wait_until(lambda: original.content == "still here", what="edited original")
    assert session.resumes == 1
    assert fake_discord.identifies == 1


async def test_op7_reconnect_resumes_the_same_session(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    session = await fake_discord.wait_ready()
    await fake_discord.request_reconnect()
    await fake_discord.wait_until(lambda: session.resumes == 1 and session.ws is not None, what="resume")
    interaction = await fake_discord.invoke_command("echo", user=fake_discord.owner, text="after op 7")
    await fake_discord.wait_until(lambda: interaction.acknowledged_at, what="ack after op 7")
    assert fake_discord.identifies == 1


# ------------------------------------------------------------------------------------------------ commands


async def test_command_sync_registers_guild_and_global_commands_with_options(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    guild = fake_discord.guild_commands()
    assert set(guild) == {"echo", "hook", "panel", "Quote this"}
    assert set(fake_discord.global_commands()) == set(guild)
    echo = guild["echo"]
    text, times = echo.option("text"), echo.option("times")
    assert text is not None and text["type"] == 3 and text["required"] is True
    assert times is not None and (times["min_value"], times["max_value"]) == (1, 3)
    assert guild["Quote this"].type == 3


async def test_invalid_command_definitions_are_rejected_with_50035(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    app, gid = fake_discord.application_id, fake_discord.guild_id
    bad = [
        {"name": "Has Space", "description": "x", "type": 1},
        {"name": "ok", "description": "", "type": 1},
        {"name": "menu", "description": "menus have none", "type": 3},
        {
            "name": "order",
            "description": "required after optional",
            "type": 1,
            "options": [
                {"name": "a", "description": "a", "type": 3, "required": False},
                {"name": "b", "description": "b", "type": 3, "required": True},
            ],
        },
    ]
    for command in bad:
        with pytest.raises(discord.HTTPException) as error:
            await bot.http.bulk_upsert_guild_commands(app, gid, [command])
        assert (error.value.status, error.value.code) == (400, 50035)
    assert "echo" in fake_discord.guild_commands()  # a failed overwrite changes nothing


async def test_slash_command_is_deferred_in_time_then_the_original_is_edited(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    interaction = await fake_discord.invoke_command("echo", user=fake_discord.owner, text="hi", times=2)
    await fake_discord.wait_until(lambda: interaction.original_message_id, what="deferral")
    assert interaction.response_type == RESPONSE_DEFERRED_MESSAGE
    assert interaction.ack_latency is not None and interaction.ack_latency < ACK_DEADLINE_S
    original = fake_discord.messages[interaction.original_message_id]
    await fake_discord.wait_until(lambda: original.content == "hi hi", what="edit of the original")
    assert original.history == [""]
    assert original.interaction_metadata is not None and original.interaction_metadata["name"] == "echo"


async def test_people_cannot_send_options_discord_would_not_allow(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    alice = fake_discord.owner
    with pytest.raises(UserActionRefused):
        await fake_discord.invoke_command("echo", user=alice)  # required option missing
    with pytest.raises(UserActionRefused):
        await fake_discord.invoke_command("echo", user=alice, text="x", times=4)  # above max_value
    with pytest.raises(UserActionRefused):
        await fake_discord.invoke_command("echo", user=alice, text="x" * 6001)  # over Discord's 6000
    long_one = await fake_discord.invoke_command("echo", user=alice, text="x" * 6000)
    await fake_discord.wait_until(lambda: long_one.acknowledged_at, what="6000-character option accepted")


async def test_acknowledging_after_three_seconds_is_unknown_interaction(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    seen: list[discord.HTTPException] = []

    async def slow(interaction: discord.Interaction) -> None:
        await bot.gate.wait()
        try:
            await interaction.response.defer()
        except discord.NotFound as exc:
            seen.append(exc)

    bot.hooks["hook"] = slow
    interaction = await fake_discord.invoke_command("hook", user=fake_discord.owner)
    fake_discord.clock.advance(ACK_DEADLINE_S + 0.1)
    bot.gate.set()
    await fake_discord.wait_until(lambda: seen, what="the late deferral to fail")
    assert seen[0].code == 10062
    assert interaction.acknowledged_at is None


async def test_a_second_acknowledgement_fails_with_40060(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    seen: list[discord.HTTPException] = []

    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        # discord.py refuses a second response locally; send it as raw HTTP to see what Discord says.
        adapter = async_context.get()
        try:
            await adapter.create_interaction_response(
                interaction.id,
                interaction.token,
                session=interaction._session,
                params=interaction_response_params(RESPONSE_DEFERRED_MESSAGE),
            )
        except discord.HTTPException as exc:
            seen.append(exc)

    bot.hooks["hook"] = twice
    await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: seen, what="the second acknowledgement to fail")
    assert (seen[0].status, seen[0].code) == (400, 40060)


async def test_interaction_token_expires_after_fifteen_minutes(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    seen: list[discord.HTTPException] = []
    posted: list[discord.Message] = []

    async def outlive(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="working")
        await bot.gate.wait()
        try:
            await interaction.edit_original_response(content="done")
        except discord.HTTPException as exc:
            seen.append(exc)
            assert interaction.channel is not None
            posted.append(await interaction.channel.send("done, as an ordinary message"))  # type: ignore[union-attr]

    bot.hooks["hook"] = outlive
    interaction = await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(
        lambda: (
            interaction.original_message_id
            and fake_discord.messages[interaction.original_message_id].content == "working"
        ),
        what="first edit",
    )
    fake_discord.clock.advance(TOKEN_LIFETIME_S + 1)
    bot.gate.set()
    await fake_discord.wait_until(lambda: posted, what="fallback message")
    assert (seen[0].status, seen[0].code) == (401, 50027)
    assert fake_discord.messages[posted[0].id].content == "done, as an ordinary message"


async def test_token_still_works_just_before_fifteen_minutes(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    async def late(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await bot.gate.wait()
        await interaction.edit_original_response(content="made it")

    bot.hooks["hook"] = late
    interaction = await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: interaction.acknowledged_at, what="deferral")
    fake_discord.clock.advance(TOKEN_LIFETIME_S - 5)
    bot.gate.set()
    await fake_discord.wait_until(
        lambda: fake_discord.messages[interaction.original_message_id or 0].content == "made it", what="late edit"
    )


# ------------------------------------------------------------------------------------------------ limits


async def _post_raw(bot: EchoBot, channel_id: int, payload: dict[str, Any]) -> Any:
    return await bot.http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id), json=payload)


def _row(n: int, prefix: str = "b") -> dict[str, Any]:
    return {
        "type": 1,
        "components": [{"type": 2, "style": 1, "label": str(i), "custom_id": f"{prefix}{i}"} for i in range(n)],
    }


@pytest.mark.parametrize(
    ("payload", "accepted"),
    [
        ({"content": "x" * 2000}, True),
        ({"content": "x" * 2001}, False),
        (
            {
                "content": "ids",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "c" * 100}]}
                ],
            },
            True,
        ),
        (
            {
                "content": "ids",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "c" * 101}]}
                ],
            },
            False,
        ),
        ({"content": "row", "components": [_row(5)]}, True),
        ({"content": "row", "components": [_row(6)]}, False),
        ({"content": "rows", "components": [_row(1, f"r{i}-") for i in range(5)]}, True),
        ({"content": "rows", "components": [_row(1, f"r{i}-") for i in range(6)]}, False),
        ({"content": "dup", "components": [_row(1), _row(1)]}, False),
        ({"embeds": [{"title": str(i)} for i in range(10)]}, True),
        ({"embeds": [{"title": str(i)} for i in range(11)]}, False),
    ],
)
async def test_message_limits_are_enforced_from_both_sides(
    fake_discord: FakeDiscord, bot: EchoBot, payload: dict[str, Any], accepted: bool
) -> None:
    channel = fake_discord.add_text_channel(f"limits-{len(fake_discord.channels)}")
    if accepted:
        data = await _post_raw(bot, channel.id, payload)
        assert fake_discord.messages[int(data["id"])].content == payload.get("content", "")
    else:
        with pytest.raises(discord.HTTPException) as error:
            await _post_raw(bot, channel.id, payload)
        assert (error.value.status, error.value.code) == (400, 50035)
        assert fake_discord.channel_messages(channel) == []


async def test_empty_message_is_refused_with_50006(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    with pytest.raises(discord.HTTPException) as error:
        await _post_raw(bot, fake_discord.general.id, {"content": ""})
    assert error.value.code == 50006


async def test_video_upload_arrives_playable_and_oversize_files_get_413(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    mp4 = encode_mp4(_tiny_clip())
    channel = bot.get_channel(fake_discord.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("clip", file=discord.File(io.BytesIO(mp4), "clip.mp4"))
    attachment = fake_discord.messages[sent.id].attachments[0]
    assert attachment.data == mp4 and attachment.filename == "clip.mp4"
    assert probe(await sent.attachments[0].read()).seconds == pytest.approx(1.0, abs=0.1)  # via the fake CDN

    fake_discord.attachment_limit = len(mp4)
    await channel.send("exactly at the limit", file=discord.File(io.BytesIO(mp4), "same.mp4"))
    fake_discord.attachment_limit = len(mp4) - 1
    with pytest.raises(discord.HTTPException) as error:
        await channel.send("one byte over", file=discord.File(io.BytesIO(mp4), "big.mp4"))
    assert (error.value.status, error.value.code) == (413, 40005)


async def test_interaction_carries_the_attachment_limit(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    limits: list[int] = []

    async def read_limit(interaction: discord.Interaction) -> None:
        limits.append(interaction.filesize_limit)
        await interaction.response.send_message("ok")

    fake_discord.attachment_limit = 123_456
    bot.hooks["hook"] = read_limit
    await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: limits, what="the hook")
    assert limits == [123_456]


async def test_429_with_via_is_retried_after_retry_after(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    fake_discord.rate_limit_next("POST", r"^/channels/\d+/messages$", retry_after=0.3)
    channel = bot.get_channel(fake_discord.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("eventually")
    posts = [r for r in fake_discord.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.3
    assert len(fake_discord.invalid_requests) == 1


async def test_429_without_via_is_not_retried(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    fake_discord.rate_limit_next("POST", r"^/channels/\d+/messages$", retry_after=0.1, via=False)
    channel = bot.get_channel(fake_discord.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as error:
        await channel.send("blocked")
    assert error.value.status == 429
    assert fake_discord.channel_messages(channel.id) == []


async def test_bucket_headers_make_the_client_wait_instead_of_hitting_429(fake_discord: FakeDiscord) -> None:
    fake_discord.bucket_rules.append(
        BucketRule("tiny", "POST", __import__("re").compile(r"^/channels/(\d+)/messages$"), 2, 0.6)
    )
    fake_discord.bucket_rules.reverse()  # the tiny rule first
    client = EchoBot(fake_discord.guild_id)
    async with running_client(fake_discord, client):
        channel = client.get_channel(fake_discord.general.id)
        assert isinstance(channel, discord.TextChannel)
        for i in range(3):
            await channel.send(f"m{i}")
    posts = [r for r in fake_discord.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [200, 200, 200]
    assert posts[2].at - posts[0].at >= 0.5


async def test_too_many_invalid_requests_get_the_cloudflare_ban(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    fake_discord.invalid_request_limit = 3
    fake_discord.rate_limit_next("POST", r"^/channels/\d+/messages$", via=False, times=3)
    channel = bot.get_channel(fake_discord.general.id)
    assert isinstance(channel, discord.TextChannel)
    for _ in range(3):
        with pytest.raises(discord.HTTPException):
            await channel.send("no")
    with pytest.raises(discord.HTTPException) as error:
        await channel.send("banned now")
    assert error.value.status == 429 and "1015" in str(error.value.text)


# ------------------------------------------------------------------------------------------------ components


async def test_persistent_button_opens_a_modal_whose_submit_is_answered(
    fake_discord: FakeDiscord, bot: EchoBot
) -> None:
    bob = fake_discord.add_member("bob")
    panel = await fake_discord.invoke_command("panel", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: panel.original_message_id, what="the panel")
    message = fake_discord.messages[panel.original_message_id or 0]
    assert message.custom_ids() == ["panel:ask"]

    click = await fake_discord.click(message, "panel:ask", user=bob)
    modal = await fake_discord.wait_until(lambda: click.modal, what="the modal")
    assert click.response_type == RESPONSE_MODAL and modal["title"] == "Ask something"
    with pytest.raises(UserActionRefused):
        await fake_discord.submit_modal(click, {"ask:question": "x" * 201})  # over max_length
    submit = await fake_discord.submit_modal(click, {"ask:question": "what is a wooden crate?"})
    await fake_discord.wait_until(lambda: submit.original_message_id, what="the modal's answer")
    assert fake_discord.messages[submit.original_message_id or 0].content == "you asked: what is a wooden crate?"


async def test_button_keeps_working_after_a_restart(fake_discord: FakeDiscord) -> None:
    first = EchoBot(fake_discord.guild_id)
    async with running_client(fake_discord, first):
        panel = await fake_discord.invoke_command("panel", user=fake_discord.owner)
        await fake_discord.wait_until(lambda: panel.original_message_id, what="the panel")
    message = fake_discord.messages[panel.original_message_id or 0]
    second = EchoBot(fake_discord.guild_id)
    async with running_client(fake_discord, second):
        click = await fake_discord.click(message, "panel:ask", user=fake_discord.owner)
        await fake_discord.wait_until(lambda: click.modal, what="the modal from the restarted bot")
    assert fake_discord.identifies == 2


async def test_message_context_menu_gets_the_target_message(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    bob = fake_discord.add_member("bob")
    target = await fake_discord.post_user_message(bob, fake_discord.general, "quote me")
    interaction = await fake_discord.invoke_message_command("Quote this", target, user=fake_discord.owner)
    await fake_discord.wait_until(lambda: interaction.original_message_id, what="the quote")
    assert fake_discord.messages[interaction.original_message_id or 0].content == "quoted: quote me"


async def test_thread_started_from_a_followup_takes_later_messages(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    threads: list[discord.Thread] = []

    async def threaded(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        message = await interaction.followup.send("result", wait=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        thread = await interaction.channel.create_thread(name="a wooden crate", message=message)
        await thread.send("a remix, in the thread")
        threads.append(thread)

    bot.hooks["hook"] = threaded
    interaction = await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: threads, what="the thread")
    followup = fake_discord.messages[interaction.followup_ids[0]]
    thread = fake_discord.thread_of(followup)
    assert thread is not None and thread.id == followup.id and thread.parent_id == fake_discord.general.id
    assert [m.content for m in fake_discord.channel_messages(thread)] == ["a remix, in the thread"]
    await fake_discord.wait_until(lambda: bot.get_channel(thread.id), what="THREAD_CREATE in the cache")


async def test_a_message_gets_only_one_thread(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    channel = bot.get_channel(fake_discord.general.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("once")
    await channel.create_thread(name="first", message=message)
    with pytest.raises(discord.HTTPException) as error:
        await channel.create_thread(name="second", message=message)
    assert error.value.code == 160004
    with pytest.raises(discord.HTTPException):
        await channel.create_thread(name="x" * 101, message=await channel.send("long name"))


async def test_slash_command_works_in_a_dm(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    carol = fake_discord.add_user("carol")  # not in the guild: only the DM reaches the bot
    dm = fake_discord.dm_channel(carol)
    interaction = await fake_discord.invoke_command("panel", user=carol, channel=dm)
    await fake_discord.wait_until(lambda: interaction.original_message_id, what="the DM reply")
    message = fake_discord.messages[interaction.original_message_id or 0]
    assert message.channel_id == dm.id and message.guild_id is None
    with pytest.raises(UserActionRefused):
        await fake_discord.invoke_command("echo", user=carol, channel=dm, text="guild only here")


async def test_ephemeral_message_is_visible_only_to_its_user(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("psst", ephemeral=True, view=PanelView())

    bot.hooks["hook"] = secret
    bob = fake_discord.add_member("bob")
    interaction = await fake_discord.invoke_command("hook", user=fake_discord.owner)
    await fake_discord.wait_until(lambda: interaction.original_message_id, what="ephemeral reply")
    message = fake_discord.messages[interaction.original_message_id or 0]
    assert message.is_ephemeral
    with pytest.raises(UserActionRefused):
        await fake_discord.click(message, "panel:ask", user=bob)


# ------------------------------------------------------------------------------------------------ network guard


async def test_real_network_is_refused_and_recorded(no_real_network: list[str]) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.10", 443), timeout=1)
    with pytest.raises(OSError):
        socket.getaddrinfo("discord.com", 443)
    assert len(no_real_network) == 2
    no_real_network.clear()  # this test wanted those attempts; others fail on them at teardown


async def test_unknown_routes_answer_404_and_are_listed(fake_discord: FakeDiscord, bot: EchoBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=fake_discord.guild_id))
    assert fake_discord.unhandled == [f"GET /guilds/{fake_discord.guild_id}/audit-logs"]


async def test_fake_runs_without_a_client() -> None:
    fake = FakeDiscord()
    assert fake.general.name == "general" and fake.owner.id in fake.members
