"""The application commands: /sora and friends, the "Remix this clip" message menu and /sora-admin.

Every callback acknowledges first (`defer`, or a modal as the response) and only then does any work:
Discord forgets an interaction that has no response after 3 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bots.discordbot import cameos as cameo_commands
from bots.discordbot import render
from core.commands import ASPECTS, Limits

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

SECONDS_OFFERED = (3, 5, 8, 10, 15, 20)
MAX_SEED = 2**31 - 1
MAX_DAILY_CREDITS = 1_000_000
DEFAULT_PERMISSIONS_ADMIN = discord.Permissions(manage_guild=True)
ADMIN_GROUP = "sora-admin"
HELP_TAIL = (
    "Under every clip: Remix, Extend, Reroll, Delete. Reply to a clip's message with text (keep the ping on) "
    "to remix it. Clip and job ids look like `k3f9x2ab`. `/help command:<name>` explains one command."
)
AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu


def usage(command: app_commands.Command[Any, ..., Any]) -> str:
    """`/cameo allow person [cameo]`: the command as Discord's picker shows it, optional options bracketed."""
    options = [p.name if p.required else f"[{p.name}]" for p in command.parameters]
    return " ".join([f"/{command.qualified_name}", *options])


def overview_line(command: AnyCommand) -> str:
    if isinstance(command, app_commands.ContextMenu):
        return f"Apps › {command.name} (on a clip's message)"
    if isinstance(command, app_commands.Group):
        subcommands = "|".join(c.name for c in command.commands)
        return f"/{command.name} {subcommands} — {command.description}"
    return f"{usage(command)} — {command.description}"


def detail_lines(command: AnyCommand) -> list[str]:
    """One command in full: each subcommand and option with its description."""
    if isinstance(command, app_commands.ContextMenu):
        return [overview_line(command)]
    if isinstance(command, app_commands.Group):
        lines = [f"/{command.name} — {command.description}"]
        for sub in command.commands:
            lines += [f"  {line}" for line in detail_lines(sub)]
        return lines
    lines = [f"{usage(command)} — {command.description}"]
    lines += [f"  {p.name}: {p.description}" for p in command.parameters if p.description != "…"]
    return lines


def help_text(tree: app_commands.CommandTree[Any], topic: str | None, *, is_admin: bool) -> tuple[str, bool]:
    """The answer to `/help`, made from the commands this bot registered, so it names only what exists here
    (the core's own help lists its text grammar, which Discord users cannot type). (text, ok)."""
    visible = [c for c in tree.get_commands() if is_admin or c.name != ADMIN_GROUP]
    if topic:
        name = topic.strip().lstrip("/").split()[0].lower() if topic.strip().lstrip("/") else ""
        found = next((c for c in visible if c.name.lower() == name), None)
        if found is None:
            return f"there is no /{name[:32]} here; `/help` lists the commands", False
        return "\n".join(detail_lines(found)), True
    lines = ["sorabox makes short videos with sound. Commands:"]
    lines += [overview_line(c) for c in visible]
    lines.append(HELP_TAIL)
    return "\n".join(lines), True


def seconds_choices(limits: Limits) -> list[app_commands.Choice[int]]:
    """The clip lengths offered, within the service's limits (Discord allows at most 25 choices)."""
    offered = sorted({s for s in SECONDS_OFFERED if limits.min_seconds <= s <= limits.max_seconds})
    return [app_commands.Choice(name=f"{s} s", value=s) for s in offered][:25]


