"""The Discord adapter: a discord.py client that turns interactions (and replies to its clips) into core
commands, shows progress on the deferred response, and posts finished clips from the core's outbox into a
thread per clip."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bots.common.events import EventDispatch
from bots.common.outbox import Backoff, DeliveryWorker
from bots.discordbot import commands, render
from bots.discordbot.cameos import DiscordCameos, ForgetButton
from bots.discordbot.delivery import TRANSIENT_ERRORS, DiscordDelivery
from bots.discordbot.pending import PendingInteractions, place_key
from bots.discordbot.progress import DiscordProgress, JobWatch
from bots.discordbot.replies import NOT_A_CLIP, ReplyRemixes
from bots.discordbot.settings import DiscordSettings
from bots.discordbot.views import ClipButton, RemixModal
from core.commands import ASPECTS, Delete, Extend, Generate, Remix, Reroll, Tree, cameo_handles, clean_text, clip_id
from core.errors import BadCommand
from core.events import ClipDeleted, JobEvent, PostRef
from core.identity import Actor, Place
from core.records import Reply
from core.service import Sorabox
from core.texts import short

log = logging.getLogger(__name__)

PLATFORM = "discord"
# How long stop() lets a post in flight finish.
STOP_GRACE_SECONDS = 10.0


# Message events, but not the privileged Message Content intent: Discord still sends the text of messages that
# mention the bot (a reply pings the replied-to author by default) and of DMs, which is all a reply remix needs.
INTENTS = discord.Intents(guilds=True, guild_messages=True, dm_messages=True)


class KeptCommandTree(app_commands.CommandTree["SoraClient"]):
    """The command tree; every slash command passes here before its callback defers it, so it is kept first."""

    async def interaction_check(self, interaction: discord.Interaction[SoraClient], /) -> bool:
        await self.client.adapter.pending.keep(interaction)
        return True


class SoraClient(discord.Client):
    """The discord.py client: minimal intents (no privileged ones), the command tree, persistent buttons."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        super().__init__(
            intents=INTENTS,
            guild_ready_timeout=adapter.settings.guild_ready_timeout,
            max_messages=None,  # nothing reads cached messages
        )
        self.actions = adapter  # what ClipButton.callback calls
        self.adapter = adapter
        self.tree: app_commands.CommandTree[SoraClient] = KeptCommandTree(self)
        self.tree.error(adapter.on_command_error)
        commands.install(self.tree, adapter)

    async def setup_hook(self) -> None:
        # Registered before the gateway connects, so buttons posted before a restart work at once.
        self.add_dynamic_items(ClipButton, ForgetButton)
        try:
            await self._sync_commands()
        except (discord.HTTPException, *TRANSIENT_ERRORS) as exc:
            # Discord keeps the commands of the last sync: a failed one (a 429 or a lost answer while the platform
            # is in trouble) must not keep the bot off the gateway, where deferred interactions wait for answers.
            log.warning("could not sync the application commands (the last sync's stay in use): %r", exc)

    async def _sync_commands(self) -> None:
        guild_ids = self.adapter.settings.guild_ids
        if guild_ids:
            for guild_id in guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)  # guild commands appear at once
        else:
            await self.tree.sync()  # global: every server and DMs

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.replies.message_posted(message)


