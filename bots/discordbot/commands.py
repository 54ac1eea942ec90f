"""The application commands: /sora and friends, the "Remix this clip" message menu and /sora-admin.

Every callback acknowledges first (`defer`, or a modal as the response) and only then does any work:
Discord forgets an interaction that has no response after 3 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from core.commands import ASPECTS, Limits

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

SECONDS_OFFERED = (3, 5, 8, 10, 15, 20)
MAX_SEED = 2**31 - 1
MAX_DAILY_CREDITS = 1_000_000
DEFAULT_PERMISSIONS_ADMIN = discord.Permissions(manage_guild=True)


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
        await adapter.run_text(interaction, f"stitch {clips}")

    @tree.command(name="quota", description="Your credits left today")
    @everywhere
    async def quota(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.run_text(interaction, "quota")

    @tree.command(name="jobs", description="Your waiting, running and recent jobs")
    @everywhere
    async def jobs(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.run_text(interaction, "jobs")

    @tree.command(name="cancel", description="Cancel one of your jobs")
    @app_commands.describe(job="the job id")
    @everywhere
    async def cancel(interaction: discord.Interaction, job: str) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.run_text(interaction, f"cancel {job}")

    @tree.command(name="tree", description="The remix tree of a clip (in a clip's thread: that clip)")
    @app_commands.describe(clip="the clip id; leave empty inside a clip's thread")
    @everywhere
    async def tree_(interaction: discord.Interaction, clip: str | None = None) -> None:
        await interaction.response.defer(thinking=True)
        await adapter.tree(interaction, clip)

    @tree.command(name="help", description="What sorabox can do")
    @app_commands.describe(command="a command to explain")
    @everywhere
    async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await adapter.run_text(interaction, f"help {command or ''}")

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
