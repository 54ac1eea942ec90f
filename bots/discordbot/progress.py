"""Job progress on Discord: the deferred response of the interaction that asked for a job is edited as it moves;
when its token expires (or there was none) a channel message of its own takes over."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import discord

from bots.common.status import JobStatuses, is_final
from bots.discordbot import render
from bots.discordbot.delivery import TRANSIENT_ERRORS
from core.errors import UnknownJob
from core.events import JobDone, JobEvent
from core.identity import Place
from core.records import ACTIVE_STATES

if TYPE_CHECKING:
    from bots.discordbot.adapter import DiscordAdapter

log = logging.getLogger(__name__)

# Interaction tokens last 15 minutes; stop using one a minute early so an edit never races the expiry.
TOKEN_SAFE_SECONDS = 14 * 60.0


@dataclass
class JobWatch:
    """A job whose progress is shown by editing the deferred response of the interaction that asked for it;
    for a job asked by replying to a clip (no interaction), the bot's answer to that reply (`fallback`); for a
    job admitted before a restart (no interaction, no answer), a status message posted on its first update."""

    job_id: str
    prompt: str
    interaction: discord.Interaction | None
    place: Place
    opened_at: float  # time.monotonic() when the interaction arrived
    text: str = ""
    final: bool = False
    done: bool = False  # ended with JobDone: the clip itself arrives through the outbox
    token_valid: bool = True
    fallback: discord.Message | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class DiscordProgress:
    """The watches of one Discord adapter: which job is shown where, and the edits that show it."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
        self.statuses: JobStatuses[JobWatch] = JobStatuses(
            grace=adapter.settings.orphan_grace_seconds, adopt=self._adopt, spawn=adapter.spawn
        )

    def claim(self, watch: JobWatch) -> None:
        """Register the job's watch before its first answer is sent: events arriving meanwhile update it, and the
        job is not mistaken for one admitted before a restart (`_adopt`) however slow that answer is."""
        self.statuses.claim(watch.job_id, watch)

    def follow(self, watch: JobWatch, *, shown: bool = True) -> None:
        """Show the job's progress from now on, starting from its latest event if some came already. `shown`: the
        watch's text is on Discord already, so the first edit waits out the interval; otherwise it is due now."""
        self.claim(watch)
        earlier = self.statuses.latest(watch.job_id)
        if earlier is not None:
            self._update(watch, earlier)
        self.adapter.spawn(self._render(watch, shown=shown), f"discord-progress-{watch.job_id}")

    async def _adopt(self, latest: JobEvent) -> None:
        """A Discord job nobody here watches: admitted before a restart, its interaction's watch was lost with the
        old process. After a grace (in which the interaction that just admitted a job claims it) it gets a status
        message of its own in the job's channel or thread, edited like the expired-token fallback. A new message
        rather than the old interaction's token: nothing persists the token, and it dies after 15 minutes."""
        job_id = latest.job_id
        try:
            job = await self.adapter.core.job(job_id)
        except UnknownJob:
            return
        assert self.adapter.client is not None
        await self.adapter.client.wait_until_ready()  # progress of a job from before the restart can come first
        latest = self.statuses.latest(job_id) or latest
        if job.state not in ACTIVE_STATES or self.statuses.get(job_id) is not None or is_final(latest):
            return  # ended meanwhile (the posted clip says it all), or claimed after all
        watch = JobWatch(job_id, job.prompt, None, latest.place, time.monotonic(), token_valid=False)
        self.follow(watch, shown=False)

    async def job_event(self, event: JobEvent) -> None:
        """Every Discord job event: the watch that shows the job, if any, takes it (else the tracker may adopt)."""
        watch = self.statuses.seen(event)
        if watch is not None:
            self._update(watch, event)

    def _update(self, watch: JobWatch, event: JobEvent) -> None:
        watch.text = render.status(event, watch.prompt)
        watch.final = is_final(event)
        watch.done = isinstance(event, JobDone)
        watch.changed.set()

    async def _render(self, watch: JobWatch, *, shown: bool = True) -> None:
        """Edit the deferred response as the job moves, no more often than the settings allow."""
        last = time.monotonic() if shown else -math.inf  # when the watch's text was last put on Discord
        try:
            while True:
                await watch.changed.wait()
                interval = (
                    self.adapter.settings.progress_interval_seconds
                    if watch.token_valid
                    else self.adapter.settings.fallback_interval_seconds
                )
                delay = last + interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # later events overwrite watch.text meanwhile
                watch.changed.clear()
                final = watch.final
                await self._show(watch, watch.text, done=watch.done)
                last = time.monotonic()
                if final:
                    return
        finally:
            self.statuses.release(watch.job_id, watch)

    async def _show(self, watch: JobWatch, text: str, *, done: bool) -> None:
        interaction = watch.interaction if watch.token_valid else None
        if interaction is not None and time.monotonic() - watch.opened_at < TOKEN_SAFE_SECONDS:
            try:
                await interaction.edit_original_response(content=render.fit(text))
                return
            except discord.HTTPException as exc:
                if exc.status not in (401, 404):
                    log.warning("progress edit for %s failed: %r", watch.job_id, exc)
                    return
                log.info("the interaction of job %s expired; progress goes to a channel message", watch.job_id)
            except TRANSIENT_ERRORS as exc:
                log.warning("progress edit for %s failed: %r", watch.job_id, exc)
                return
        watch.token_valid = False
        if done and watch.fallback is None:
            return  # the posted clip says it all
        try:
            if watch.fallback is None:
                watch.fallback = await self.adapter.messageable(watch.place).send(render.fit(text))
            else:
                await watch.fallback.edit(content=render.fit(text))
        except (discord.HTTPException, *TRANSIENT_ERRORS) as exc:
            log.warning("progress message for %s failed: %r", watch.job_id, exc)