class DiscordAdapter:
    """Runs the Discord client as a task next to the core; `start` and `stop` are its whole lifecycle."""

    def __init__(self, core: Sorabox, settings: DiscordSettings, media_url: Callable[[str], str] | None = None) -> None:
        """`media_url(clip_id)` links a clip too big to upload (the web console's signed URL, when it runs)."""
        self.core = core
        self.settings = settings
        self._media_url = media_url
        self.client: SoraClient | None = None
        self.client_task: asyncio.Task[None] | None = None
        # /cameo and /forgetme, when the service runs with cameos (set in start(): serve installs them first).
        self.cameo_commands: DiscordCameos | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.progress = DiscordProgress(self)
        self.replies = ReplyRemixes(self)
        self._upload_limits: dict[str, int] = {}  # job id -> the attachment limit its interaction carried
        # clip id -> the thread just opened for it, until the core has recorded the post (a remix can come first).
        self._fresh_threads: OrderedDict[str, str] = OrderedDict()
        # message id -> clip id of clips just posted, for the same reason (the message menu on a brand-new post).
        self._fresh_posts: OrderedDict[str, str] = OrderedDict()
        self.delivery = DiscordDelivery(self)
        self.pending = PendingInteractions(self, core.inbox)
        self.deliveries = DeliveryWorker(
            core,
            PLATFORM,
            self.delivery,
            backoff=Backoff(settings.delivery_retry_seconds, settings.delivery_retry_seconds),
            poll_seconds=settings.delivery_poll_seconds,
            # One claim at a time: when the adapter stops between two posts, nothing is left claimed (and hidden).
            batch=1,
            ready=self._client_ready,
        )
        self.events = EventDispatch(
            PLATFORM,
            deliveries_pending=self.deliveries.wake,
            clip_deleted=self._clip_deleted,
            job_hooks={JobEvent: self.progress.job_event},
        )
        self._saved_urls: tuple[str, yarl.URL] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._point_discord_py()
        cameos = getattr(self.core, "cameos", None)
        self.cameo_commands = DiscordCameos(self, cameos) if cameos is not None else None
        self.client = SoraClient(self)
        subscription = self.core.bus.subscribe()
        self.client_task = asyncio.create_task(self.client.start(self.settings.token), name="discord-client")
        self.client_task.add_done_callback(self._client_ended)
        self.spawn(self.events.run(subscription), "discord-events")
        self.spawn(self._answer_cut_off(), "discord-replay")
        self.deliveries.start()

    async def stop(self) -> None:
        # A post in flight finishes first: cut between posting and delivery_sent, the next start would have to
        # find the post in the channel's history (and could miss it in a busy channel).
        await self.deliveries.stop(grace=STOP_GRACE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        if self.client_task is not None:
            await asyncio.wait({self.client_task}, timeout=10.0)
        self._restore_discord_py()

    def _point_discord_py(self) -> None:
        # discord.py reads its REST base and gateway from class attributes (Route.BASE and
        # DiscordWebSocket.DEFAULT_GATEWAY): it has no per-client setting, so the only hook is to set them
        # while this adapter runs and put them back in stop(). One Discord adapter runs per process.
        self._saved_urls = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self.settings.api_base:
            Route.BASE = self.settings.api_base
        if self.settings.gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)

    def _restore_discord_py(self) -> None:
        if self._saved_urls is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_urls
            self._saved_urls = None

    async def _client_ready(self) -> None:
        assert self.client is not None
        await self.client.wait_until_ready()

    async def _answer_cut_off(self) -> None:
        """Interactions deferred before a crash and never answered get their answer now."""
        await self._client_ready()
        await self.pending.replay()

    def _client_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the Discord client stopped: %r", task.exception(), exc_info=task.exception())

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """A bug in a command: log it and tell the person, instead of leaving them with 'thinking…'."""
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)
        await self._answer(interaction, render.refusal("something went wrong on our side; please try again"))

    # -- who and where ----------------------------------------------------------------------------

    @staticmethod
    def actor(interaction: discord.Interaction) -> Actor:
        user = interaction.user
        roles = tuple(str(r.id) for r in user.roles if not r.is_default()) if isinstance(user, discord.Member) else ()
        perms = interaction.permissions
        # Manage Server (or Administrator) in this server: the core lets such people delete and cancel here.
        is_admin = interaction.guild_id is not None and (perms.manage_guild or perms.administrator)
        return Actor(PLATFORM, str(user.id), user.display_name, roles, is_admin)

    @staticmethod
    def place(interaction: discord.Interaction) -> Place:
        channel_id = str(interaction.channel_id)
        # The interaction names the request: admitted twice (a replay after a crash), it finds its first job.
        key = place_key(interaction.id)
        if interaction.guild_id is None:
            return Place(PLATFORM, channel_id, None, is_private=True, request_key=key)
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            return Place(PLATFORM, str(channel.parent_id), str(interaction.guild_id), str(channel.id), request_key=key)
        return Place(PLATFORM, channel_id, str(interaction.guild_id), request_key=key)

    async def place_for_clip(self, place: Place, clip: str) -> Place:
        """A remix, extend or reroll of a clip goes into that clip's thread, if it has one in this server."""
        if place.guild_id is None or self.client is None:
            return place
        threads = [p.thread_id for p in await self.core.posts_of_clip(clip) if p.platform == PLATFORM and p.thread_id]
        if clip in self._fresh_threads:
            threads.insert(0, self._fresh_threads[clip])
        for thread_id in threads:
            thread = self.client.get_channel(int(thread_id))
            if thread is None:
                try:
                    thread = await self.client.fetch_channel(int(thread_id))
                except (discord.HTTPException, *TRANSIENT_ERRORS):
                    continue
            if isinstance(thread, discord.Thread) and str(thread.guild.id) == place.guild_id:
                return Place(
                    PLATFORM, str(thread.parent_id), place.guild_id, str(thread.id), request_key=place.request_key
                )
        return place

    # -- commands (each is called after the interaction was deferred) -----------------------------

    def prompt_text(self, text: str, example: str) -> str:
        prompt = clean_text(text, self.core.settings.limits)
        if not prompt:
            raise BadCommand(f"the prompt is empty; try `{example}`")
        return prompt

    async def generate(
        self,
        interaction: discord.Interaction,
        prompt: str,
        seconds: int | None,
        aspect: str | None,
        seed: int | None,
        cameo: discord.User | None,
    ) -> None:
        opened = time.monotonic()
        limits = self.core.settings.limits
        try:
            text = self.prompt_text(prompt, "/sora prompt: a red ball bounces on a wooden floor")
            width, height = ASPECTS[aspect or "landscape"]
        except BadCommand as exc:
            await self._answer(interaction, render.refusal(str(exc)))
            return
        handles = [*cameo_handles(text)]
        if cameo is not None:
            handles.append(await self._cameo_handle(cameo))
        command = Generate(
            prompt=text,
            seconds=float(seconds or limits.default_seconds),
            width=width,
            height=height,
            seed=seed,
            cameos=tuple(dict.fromkeys(handles)),
        )
        place = self.place(interaction)
        reply = await self.core.execute(self.actor(interaction), place, command)
        await self._answer_job(interaction, reply, text, place, opened)

    async def _cameo_handle(self, person: discord.User) -> str:
        """The cameo the picked person owns; without one, their username, which consent then refuses clearly."""
        cameos = getattr(self.core, "cameos", None)
        handle = await cameos.handle_of("discord", str(person.id)) if cameos is not None else None
        return handle or person.name.replace(".", "_").lower()

    async def remix(self, interaction: discord.Interaction, clip: str, prompt: str) -> None:
        opened = time.monotonic()
        try:
            source = clip_id(clip)
            text = self.prompt_text(prompt, "/remix clip: k3f9x2ab prompt: make it night")
        except BadCommand as exc:
            await self._answer(interaction, render.refusal(str(exc)))
            return
        place = await self.place_for_clip(self.place(interaction), source)
        reply = await self.core.execute(self.actor(interaction), place, Remix(source, text))
        await self._answer_job(interaction, reply, text, place, opened)

    async def extend(self, interaction: discord.Interaction, clip: str, seconds: int | None, prompt: str) -> None:
        opened = time.monotonic()
        limits = self.core.settings.limits
        try:
            source = clip_id(clip)
            text = clean_text(prompt, limits)
        except BadCommand as exc:
            await self._answer(interaction, render.refusal(str(exc)))
            return
        place = await self.place_for_clip(self.place(interaction), source)
        command = Extend(source, float(seconds or limits.default_extend_seconds), text)
        reply = await self.core.execute(self.actor(interaction), place, command)
        await self._answer_job(interaction, reply, text or f"extend {source}", place, opened)

    async def run_text(
        self, interaction: discord.Interaction, text: str, *, admits_job: bool = False, private: bool = False
    ) -> None:
        """A command in the core's text grammar (stitch, quota, jobs, cancel, delete). Only one that `admits_job`
        (stitch) has its progress shown here: `cancel`'s reply names a job too, but one whose progress belongs to
        the interaction that asked for it (following it here would take that job's watch away).
        `private`: the answer was deferred as ephemeral, so only this person reads it, as in a DM (`/link`)."""
        opened = time.monotonic()
        place = self.place(interaction)
        if private:
            place = dataclasses.replace(place, is_private=True)
        reply = await self.core.handle_text(self.actor(interaction), place, text)
        if admits_job:
            await self._answer_job(interaction, reply, short(text, 80), place, opened)
        else:
            await self._answer(interaction, reply.text if reply.ok else render.refusal(reply.text))

    async def tree(self, interaction: discord.Interaction, clip: str | None) -> None:
        source: str | None = None
        try:
            if clip:
                source = clip_id(clip)
            elif isinstance(interaction.channel, discord.Thread) and interaction.channel.parent_id:
                # A clip's thread was started from the clip's message, so it has that message's id.
                thread = interaction.channel
                source = await self.core.clip_for_post(PLATFORM, str(thread.parent_id), str(thread.id))
        except BadCommand as exc:
            await self._answer(interaction, render.refusal(str(exc)))
            return
        if source is None:
            await self._answer(interaction, render.refusal("give a clip id, or use /tree inside a clip's thread"))
            return
        reply = await self.core.execute(self.actor(interaction), self.place(interaction), Tree(source))
        await self._answer(interaction, reply.text if reply.ok else render.refusal(reply.text))

    async def set_role_quota(self, interaction: discord.Interaction, role: discord.Role, credits: int | None) -> None:
        actor = self.actor(interaction)
        reply = await self.core.set_quota_override(actor, PLATFORM, str(interaction.guild_id), str(role.id), credits)
        text = reply.text.replace(f"role {role.id}", f"role @{role.name}")
        await self._answer(interaction, text if reply.ok else render.refusal(text))

    async def show_queue(self, interaction: discord.Interaction) -> None:
        if not self.actor(interaction).is_admin:
            await self._answer(interaction, render.refusal("only server managers can see the queue"))
            return
        jobs = await self.core.queue_snapshot()
        lines = [
            f"`{j.id}` {j.state}{f' #{j.position}' if j.position else ''} · {j.requester}: {short(j.prompt, 60)}"
            for j in jobs
        ]
        await self._answer(interaction, "\n".join(lines) if lines else "the queue is empty")

    # -- buttons and modals -----------------------------------------------------------------------

    async def clip_button(self, interaction: discord.Interaction, action: str, clip: str) -> None:
        """Remix opens the modal (that is the response); the others defer, then ask the core."""
        if action == "remix":
            await interaction.response.send_modal(self.remix_modal(partial(self._remix_submitted, clip)))
            return
        await self.pending.keep(interaction)
        await interaction.response.defer(thinking=True, ephemeral=action == "delete")
        opened = time.monotonic()
        actor, place = self.actor(interaction), self.place(interaction)
        if action == "delete":
            reply = await self.core.execute(actor, place, Delete(clip))
            await self._answer(interaction, reply.text if reply.ok else render.refusal(reply.text))
            return
        place = await self.place_for_clip(place, clip)
        limits = self.core.settings.limits
        command = Extend(clip, limits.default_extend_seconds) if action == "extend" else Reroll(clip)
        reply = await self.core.execute(actor, place, command)
        await self._answer_job(interaction, reply, f"{action} {clip}", place, opened)

    def remix_modal(self, on_prompt: Any) -> RemixModal:
        return RemixModal(on_prompt, max_length=self.core.settings.limits.max_prompt_chars)

    def remix_modal_for_message(self, message: discord.Message) -> RemixModal:
        return self.remix_modal(partial(self._message_remix_submitted, message.channel.id, message.id))

    async def _remix_submitted(self, clip: str, interaction: discord.Interaction, prompt: str) -> None:
        await interaction.response.defer(thinking=True)
        await self.remix(interaction, clip, prompt)

    async def _message_remix_submitted(
        self, channel_id: int, message_id: int, interaction: discord.Interaction, prompt: str
    ) -> None:
        await interaction.response.defer(thinking=True)
        clip = await self.clip_of_message(channel_id, message_id)
        if clip is None:
            await self._answer(interaction, render.refusal(NOT_A_CLIP))
            return
        await self.remix(interaction, clip, prompt)

    async def clip_of_message(self, channel_id: int, message_id: int) -> str | None:
        """The clip a message shows, or None. A clip posted a moment ago may not be recorded by the core yet."""
        return self._fresh_posts.get(str(message_id)) or await self.core.clip_for_post(
            PLATFORM, str(channel_id), str(message_id)
        )

    # -- answers and progress ---------------------------------------------------------------------

    async def answer(self, interaction: discord.Interaction, text: str, *, view: Any = discord.utils.MISSING) -> None:
        """Show `text` as the deferred response (for the command modules); `view=None` removes its buttons."""
        await self._answer(interaction, text, view=view)

    async def _answer(self, interaction: discord.Interaction, text: str, *, view: Any = discord.utils.MISSING) -> None:
        try:
            await interaction.edit_original_response(content=render.fit(text), view=view)
        except (discord.DiscordServerError, *TRANSIENT_ERRORS) as exc:
            # Left pending in the inbox: the next start answers it again.
            log.warning("could not answer interaction %s: %r", interaction.id, exc)
            return
        except discord.HTTPException as exc:
            log.warning("could not answer interaction %s: %r", interaction.id, exc)
        except RuntimeError as exc:
            if self.client is None or not self.client.is_closed():
                raise
            log.info("not answering interaction %s: the client is shutting down (%s)", interaction.id, exc)
            return
        await self.pending.answered(interaction.id)

    async def _answer_job(
        self, interaction: discord.Interaction, reply: Reply, prompt: str, place: Place, opened: float
    ) -> None:
        if not reply.ok:
            await self._answer(interaction, render.refusal(reply.text))
            return
        if reply.job_id is None:
            await self._answer(interaction, reply.text)
            return
        watch = JobWatch(reply.job_id, prompt, interaction, place, opened, text=reply.text)
        self.progress.claim(watch)
        await self._answer(interaction, reply.text)
        self._upload_limits[reply.job_id] = interaction.filesize_limit
        self.progress.follow(watch)

    def messageable(self, place: Place) -> discord.PartialMessageable:
        assert self.client is not None
        return self.client.get_partial_messageable(int(place.thread_id or place.channel_id))

    # -- events -----------------------------------------------------------------------------------

    async def _clip_deleted(self, event: ClipDeleted) -> None:
        posts = [p for p in event.posts if p.platform == PLATFORM]
        if posts:
            self.spawn(self._remove_posts(posts), f"discord-delete-{event.clip_id}")

    async def _remove_posts(self, posts: list[PostRef]) -> None:
        assert self.client is not None
        for post in posts:
            # A thread started from a message has that message's id, and the message lives in the parent.
            in_thread = post.thread_id is not None and post.thread_id != post.message_id
            channel_id = int(post.thread_id if in_thread else post.channel_id)  # type: ignore[arg-type]
            message = self.client.get_partial_messageable(channel_id).get_partial_message(int(post.message_id))
            try:
                await message.delete()
            except discord.NotFound:
                pass
            except (discord.HTTPException, *TRANSIENT_ERRORS) as exc:
                log.warning("could not delete message %s: %r", post.message_id, exc)

    async def deliver_pending(self) -> int:
        """Post every due delivery now; returns how many were posted."""
        return await self.deliveries.deliver_pending()
