"""Cameos on Discord: the `/cameo` command group, `/forgetme` with its confirmation button.

Each subcommand maps onto one method of the core's cameo service (`core.cameos`, see docs/CORE_API.md), the
same operations Telegram reaches through the `cameo ...` text grammar. People picked in a user option become
the core account `discord:<user id>`, the way every Discord actor is named. Answers are ephemeral: they
concern only the person asking. The commands exist only when the service runs with cameos installed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import discord
from discord import app_commands

from bots.discordbot import render
from core.cameos.consent import CameoError, normalise_handle
from core.commands import clean_text
from core.identity import Actor, Place
from core.records import Reply

if TYPE_CHECKING:  # core.cameos pulls in OpenCV; it is loaded by whoever installed cameos, not by the adapter
    from bots.discordbot.adapter import DiscordAdapter
    from core.cameos.service import Cameos, ForgetMe

log = logging.getLogger(__name__)

PLATFORM = "discord"
# `community` is chosen by saying `/cameo who` in the server whose members may use the cameo, and a cameo is
# created in a DM, so creation offers the other three.
CREATE_VISIBILITY = ("approved", "me", "everyone")
VISIBILITY_LABELS = {
    "me": "only me",
    "approved": "me and the people I approve",
    "community": "members of this server",
    "everyone": "everyone",
}
HANDLE_MAX = 40  # the core's rule is 2–32 letters, digits or _ (after a leading @): it names a bad one
NAME_MAX = 64  # the core keeps 64 characters of a display name
PREFS_MAX = 500
FORGET_BUTTON_LABEL = "Yes, delete everything"
# The core asks for the typed confirmation; on Discord the button is the confirmation.
_TYPED_CONFIRMATION = re.compile(r"Send `forgetme[^`]*` within (\d+) minutes to go ahead\.")
Operation = Callable[[Actor, Place], Awaitable[Reply]]
# A cameo service method taking the cameo's handle last (None: the person's only cameo, or all of theirs).
OnHandle = Callable[[Actor, Place, str | None], Awaitable[Reply]]
DOWNLOAD_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class CameoCommandsHost(Protocol):
    """What the forget button calls: the adapter's cameo commands, reached through the client."""

    async def confirm_forget(self, interaction: discord.Interaction, request: ForgetRequest) -> None: ...


@dataclass(frozen=True)
class ForgetRequest:
    """Who asked to be forgotten (only they may press the button), and whom: themselves, or for a service
    admin, another Discord user."""

    asker_id: int
    target_id: int | None = None

    def custom_id(self) -> str:
        return f"sora:forget:{self.asker_id}" + (f":{self.target_id}" if self.target_id is not None else "")


class ForgetButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sora:forget:(?P<asker>\d{1,20})(?::(?P<target>\d{1,20}))?",
):
    """The confirmation under `/forgetme`'s question. A DynamicItem, so it still works after a restart within
    the core's confirmation window."""

    def __init__(self, request: ForgetRequest) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=FORGET_BUTTON_LABEL, style=discord.ButtonStyle.danger, custom_id=request.custom_id()
        )
        super().__init__(button)
        self.request = request

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetButton:
        target = match["target"]
        return cls(ForgetRequest(int(match["asker"]), int(target) if target else None))

    async def callback(self, interaction: discord.Interaction) -> None:
        host: CameoCommandsHost = interaction.client.adapter.cameo_commands  # type: ignore[attr-defined]
        await host.confirm_forget(interaction, self.request)


def forget_view(request: ForgetRequest) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(request))
    return view


def person_actor(user: discord.User | discord.Member) -> Actor:
    """A person picked in a user option: the same account the core gives them when they use the bot."""
    return Actor(PLATFORM, str(user.id), user.display_name)


def forget_command(target_id: int | None, confirm: bool) -> ForgetMe:
    """The core's `forgetme [discord:<id>] [confirm]` command."""
    from core.cameos.service import ForgetMe  # already loaded: this runs only when the service installed cameos

    return ForgetMe(None if target_id is None else f"{PLATFORM}:{target_id}", confirm)


def confirmation_text(text: str) -> str:
    """The core's `forgetme` question, pointing at the button instead of a typed confirmation."""
    return _TYPED_CONFIRMATION.sub(rf"Press **{FORGET_BUTTON_LABEL}** within \1 minutes to go ahead.", text)