def install(tree: app_commands.CommandTree[discord.Client], adapter: DiscordAdapter) -> None:
    """Add every command to `tree`; the callbacks call into `adapter`."""
    limits = adapter.core.settings.limits
    seconds = seconds_choices(limits)
    aspects = [app_commands.Choice(name=name, value=name) for name in ASPECTS]
    everywhere = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)

    async def answer_privately(interaction: discord.Interaction, text: str, *, private: bool = False) -> None:
        """A command in the core's text grammar whose answer only the asker sees."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.run_text(interaction, text, private=private)

    @tree.command(name="sora", description="Make a short video with sound from a prompt")
    @app_commands.describe(
        prompt="what happens in the clip",
        seconds="how long",
        aspect="landscape, portrait or square",
        seed="the same seed and prompt give the same clip",
        cameo="someone who consented to appear in clips",
    )
    @app_commands.choices(seconds=seconds, aspect=aspects)  # type: ignore[misc]
    @everywhere
    async def sora(
        interaction: discord.Interaction,
        prompt: str,
        seconds: int | None = None,
        aspect: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        cameo: discord.User | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.generate(interaction, prompt, seconds, aspect, seed, cameo)

    @tree.command(name="remix", description="Remix a clip with a new prompt")
    @app_commands.describe(clip="the clip id, like k3f9x2ab", prompt="what should change")
    @everywhere
    async def remix(interaction: discord.Interaction, clip: str, prompt: str) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.remix(interaction, clip, prompt)

    @tree.command(name="extend", description="Continue a clip")
    @app_commands.describe(clip="the clip id", seconds="how much longer", prompt="what happens next")
    @app_commands.choices(seconds=seconds)
    @everywhere
    async def extend(
        interaction: discord.Interaction, clip: str, seconds: int | None = None, prompt: str | None = None
    ) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.extend(interaction, clip, seconds, prompt or "")

    @tree.command(name="stitch", description="Join clips into one")
    @app_commands.describe(clips="clip ids separated by spaces, in order")
    @everywhere
    async def stitch(interaction: discord.Interaction, clips: str) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.run_text(interaction, f"stitch {clips}", admits_job=True)

    @tree.command(name="quota", description="Your credits left today")
    @everywhere
    async def quota(interaction: discord.Interaction) -> None:
        await answer_privately(interaction, "quota")

    @tree.command(name="jobs", description="Your waiting, running and recent jobs")
    @everywhere
    async def jobs(interaction: discord.Interaction) -> None:
        await answer_privately(interaction, "jobs")

    @tree.command(name="cancel", description="Cancel one of your jobs")
    @app_commands.describe(job="the job id")
    @everywhere
    async def cancel(interaction: discord.Interaction, job: str) -> None:
        await answer_privately(interaction, f"cancel {job}")

    @tree.command(name="tree", description="The remix tree of a clip (in a clip's thread: that clip)")
    @app_commands.describe(clip="the clip id; leave empty inside a clip's thread")
    @everywhere
    async def tree_(interaction: discord.Interaction, clip: str | None = None) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.tree(interaction, clip)

    @tree.command(name="delete", description="Delete a clip everywhere it was posted (yours, or one showing you)")
    @app_commands.describe(clip="the clip id")
    @everywhere
    async def delete(interaction: discord.Interaction, clip: str) -> None:
        await answer_privately(interaction, f"delete {clip}")

    @tree.command(name="link", description="Join your accounts on other platforms (answer seen only by you)")
    @app_commands.describe(code="the code `link` gave you on your other account; leave empty to get one")
    @everywhere
    async def link(interaction: discord.Interaction, code: str | None = None) -> None:
        await answer_privately(interaction, f"link {code or ''}".strip(), private=True)

    @tree.command(name="links", description="Your accounts on other platforms joined to this one")
    @everywhere
    async def links(interaction: discord.Interaction) -> None:
        await answer_privately(interaction, "links", private=True)

    @tree.command(name="unlink", description="Detach your account on a platform; it starts fresh")
    @app_commands.describe(platform="telegram, discord or web")
    @everywhere
    async def unlink(interaction: discord.Interaction, platform: str) -> None:
        await answer_privately(interaction, f"unlink {platform}", private=True)

    @tree.command(name="help", description="What sorabox can do")
    @app_commands.describe(command="a command to explain, e.g. cameo")
    @everywhere
    async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        text, ok = help_text(tree, command, is_admin=adapter.actor(interaction).is_admin)
        await adapter.answer(interaction, text if ok else render.refusal(text))

    @tree.context_menu(name="Remix this clip")
    @everywhere
    async def remix_message(interaction: discord.Interaction, message: discord.Message) -> None:
        # The modal is the response: no lookup before it (the clip is found when the prompt comes back).
        await interaction.response.send_modal(adapter.remix_modal_for_message(message))

    admin = app_commands.Group(
        name="sora-admin",
        description="Server managers: quotas and the queue",
        guild_only=True,
        default_permissions=DEFAULT_PERMISSIONS_ADMIN,
    )

    @admin.command(name="quota", description="Set the daily credits for a role (leave credits empty to remove)")
    @app_commands.describe(role="the role", credits="daily credits for members with this role")
    async def admin_quota(
        interaction: discord.Interaction,
        role: discord.Role,
        credits: app_commands.Range[int, 0, MAX_DAILY_CREDITS] | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.set_role_quota(interaction, role, credits)

    @admin.command(name="queue", description="Every waiting and running job")
    async def admin_queue(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.show_queue(interaction)

    tree.add_command(admin)
    if adapter.cameo_commands is not None:
        cameo_commands.install(tree, adapter, adapter.cameo_commands)
