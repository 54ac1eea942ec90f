"""The core service: the one object adapters talk to (docs/CORE_API.md).

`Sorabox` is a facade. It builds the parts that each own one concept and delegates to them:
- `commands` (core/dispatch.py): the one command registry; the built-in grammar and every extension's commands;
- `admission` (core/jobs/admission.py): moderation, limits, quota, the job row;
- `runner` (core/jobs/runner.py): the fair queue, scheduling, running a job to its clip, cancelling;
- `outbox` (core/jobs/outbox.py): deliveries adapters post exactly once;
- `library` (core/clips/library.py) and `views` (core/jobs/views.py): clips, lineage, deletion, job lists;
- `admin` (core/admin.py): quotas, overrides, grants, service admins;
- `inbox` (core/inbox.py): platform requests kept from arrival until handled, so a crash loses none.
What they share (database, media, executor, settings, bus, moderation, extensions, clock) is one `Kernel`.

Features join when the core is built, not after: `cameos` (its commands, and its consent extension first in the
job's path) and `extensions` (watermark, signing) are constructor arguments; bots/composition.py builds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.admin import MAX_GRANT, Admin
from core.clips.library import ClipLibrary
from core.commands import (
    PARSERS,
    Cancel,
    Command,
    Delete,
    Extend,
    Generate,
    Help,
    Jobs,
    Quota,
    Remix,
    Reroll,
    Stitch,
    Tree,
    help_text,
)
from core.dispatch import CommandRegistry, Handler, Parser
from core.errors import BadCommand, SoraboxError, UnknownJob
from core.events import DeliveriesPending, EventBus, PostRef
from core.execution.local import Executor
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.inbox import Inbox
from core.jobs import quotas
from core.jobs.admission import Admission
from core.jobs.moderation import ContentPolicy, ModerationPolicy
from core.jobs.outbox import DELIVERY_LEASE_SECONDS, Outbox
from core.jobs.runner import SCHEDULER_RETRY_SECONDS, SHUTDOWN, Runner
from core.jobs.views import JobViews
from core.kernel import Kernel, utcnow
from core.people import handles, linking
from core.records import ClipRecord, Delivery, JobRecord, JobSummary, LineageNode, Reply
from core.settings import Settings
from core.texts import render_jobs
from storage import clips as clip_rows
from storage.database import Database
from storage.media_store import MediaStore

if TYPE_CHECKING:
    from core.cameos.service import Cameos

__all__ = ["DELIVERY_LEASE_SECONDS", "MAX_GRANT", "SCHEDULER_RETRY_SECONDS", "SHUTDOWN", "Sorabox", "utcnow"]


class Sorabox:
    """The platform-neutral service every adapter talks to."""

    def __init__(
        self,
        *,
        db: Database,
        media: MediaStore,
        executor: Executor,
        settings: Settings,
        moderation: ContentPolicy | None = None,
        extensions: Sequence[JobExtension] = (),
        cameos: Cameos | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.kernel = Kernel(
            db=db,
            media=media,
            executor=executor,
            settings=settings,
            bus=EventBus(),
            moderation=moderation or ModerationPolicy(),
            extensions=list(extensions),
            clock=clock,
        )
        self.runner = Runner(self.kernel)
        self.admission = Admission(self.kernel, self.runner)
        self.outbox = Outbox(self.kernel)
        self.library = ClipLibrary(self.kernel)
        self.views = JobViews(self.kernel, self.runner.order)
        self.admin = Admin(self.kernel)
        self.inbox = Inbox(self.kernel)
        self.commands = CommandRegistry()
        self._register_builtin_commands()
        # link / links / unlink: part of every service, through the same registry as the extensions.
        self.linking = linking.install(self)
        # The cameo service: adapters reach it here (the console's upload form, a chat's video handler).
        self.cameos = cameos
        if cameos is not None:
            cameos.attach(self)
            # Consent goes first: a refused cameo stops a job before anything else spends work on it.
            self.kernel.extensions.insert(0, cameos.extension)

    def _register_builtin_commands(self) -> None:
        builtins: dict[str, tuple[type, Handler]] = {
            "sora": (Generate, self.admission.generate),
            "remix": (Remix, self.admission.remix),
            "extend": (Extend, self.admission.extend),
            "stitch": (Stitch, self.admission.stitch),
            "reroll": (Reroll, self.admission.reroll),
            "tree": (Tree, self.library.tree),
            "delete": (Delete, lambda a, p, c: self.delete_clip(a, p, c.clip_id)),
            "cancel": (Cancel, lambda a, p, c: self.cancel(a, p, c.job_id)),
            "quota": (Quota, lambda a, p, c: self.admin.quota(a, p)),
            "jobs": (Jobs, self._jobs),
            "help": (Help, self._help),
        }
        for name, parser in PARSERS.items():
            command_type, handler = builtins[name]
            self.commands.register(name, parser, command_type, handler)

    # -- what the parts share ---------------------------------------------------------------------

    @property
    def db(self) -> Database:
        return self.kernel.db

    @property
    def media(self) -> MediaStore:
        return self.kernel.media

    @property
    def executor(self) -> Executor:
        return self.kernel.executor

    @property
    def settings(self) -> Settings:
        return self.kernel.settings

    @property
    def bus(self) -> EventBus:
        return self.kernel.bus

    @property
    def extensions(self) -> list[JobExtension]:
        return self.kernel.extensions

    @property
    def moderation(self) -> ContentPolicy:
        return self.kernel.moderation

    @moderation.setter
    def moderation(self, policy: ContentPolicy) -> None:
        self.kernel.moderation = policy

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.kernel.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.kernel.clock = clock

    @property
    def usage(self) -> dict[str, str]:
        """Every command's usage line, by name (the `help` text and the Discord/Telegram command menus)."""
        return self.commands.usage

    @property
    def parsers(self) -> dict[str, Parser]:
        """Every command's parser, by name (an adapter parses a command's words itself, like a video's caption)."""
        return self.commands.parsers

    def now(self) -> datetime:
        return self.kernel.now()

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from the last run, then start the scheduler."""
        await asyncio.to_thread(self.media.remove_temporaries)
        referenced = await self.kernel.db.read(clip_rows.media_referenced)
        await asyncio.to_thread(self.media.remove_unreferenced, referenced)
        await self.runner.start()
        # Deliveries left pending by the last run: tell whoever is listening.
        for platform in await self.outbox.pending_platforms():
            self.bus.publish(DeliveriesPending(platform))

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop taking jobs; running jobs are interrupted between steps and go back to the queue."""
        await self.runner.stop(grace_seconds)

    async def __aenter__(self) -> Sorabox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- commands ---------------------------------------------------------------------------------

    async def handle_text(self, actor: Actor, place: Place, text: str) -> Reply:
        """Parse one line of the command grammar and run it. Never raises for bad input."""
        try:
            command = self.commands.parse(text, self.settings.limits)
        except BadCommand as exc:
            return Reply(str(exc), ok=False)
        return await self.execute(actor, place, command)

    async def execute(self, actor: Actor, place: Place, command: Command | Any) -> Reply:
        """Run a parsed command. Refusals come back as `Reply(ok=False)` with a short message."""
        try:
            return await self.commands.dispatch(actor, place, command)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)

    def register_command(
        self, name: str, parser: Parser, command_type: type, handler: Handler, usage: str = ""
    ) -> None:
        """Add a command to this service's grammar (an extension's commands); the same name replaces a built-in."""
        self.commands.register(name, parser, command_type, handler, usage)

    async def _jobs(self, actor: Actor, place: Place, command: Jobs) -> Reply:
        jobs = await self.jobs_of(actor)
        return Reply(render_jobs(jobs), jobs=tuple(jobs))

    async def _help(self, actor: Actor, place: Place, command: Help) -> Reply:
        return Reply(help_text(command.topic, self.usage))

    # -- jobs and clips ---------------------------------------------------------------------------

    async def cancel(self, actor: Actor, place: Place, job_id: str) -> Reply:
        """Cancel a job: the requester's own, or any job in a place where the actor is an admin."""
        return await self.runner.cancel(actor, place, job_id)

    async def delete_clip(self, actor: Actor, place: Place, clip_id: str) -> Reply:
        """Delete a clip: its file, and (through ClipDeleted) every message the service posted of it."""
        return await self.library.delete(actor, place, clip_id)

    async def clip(self, clip_id: str) -> ClipRecord:
        """A clip by id; raises UnknownClip when there is none (or it was deleted)."""
        return await self.library.clip(clip_id)

    def media_path(self, clip: ClipRecord) -> Path:
        return self.library.media_path(clip)

    async def job(self, job_id: str) -> JobRecord:
        record = await self.views.job(job_id)
        if record is None:
            raise UnknownJob(job_id)
        return record

    async def clip_for_post(self, platform: str, channel_id: str, message_id: str) -> str | None:
        """The clip a posted message shows (to remix by replying to it), or None."""
        return await self.library.clip_for_post(platform, channel_id, message_id)

    async def posts_of_clip(self, clip_id: str) -> list[PostRef]:
        return await self.library.posts_of_clip(clip_id)

    async def lineage(self, clip_id: str, viewer: Actor | None = None) -> LineageNode:
        """The whole remix tree the clip belongs to, from its root, as `viewer` may see it (no one: public clips)."""
        return await self.library.lineage(clip_id, viewer)

    async def jobs_of(self, actor: Actor, recent: int = 5) -> list[JobSummary]:
        """A person's waiting and running jobs, then their most recent finished ones."""
        return await self.views.jobs_of(actor, recent)

    async def queue_snapshot(self) -> list[JobSummary]:
        """Every active job, running first then in the order they will run (for admins)."""
        return await self.views.queue_snapshot()

    # -- people -----------------------------------------------------------------------------------

    async def remember_handle(self, platform: str, handle: str, user_id: str) -> None:
        """Record that the account `user_id` (Actor.user_id) goes by `handle` on `platform` (a Telegram
        @username), so a mention that carries only the name can be resolved, also after a restart."""
        now = self.now()
        await self.db.write(lambda db: handles.remember(db, platform, handle, user_id, now))

    async def user_for_handle(self, platform: str, handle: str) -> str | None:
        """The account (Actor.user_id) last seen with `handle` on `platform`, or None."""
        record = await self.db.read(lambda db: handles.lookup(db, platform, handle))
        return None if record is None else record.platform_user_id

    # -- quotas and admin -------------------------------------------------------------------------

    async def quota_status(self, actor: Actor, place: Place) -> quotas.QuotaStatus:
        return await self.admin.quota_status(actor, place)

    async def set_quota_override(
        self, actor: Actor, platform: str, guild_id: str | None, role: str | None, daily_credits: int | None
    ) -> Reply:
        """Set (or with None, remove) a daily allowance for a platform, a guild/chat and optionally a role."""
        return await self.admin.set_quota_override(actor, platform, guild_id, role, daily_credits)

    async def grant_credits(self, to: Actor, credits: int, *, by: Actor | None = None, note: str = "") -> Reply:
        """Give a person extra credits for today; `by` must be a service admin, None is the operator."""
        return await self.admin.grant_credits(to, credits, by=by, note=note)

    async def make_admin(self, actor: Actor) -> str:
        """Mark a person as a service admin (the CLI and the console's first start use this)."""
        return await self.admin.make_admin(actor)

    # -- the outbox -------------------------------------------------------------------------------

    async def claim_deliveries(self, platform: str, limit: int = 10) -> list[Delivery]:
        """Due deliveries for a platform, each held for this caller for a while (see DELIVERY_LEASE_SECONDS)."""
        return await self.outbox.claim(platform, limit)

    async def delivery_posting(self, delivery_id: int) -> None:
        """Mark a claimed delivery as being posted now (see `Delivery.may_have_posted`)."""
        await self.outbox.posting(delivery_id)

    async def delivery_sent(
        self, delivery_id: int, message_id: str, thread_id: str | None = None, *, posted_to: Place | None = None
    ) -> None:
        """Record that a delivery was posted as `message_id`; `posted_to` where it really landed, if elsewhere."""
        await self.outbox.sent(delivery_id, message_id, thread_id, posted_to=posted_to)

    async def delivery_failed(
        self, delivery_id: int, error: str, retry_in: float | None, *, may_have_posted: bool = False
    ) -> None:
        """A post failed: try again after `retry_in` seconds, or give up when it is None."""
        await self.outbox.failed(delivery_id, error, retry_in, may_have_posted=may_have_posted)

    async def pending_delivery_counts(self) -> dict[str, int]:
        return await self.outbox.pending_counts()

    def clip_payload_path(self, delivery: Delivery) -> Path | None:
        return self.outbox.payload_path(delivery)