class DiscordCameos:
    """The callbacks of `/cameo ...` and `/forgetme`; each runs after its interaction was deferred."""

    def __init__(self, adapter: DiscordAdapter, cameos: Cameos) -> None:
        self.adapter = adapter
        self.cameos = cameos

    async def answer(self, interaction: discord.Interaction, reply: Reply, view: Any = discord.utils.MISSING) -> None:
        """Show a core reply (refusals marked); `view=None` removes the buttons of the message answered."""
        text = render.slash_commands(reply.text)
        await self.adapter.answer(interaction, text if reply.ok else render.refusal(text), view=view)

    async def run(self, interaction: discord.Interaction, operation: Operation) -> None:
        """One cameo operation for the person who asked, where they asked."""
        reply = await operation(self.adapter.actor(interaction), self.adapter.place(interaction))
        await self.answer(interaction, reply)

    async def run_on_handle(self, interaction: discord.Interaction, handle: str | None, operation: OnHandle) -> None:
        """An operation on the named cameo (None: the person's only one, or all of theirs, as the core decides)."""
        try:
            chosen = normalise_handle(handle) if handle else None
        except CameoError as exc:
            await self.answer(interaction, Reply(str(exc), ok=False))
            return
        await self.run(interaction, lambda actor, place: operation(actor, place, chosen))

    # -- creating ---------------------------------------------------------------------------------

    async def create(
        self,
        interaction: discord.Interaction,
        video: discord.Attachment,
        handle: str,
        name: str | None,
        visibility: str | None,
    ) -> None:
        actor, place = self.adapter.actor(interaction), self.adapter.place(interaction)
        refusal = self._create_refusal(place, video, handle)
        if refusal is not None:
            await self.answer(interaction, Reply(refusal, ok=False))
            return
        try:
            data = await video.read()
        except DOWNLOAD_ERRORS as exc:
            log.warning("could not download cameo video %s: %r", video.id, exc)
            await self.answer(interaction, Reply("I could not download that video from Discord; try again", ok=False))
            return
        display_name = clean_text(name, self.adapter.core.settings.limits, "name") if name else None
        # Decoding, face and speech detection take seconds: the interaction was deferred before any of it.
        reply = await self.cameos.create(actor, place, handle, data, display_name or None)
        if reply.ok and visibility and visibility != "approved":
            chosen = await self.cameos.set_visibility(actor, place, visibility, str(reply.data["handle"]))
            reply = Reply(f"{reply.text}\n{chosen.text}", ok=chosen.ok, data=reply.data)
        await self.answer(interaction, reply)

    def _create_refusal(self, place: Place, video: discord.Attachment, handle: str) -> str | None:
        """Why a reference video is refused before it is downloaded, or None."""
        if not place.is_private:
            # The core refuses this too; here nothing personal is even downloaded from a server.
            return "create cameos in a DM with me, not in a server: open my profile and press Message"
        limit = self.cameos.policy.max_bytes
        if video.size > limit:
            return (
                f"I can't make cameo @{handle.lstrip('@')[:HANDLE_MAX]} from that video: it is "
                f"{video.size / 1_000_000:.0f} MB; the limit is {limit // 1_000_000} MB. Send a shorter one"
            )
        return None

    # -- people -----------------------------------------------------------------------------------

    async def allow(self, interaction: discord.Interaction, person: discord.User, handle: str | None) -> None:
        who = person_actor(person)
        await self.run_on_handle(interaction, handle, lambda a, p, h: self.cameos.allow(a, p, who, h))

    async def deny(self, interaction: discord.Interaction, person: discord.User, handle: str | None) -> None:
        who = person_actor(person)
        await self.run_on_handle(interaction, handle, lambda a, p, h: self.cameos.deny(a, p, who, h))

    async def set_preferences(self, interaction: discord.Interaction, text: str, handle: str | None) -> None:
        cleaned = clean_text(text, self.adapter.core.settings.limits, "preferences")
        # `clear` removes them, as in the core's grammar.
        wishes = "" if cleaned.lower() == "clear" else cleaned
        await self.run_on_handle(interaction, handle, lambda a, p, h: self.cameos.set_preferences(a, p, wishes, h))

    # -- forgetting ---------------------------------------------------------------------------------

    async def forget(self, interaction: discord.Interaction, person: discord.User | None) -> None:
        """Ask first: the core records the request and says what will go; the button confirms it."""
        target_id = None if person is None or person.id == interaction.user.id else person.id
        actor, place = self.adapter.actor(interaction), self.adapter.place(interaction)
        reply = await self.cameos.forget(actor, place, forget_command(target_id, confirm=False))
        if not reply.ok or not reply.data.get("needs_confirmation"):
            await self.answer(interaction, reply)
            return
        request = ForgetRequest(interaction.user.id, target_id)
        question = Reply(confirmation_text(reply.text), data=reply.data)
        await self.answer(interaction, question, view=forget_view(request))

    async def confirm_forget(self, interaction: discord.Interaction, request: ForgetRequest) -> None:
        if interaction.user.id != request.asker_id:
            await interaction.response.send_message(
                render.refusal("this button is for the person who asked"), ephemeral=True
            )
            return
        # Deleting every clip takes a moment: acknowledge by updating the question in place.
        await interaction.response.defer()
        command = forget_command(request.target_id, confirm=True)
        reply = await self.cameos.forget(self.adapter.actor(interaction), self.adapter.place(interaction), command)
        await self.answer(interaction, reply, view=None)


