"""Buttons under a posted clip and the remix modal.

The buttons are discord.py DynamicItems: the clip id lives in the custom_id (`sora:remix:k3f9x2ab`, well
under Discord's 100 characters), so one registration at start-up makes every button ever posted work
again after a restart, with no per-message state in memory.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord

ACTIONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "remix": ("Remix", discord.ButtonStyle.primary),
    "extend": ("Extend", discord.ButtonStyle.secondary),
    "reroll": ("Reroll", discord.ButtonStyle.secondary),
    "delete": ("Delete", discord.ButtonStyle.danger),
}
MODAL_TIMEOUT_SECONDS = 15 * 60  # nobody can answer it after the interaction token is gone


class ClipActions(Protocol):
    """What a clip button calls: the adapter, reached through the client."""

    async def clip_button(self, interaction: discord.Interaction, action: str, clip_id: str) -> None: ...


def custom_id(action: str, clip_id: str) -> str:
    return f"sora:{action}:{clip_id}"


class ClipButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sora:(?P<action>remix|extend|reroll|delete):(?P<clip_id>[a-z0-9]{8})",
):
    def __init__(self, action: str, clip_id: str) -> None:
        label, style = ACTIONS[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id(action, clip_id)))
        self.action = action
        self.clip_id = clip_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ClipButton:
        return cls(match["action"], match["clip_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        actions: ClipActions = interaction.client.actions  # type: ignore[attr-defined]
        await actions.clip_button(interaction, self.action, self.clip_id)


def clip_view(clip_id: str) -> discord.ui.View:
    """Remix, Extend, Reroll, Delete: one row of four."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(ClipButton(action, clip_id))
    return view


class RemixModal(discord.ui.Modal):
    """Asks for the remix prompt; `on_prompt` runs with the submit interaction and the text."""

    def __init__(
        self,
        on_prompt: Callable[[discord.Interaction, str], Awaitable[None]],
        *,
        max_length: int,
        title: str = "Remix this clip",
    ) -> None:
        super().__init__(title=title, timeout=MODAL_TIMEOUT_SECONDS)
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label="What should change?",
            style=discord.TextStyle.paragraph,
            placeholder="make it night and add rain",
            min_length=1,
            max_length=max(1, min(max_length, 4000)),  # Discord caps text inputs at 4000
            custom_id="sora:remix-prompt",
        )
        self.add_item(self.prompt)
        self._on_prompt = on_prompt

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_prompt(interaction, self.prompt.value)
