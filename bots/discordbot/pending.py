"""Deferred interactions kept in the core's inbox, so each one ends in an answer even across a crash.

A slash command (or a clip button) is kept before it is deferred and marked handled once it is answered. At start,
the ones a crash cut off are run again from what was kept (the command in the core's text grammar, the actor, the
place with the interaction's request key: a job admitted before the crash is found, not made twice) and answered
through the interaction's followup webhook while its 15-minute token lives, else by a message in its channel that
mentions the person.

Kept *before* the deferral, not after: a crash between a deferral and the write would leave "thinking…" forever,
which is the failure this module exists for. Kept first, a crash between the write and the deferral leaves an
interaction Discord never saw acknowledged; its token then cannot answer, so the replay falls back to the channel
message. The cost is one SQLite write (batched by the single writer, a few ms) inside the 3 s acknowledgement
deadline.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bots.discordbot import render
from core.identity import Actor, Place
from core.inbox import Inbox

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

log = logging.getLogger(__name__)

PLATFORM = "discord"
# Discord's interaction tokens live 15 minutes; a minute's margin for the time a replay takes to answer.
TOKEN_LIFETIME = timedelta(minutes=14)
RESTARTED = "sorabox restarted before it could answer your /{name}; please ask again"
# Commands whose deferral is ephemeral (commands.py's `answer_privately`): a replay answers them privately too,
# and never puts their answer in a channel.
EPHEMERAL = {"quota", "jobs", "cancel", "delete", "link", "links", "unlink", "help", "sora-admin", "cameo", "forgetme"}
# Commands that run in a private place (the account links), as commands.py's `private=True`.
PRIVATE = {"link", "links", "unlink"}
BUTTON = re.compile(r"sora:(?P<action>extend|reroll|delete):(?P<clip>[a-z0-9]{8})")


@dataclass(frozen=True)
class PendingInteraction:
    """What answering an interaction needs once its `discord.Interaction` object is gone with the process."""

    interaction_id: int
    name: str  # the command (or button action), for the words of a refusal
    text: str | None  # the command in the core's text grammar; None: it cannot be run again, only apologised for
    actor: str  # Actor JSON
    place: str  # Place JSON, with request_key "discord:interaction:<id>"
    application_id: int
    token: str
    channel_id: int
    ephemeral: bool
    created_at: str  # ISO 8601, from the interaction's snowflake

    def expired(self, now: datetime) -> bool:
        return now - datetime.fromisoformat(self.created_at) > TOKEN_LIFETIME


def request_key(interaction_id: int) -> str:
    return f"interaction:{interaction_id}"


def place_key(interaction_id: int) -> str:
    return f"discord:interaction:{interaction_id}"


def _options(interaction: discord.Interaction) -> tuple[str, dict[str, Any]]:
    """(`name` or `group sub`, {option: value}) from a chat-input command's raw data."""
    data: Any = interaction.data or {}
    names = [str(data.get("name", ""))]
    options = list(data.get("options", []))
    while options and options[0].get("type") in (1, 2):  # a subcommand (group)
        names.append(str(options[0]["name"]))
        options = list(options[0].get("options", []))
    return " ".join(names), {str(o["name"]): o.get("value") for o in options}


def command_text(interaction: discord.Interaction) -> tuple[str, str | None, bool] | None:
    """(name, text in the core's grammar or None, ephemeral) for an interaction worth keeping, else None."""
    data: Any = interaction.data or {}
    if interaction.type is discord.InteractionType.component:
        found = BUTTON.fullmatch(str(data.get("custom_id", "")))
        if found is None:
            return None
        action, clip = found["action"], found["clip"]
        return action, f"{action} {clip}", action == "delete"
    if interaction.type is not discord.InteractionType.application_command or data.get("type", 1) != 1:
        return None  # context menus answer with a modal; autocomplete is no request
    name, o = _options(interaction)
    ephemeral = name.split()[0] in EPHEMERAL
    text: str | None = None
    if name == "sora" and o.get("cameo") is None:  # a picked cameo is a user option the text grammar cannot name
        text = f"sora {o['prompt']}"
        text += "".join(f" --{k} {o[k]}" for k in ("seconds", "aspect", "seed") if o.get(k) is not None)
    elif name == "remix":
        text = f"remix {o['clip']} {o['prompt']}"
    elif name == "extend":
        text = f"extend {o['clip']}" + (f" --seconds {o['seconds']}" if o.get("seconds") else "")
        text += f" {o['prompt']}" if o.get("prompt") else ""
    elif name == "stitch":
        text = f"stitch {o['clips']}"
    elif name in ("quota", "jobs", "links"):
        text = name
    elif name == "cancel":
        text = f"cancel {o['job']}"
    elif name == "delete":
        text = f"delete {o['clip']}"
    elif name == "tree" and o.get("clip"):
        text = f"tree {o['clip']}"
    elif name in ("link", "unlink"):
        value = o.get("code") or o.get("platform") or ""
        text = f"{name} {value}".strip()
    return name, text, ephemeral