def install(tree: app_commands.CommandTree[Any], adapter: DiscordAdapter, host: DiscordCameos) -> None:
    """Add `/cameo ...` and `/forgetme` to `tree`."""
    everywhere = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    levels = [app_commands.Choice(name=VISIBILITY_LABELS[v], value=v) for v in VISIBILITY_LABELS]
    create_levels = [app_commands.Choice(name=VISIBILITY_LABELS[v], value=v) for v in CREATE_VISIBILITY]
    cameos = host.cameos
    group = app_commands.Group(
        name="cameo",
        description="Your cameo: your face and voice in clips, with consent",
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False),
    )

    async def private(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)

    @group.command(name="create", description="Make your cameo from a 3–15 s video of you speaking (in a DM)")
    @app_commands.describe(
        video="a 3–15 s video of yourself, face in view, saying a sentence or two",
        handle="how prompts name you, e.g. ana (2–32 letters, digits or _)",
        name="the name shown for your cameo",
        visibility="who may use it (default: you and the people you approve)",
    )
    @app_commands.choices(visibility=create_levels)
    async def create(
        interaction: discord.Interaction,
        video: discord.Attachment,
        handle: app_commands.Range[str, 1, HANDLE_MAX],
        name: app_commands.Range[str, 1, NAME_MAX] | None = None,
        visibility: str | None = None,
    ) -> None:
        await private(interaction)
        await host.create(interaction, video, handle, name, visibility)

    @group.command(name="list", description="Your cameos")
    async def list_(interaction: discord.Interaction) -> None:
        await private(interaction)
        await host.run(interaction, cameos.list_cameos)

    @group.command(name="settings", description="Who may use your cameo, who you approved, your preferences")
    @app_commands.describe(cameo="which of your cameos (default: all)")
    async def settings(interaction: discord.Interaction, cameo: str | None = None) -> None:
        await private(interaction)
        await host.run_on_handle(interaction, cameo, cameos.describe)

    @group.command(name="who", description="Choose who may use your cameo")
    @app_commands.describe(level="who may use it (members of a server: say it in that server)", cameo="which cameo")
    @app_commands.choices(level=levels)
    async def who(interaction: discord.Interaction, level: str, cameo: str | None = None) -> None:
        await private(interaction)
        await host.run_on_handle(interaction, cameo, lambda a, p, h: cameos.set_visibility(a, p, level, h))

    @group.command(name="prefs", description="Wishes added to every prompt with you; `no X` rules a topic out")
    @app_commands.describe(text="e.g. always wearing a hat. nothing political — or `clear`", cameo="which cameo")
    async def prefs(
        interaction: discord.Interaction, text: app_commands.Range[str, 1, PREFS_MAX], cameo: str | None = None
    ) -> None:
        await private(interaction)
        await host.set_preferences(interaction, text, cameo)

    @group.command(name="allow", description="Let someone use your cameo")
    @app_commands.describe(person="who may use it", cameo="which of your cameos")
    async def allow(interaction: discord.Interaction, person: discord.User, cameo: str | None = None) -> None:
        await private(interaction)
        await host.allow(interaction, person, cameo)

    @group.command(name="deny", description="Take back someone's approval; their waiting clips are cancelled")
    @app_commands.describe(person="who may no longer use it", cameo="which of your cameos (default: all)")
    async def deny(interaction: discord.Interaction, person: discord.User, cameo: str | None = None) -> None:
        await private(interaction)
        await host.deny(interaction, person, cameo)

    @group.command(name="revoke", description="Turn your cameo off for everyone now; waiting clips are cancelled")
    @app_commands.describe(cameo="which of your cameos (default: all)")
    async def revoke(interaction: discord.Interaction, cameo: str | None = None) -> None:
        await private(interaction)
        await host.run_on_handle(interaction, cameo, cameos.revoke)

    @group.command(name="clips", description="Every clip your cameo appears in, made by anyone")
    @app_commands.describe(cameo="which of your cameos (default: all)")
    async def clips(interaction: discord.Interaction, cameo: str | None = None) -> None:
        await private(interaction)
        await host.run_on_handle(interaction, cameo, cameos.clips)

    @group.command(name="delete", description="Delete a cameo with its face, voice and reference video")
    @app_commands.describe(cameo="the cameo's handle")
    async def delete(interaction: discord.Interaction, cameo: str) -> None:
        await private(interaction)
        await host.run_on_handle(interaction, cameo, lambda a, p, h: cameos.delete_cameo(a, p, h or cameo))

    tree.add_command(group)

    @tree.command(name="forgetme", description="Delete everything sorabox keeps about you (asks first)")
    @app_commands.describe(person="service admins: someone else's data")
    @everywhere
    async def forgetme(interaction: discord.Interaction, person: discord.User | None = None) -> None:
        await private(interaction)
        await host.forget(interaction, person)


__all__ = ["DiscordCameos", "ForgetButton", "ForgetRequest", "install"]