class PendingInteractions:
    """Keeps deferred interactions in the inbox, marks them answered, and answers what a crash left."""

    def __init__(self, adapter: DiscordAdapter, inbox: Inbox) -> None:
        self.adapter = adapter
        self.inbox = inbox
        self._kept: set[int] = set()  # interaction ids kept by this process and not answered yet

    async def keep(self, interaction: discord.Interaction) -> None:
        """Write the interaction to the inbox; call before deferring it. A failed write is logged, not raised:
        the person is still answered, only without the crash guarantee."""
        found = command_text(interaction)
        if found is None:
            return
        name, text, ephemeral = found
        place = self.adapter.place(interaction)
        if name.split()[0] in PRIVATE:
            place = replace(place, is_private=True)
        kept = PendingInteraction(
            interaction_id=interaction.id,
            name=name,
            text=text,
            actor=self.adapter.actor(interaction).to_json(),
            place=place.to_json(),
            application_id=interaction.application_id,
            token=interaction.token,
            channel_id=int(interaction.channel_id or 0),
            ephemeral=ephemeral,
            created_at=interaction.created_at.astimezone(UTC).isoformat(),
        )
        try:
            await self.inbox.receive(PLATFORM, [(request_key(interaction.id), json.dumps(asdict(kept)))])
        except Exception:
            log.exception("discord: could not keep interaction %s", interaction.id)
            return
        self._kept.add(interaction.id)

    async def answered(self, interaction_id: int) -> None:
        if interaction_id not in self._kept:
            return
        self._kept.discard(interaction_id)
        await self.inbox.handled(PLATFORM, request_key(interaction_id))

    async def replay(self) -> int:
        """Answer every interaction kept before the last stop or crash and never answered; returns how many."""
        items = await self.inbox.unhandled(PLATFORM)
        for item in items:
            try:
                pending = PendingInteraction(**json.loads(item.payload))
            except (ValueError, TypeError):
                log.warning("discord: inbox row %s is not an interaction; dropped", item.request_key)
            else:
                try:
                    await self._answer_again(pending)
                except (discord.HTTPException, OSError, TimeoutError) as exc:
                    # Left unhandled: the next start tries again (the job, if any, is found by its request key).
                    log.warning("discord: could not answer interaction %s again: %r", pending.interaction_id, exc)
                    continue
            await self.inbox.handled(PLATFORM, item.request_key)
        if items:
            log.info("discord: answered %d interaction(s) cut off by the last stop", len(items))
        return len(items)

    async def _answer_again(self, pending: PendingInteraction) -> None:
        core = self.adapter.core
        if pending.text is None:
            text = render.refusal(RESTARTED.format(name=pending.name))
        else:
            actor, place = Actor.from_json(pending.actor), Place.from_json(pending.place)
            reply = await core.handle_text(actor, place, pending.text)
            text = reply.text if reply.ok else render.refusal(reply.text)
        client = self.adapter.client
        assert client is not None
        if not pending.expired(core.kernel.now()):
            webhook = discord.Webhook.from_state(
                {"id": pending.application_id, "type": 3, "token": pending.token}, client._connection
            )
            try:
                await webhook.send(render.fit(text), ephemeral=pending.ephemeral)
                return
            except discord.HTTPException as exc:
                if exc.status not in (401, 403, 404):
                    raise
                # 401/404: the token is no longer good (never acknowledged, or expired early): say it in the channel.
                log.info("discord: interaction %s's token cannot answer (%r)", pending.interaction_id, exc)
        mention = f"<@{json.loads(pending.actor)['user_id']}>"
        # An ephemeral answer stays private: the channel only hears that the person should ask again.
        said = RESTARTED.format(name=pending.name) if pending.ephemeral else text
        await client.get_partial_messageable(pending.channel_id).send(
            render.fit(f"{mention} {said}"), allowed_mentions=discord.AllowedMentions(users=True)
        )
