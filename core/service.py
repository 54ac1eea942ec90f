"""The core service: admits requests, runs them fairly off the event loop, and fills the outbox.

Adapters call `handle_text` (or `execute` with a parsed command), subscribe to `bus` for progress,
and post what `claim_deliveries` gives them. See docs/CORE_API.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlite_utils

from core.clips.lineage import build_lineage, posts_of, render_tree
from core.commands import (
    PARSERS,
    USAGE,
    Cancel,
    Command,
    Delete,
    Extend,
    Generate,
    Help,
    Jobs,
    Limits,
    Quota,
    Remix,
    Reroll,
    Stitch,
    Tree,
    help_text,
    parse,
)
from core.errors import (
    BadCommand,
    NotAllowed,
    QueueFull,
    QuotaExceeded,
    Refused,
    SoraboxError,
    TooManyJobs,
    UnknownClip,
    UnknownJob,
)
from core.events import (
    ClipDeleted,
    DeliveriesPending,
    EventBus,
    JobCancelled,
    JobDone,
    JobFailed,
    JobProgress,
    JobQueued,
    JobStarted,
    PostRef,
)
from core.execution.local import Executor, ExecutorUnavailable
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.jobs import quotas
from core.jobs import store as jobstore
from core.jobs.moderation import ContentPolicy, ModerationPolicy
from core.jobs.scheduler import FairQueue
from core.ops import counters
from core.people import handles, linking
from core.provenance.metadata import clip_meta, provenance
from core.records import (
    ClipRecord,
    Delivery,
    JobRecord,
    JobSummary,
    LineageNode,
    Reply,
    iso,
    new_id,
)
from core.settings import Settings
from core.texts import caption, clip_notes, duration, render_jobs, summary
from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest, SourceClip
from model.media import EncodeOptions, MediaError, decode_clip, encode_mp4
from storage.database import Database, one
from storage.media_store import MediaStore

log = logging.getLogger(__name__)

SHUTDOWN = "the service is restarting"
# How long an adapter may hold a claimed delivery before it is offered again.
DELIVERY_LEASE_SECONDS = 120.0
MAX_GRANT = 100_000  # credits one grant may give: a typo should not hand out millions
# How often the scheduler looks at the executor's capacity when nothing else wakes it.
CAPACITY_RECHECK_SECONDS = 1.0
# How long the scheduler waits after the database refused to start a job.
SCHEDULER_RETRY_SECONDS = 1.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Running:
    job: JobRecord
    token: CancelToken
    started: float
    task: asyncio.Task[None] | None = None
    step: int = 0
    total: int = 0
    # False once the executor gave the clip back: encoding it no longer holds one of the executor's slots.
    generating: bool = True


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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.media = media
        self.executor = executor
        self.settings = settings
        self.moderation: ContentPolicy = moderation or ModerationPolicy()
        self.clock = clock
        self.extensions = list(extensions)
        # Commands beyond the built-in grammar (cameo, forgetme...): name -> parser, type -> handler.
        self.parsers: dict[str, Callable[[str, Limits], Any]] = dict(PARSERS)
        self.usage: dict[str, str] = dict(USAGE)
        self._handlers: dict[type, Callable[[Actor, Place, Any], Awaitable[Reply]]] = {}
        # link / links / unlink: part of every service, through the same registry as the extensions.
        self.linking = linking.install(self)
        self.bus = EventBus()
        self._queue = FairQueue()
        # Where each queued job came from, to tell its requester when it moves up.
        self._origins: dict[str, tuple[Place, str]] = {}
        self._running: dict[str, _Running] = {}
        self._cancel_requests: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._average_seconds = settings.initial_estimate_seconds

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from the last run, then start the scheduler."""
        await asyncio.to_thread(self.media.remove_temporaries)
        requeued = await self.db.write(jobstore.requeue_interrupted)
        if requeued:
            log.info("requeued %d interrupted job(s): %s", len(requeued), ", ".join(requeued))
        await self._reload_queue()
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run_loop(), name="sorabox-scheduler")
        self._wake.set()
        # Deliveries left pending by the last run: tell whoever is listening.
        for platform in await self.db.read(
            lambda db: [
                r["platform"] for r in db.query("SELECT DISTINCT platform FROM deliveries WHERE state = 'pending'")
            ]
        ):
            self.bus.publish(DeliveriesPending(platform))

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop taking jobs; running jobs are interrupted between steps and go back to the queue."""
        self._stopping = True
        self._wake.set()
        tasks = [r.task for r in self._running.values() if r.task is not None]
        for running in self._running.values():
            running.token.cancel(SHUTDOWN)
        if tasks:
            await asyncio.wait(tasks, timeout=grace_seconds)
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None

    async def __aenter__(self) -> Sorabox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def now(self) -> datetime:
        return self.clock()

    # -- commands ---------------------------------------------------------------------------------

    async def handle_text(self, actor: Actor, place: Place, text: str) -> Reply:
        """Parse one line of the command grammar and run it. Never raises for bad input."""
        try:
            command = parse(text, self.settings.limits, self.parsers)
        except BadCommand as exc:
            return Reply(str(exc), ok=False)
        return await self.execute(actor, place, command)

    async def execute(self, actor: Actor, place: Place, command: Command | Any) -> Reply:
        """Run a parsed command. Refusals come back as `Reply(ok=False)` with a short message."""
        try:
            return await self._dispatch(actor, place, command)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)

    def register_command(
        self,
        name: str,
        parser: Callable[[str, Limits], Any],
        command_type: type,
        handler: Callable[[Actor, Place, Any], Awaitable[Reply]],
        usage: str = "",
    ) -> None:
        """Add a command to this service's grammar (an extension's commands)."""
        self.parsers[name] = parser
        self._handlers[command_type] = handler
        if usage:
            self.usage[name] = usage

    async def _dispatch(self, actor: Actor, place: Place, command: Any) -> Reply:
        handler = self._handlers.get(type(command))
        if handler is not None:
            return await handler(actor, place, command)
        if isinstance(command, Generate):
            return await self._generate(actor, place, command)
        if isinstance(command, Remix):
            return await self._remix(actor, place, command)
        if isinstance(command, Extend):
            return await self._extend(actor, place, command)
        if isinstance(command, Stitch):
            return await self._stitch(actor, place, command)
        if isinstance(command, Reroll):
            return await self._reroll(actor, place, command.clip_id)
        if isinstance(command, Cancel):
            return await self.cancel(actor, place, command.job_id)
        if isinstance(command, Delete):
            return await self.delete_clip(actor, place, command.clip_id)
        if isinstance(command, Tree):
            tree = await self.lineage(command.clip_id)
            return Reply(render_tree(tree, command.clip_id), tree=tree, clip_id=command.clip_id)
        if isinstance(command, Quota):
            return await self._quota(actor, place)
        if isinstance(command, Jobs):
            jobs = await self.jobs_of(actor)
            return Reply(render_jobs(jobs), jobs=tuple(jobs))
        if isinstance(command, Help):
            return Reply(help_text(command.topic, self.usage))
        raise BadCommand("unknown command")

    # -- admission --------------------------------------------------------------------------------

    def _moderate(self, texts: list[str], place: Place) -> tuple[str, str] | None:
        community = f"{place.platform}:{place.guild_id or place.channel_id}"
        for text in texts:
            refusal = self.moderation.check(text, community)
            if refusal is not None:
                return refusal.category, refusal.term
        return None

    async def _admit(
        self,
        actor: Actor,
        place: Place,
        kind: str,
        prompt: str,
        plan: Callable[[sqlite_utils.Database], tuple[dict[str, Any], int]],
        moderate: list[str],
    ) -> Reply:
        refusal = self._moderate(moderate, place)
        if refusal is not None:
            category, term = refusal
            await self.db.write(
                lambda db: jobstore.audit(
                    db,
                    "refusal",
                    self.now(),
                    user_id=jobstore.user_for(db, actor, self.now()),
                    category=category,
                    term=term,
                    platform=place.platform,
                    prompt=prompt[:200],
                )
            )
            raise Refused(category)
        settings = self.settings

        def admit(db: sqlite_utils.Database) -> tuple[str, str, int]:
            now = self.now()
            user_id = jobstore.user_for(db, actor, now)
            params, cost = plan(db)
            for extension in self.extensions:
                params.update(
                    extension.check_admission(
                        db, user_id=user_id, actor=actor, place=place, kind=kind, prompt=prompt, params=params
                    )
                )
            if jobstore.count_active(db, user_id) >= settings.max_jobs_per_user:
                raise TooManyJobs(settings.max_jobs_per_user)
            if jobstore.count_queued(db) >= settings.max_queue:
                raise QueueFull(settings.max_queue)
            status = quotas.status(db, settings.quota, user_id, actor, place, now)
            if cost > status.remaining:
                raise QuotaExceeded(max(0, status.remaining), cost, status.resets_at)
            job_id = jobstore.insert_job(
                db,
                user_id=user_id,
                kind=kind,
                prompt=prompt,
                params=params,
                actor=actor,
                place=place,
                cost=cost,
                period=settings.quota.period(now),
                now=now,
            )
            return job_id, user_id, status.remaining - cost

        try:
            job_id, user_id, left = await self.db.write(admit)
        except SoraboxError as exc:
            # The refusal rolled admission back, so it is counted in a write of its own.
            if (reason := counters.admission_refusal(exc)) is not None:
                await self.db.write(partial(counters.bump, name=counters.REFUSALS, label=reason))
            raise
        self._queue.push(job_id, user_id)
        self._origins[job_id] = (place, actor.user_id)
        position = self._queue.position(job_id)
        estimate = self._estimate(position)
        self.bus.publish(JobQueued(job_id, place, actor.user_id, position, estimate))
        self._wake.set()
        return Reply(
            f"queued `{job_id}` — position {position}, about {duration(estimate)}. {left} credits left today.",
            job_id=job_id,
            position=position,
            estimate_seconds=estimate,
            data={"credits_left": left},
        )

    def _seed(self, seed: int | None) -> int:
        return seed if seed is not None else secrets.randbelow(2**31)

    async def _generate(self, actor: Actor, place: Place, command: Generate) -> Reply:
        params = {
            "seconds": command.seconds,
            "width": command.width,
            "height": command.height,
            "seed": self._seed(command.seed),
            "cameos": list(command.cameos),
        }
        cost = self.settings.quota.cost(command.seconds, command.width, command.height)
        return await self._admit(actor, place, "generate", command.prompt, lambda db: (params, cost), [command.prompt])

    def _source(self, db: sqlite_utils.Database, clip_id: str) -> ClipRecord:
        clip = jobstore.get_clip(db, clip_id)
        if clip is None:
            raise UnknownClip(clip_id)
        return clip

    async def _remix(self, actor: Actor, place: Place, command: Remix) -> Reply:
        policy = self.settings.quota
        seed = command.seed

        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            source = self._source(db, command.clip_id)
            params = {
                "sources": [source.id],
                "seconds": source.seconds,
                "width": source.width,
                "height": source.height,
                # The source's seed by default: a remix changes what was asked, not the dice.
                "seed": seed if seed is not None else (source.seed or 0),
            }
            return params, policy.cost(source.seconds, source.width, source.height)

        return await self._admit(actor, place, "remix", command.prompt, plan, [command.prompt])

    async def _extend(self, actor: Actor, place: Place, command: Extend) -> Reply:
        policy = self.settings.quota
        prompts: list[str] = [command.prompt] if command.prompt else []

        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            source = self._source(db, command.clip_id)
            params = {
                "sources": [source.id],
                "seconds": command.seconds,
                "width": source.width,
                "height": source.height,
                "seed": source.seed or 0,
            }
            return params, policy.cost(command.seconds, source.width, source.height)

        return await self._admit(actor, place, "extend", command.prompt, plan, prompts)

    async def _stitch(self, actor: Actor, place: Place, command: Stitch) -> Reply:
        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            sources = [self._source(db, clip_id) for clip_id in command.clip_ids]
            params = {
                "sources": [s.id for s in sources],
                "seconds": sum(s.seconds for s in sources),
                "width": sources[0].width,
                "height": sources[0].height,
                "seed": 0,
            }
            # Joining clips costs one credit: nothing is generated.
            return params, 1

        sources = await self.db.read(lambda db: [self._source(db, c) for c in command.clip_ids])
        prompt = " + ".join(s.prompt for s in sources)[: self.settings.limits.max_prompt_chars]
        return await self._admit(actor, place, "stitch", prompt, plan, [s.prompt for s in sources])

    async def _reroll(self, actor: Actor, place: Place, clip_id: str) -> Reply:
        clip = await self.clip(clip_id)
        job = await self.db.read(lambda db: jobstore.get_job(db, clip.job_id) if clip.job_id else None)
        if job is None:
            return await self._generate(
                actor, place, Generate(clip.prompt, clip.seconds, clip.width, clip.height, None)
            )
        params = dict(job.params)
        params["seed"] = secrets.randbelow(2**31)
        cost = job.cost
        return await self._admit(actor, place, job.kind, job.prompt, lambda db: (params, cost), [job.prompt])

    # -- scheduling and running -------------------------------------------------------------------

    def _estimate(self, position: int) -> float:
        """Seconds until a job at `position` is done, from the measured average generation time."""
        capacity = max(1, self.executor.capacity)
        ahead = (position - 1) // capacity
        running_left = 0.0
        if self._running and len(self._running) >= capacity:
            now = time.monotonic()
            running_left = min(max(0.0, self._average_seconds - (now - r.started)) for r in self._running.values())
        return running_left + ahead * self._average_seconds + self._average_seconds

    async def _run_loop(self) -> None:
        while not self._stopping:
            # A cluster's capacity changes on its own (replicas come and go, 0 while it is out of reach).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CAPACITY_RECHECK_SECONDS)
            self._wake.clear()
            while not self._stopping and self._generating() < self.executor.capacity:
                job_id = self._queue.pop()
                if job_id is None:
                    break
                self._origins.pop(job_id, None)
                try:
                    job = await self.db.write(partial(jobstore.start, job_id=job_id, now=self.now()))
                except Exception:
                    # The database refused (disk full, I/O error): the job is still queued there. Wait,
                    # rebuild the queue from the database, and try again rather than stop scheduling.
                    log.exception("could not start job %s; it stays queued", job_id)
                    await asyncio.sleep(SCHEDULER_RETRY_SECONDS)
                    await self._reload_queue()
                    break
                if job is None:
                    continue
                running = _Running(job, CancelToken(), time.monotonic())
                if job.id in self._cancel_requests:
                    running.token.cancel(self._cancel_requests.pop(job.id))
                self._running[job.id] = running
                running.task = asyncio.create_task(self._execute(running), name=f"sorabox-job-{job.id}")
                self.bus.publish(JobStarted(job.id, job.origin, job.requester.user_id, self._average_seconds))
                self._publish_positions()

    async def _reload_queue(self) -> None:
        """Put every job the database holds as queued into the fair queue (pushing is idempotent)."""
        for job in await self.db.read(jobstore.queued_jobs):
            self._queue.push(job.id, job.user_id)
            self._origins[job.id] = (job.origin, job.requester.user_id)

    def _generating(self) -> int:
        return sum(1 for r in self._running.values() if r.generating)

    def _publish_positions(self, limit: int = 20) -> None:
        """Tell the people still waiting that they moved up."""
        for index, job_id in enumerate(self._queue.order()[:limit]):
            origin = self._origins.get(job_id)
            if origin is not None:
                place, requester = origin
                self.bus.publish(JobQueued(job_id, place, requester, index + 1, self._estimate(index + 1)))

    async def _execute(self, running: _Running) -> None:
        job = running.job
        try:
            request = await self._build_request(job)
            for extension in self.extensions:
                request = await extension.prepare(job, request)
            clip = await self.executor.run(request, self._progress_reporter(running), running.token)
            running.generating = False
            self._wake.set()  # the next job starts on the freed worker while this one encodes
            running.token.raise_if_cancelled()
            if not await self.db.write(lambda db: jobstore.transition(db, job.id, ("running",), "encoding")):
                return
            total = max(running.total, 1)
            self.bus.publish(JobProgress(job.id, job.origin, job.requester.user_id, total, total, "encoding", 0.0))
            model = clip.metadata.get("model")
            metadata = provenance(job, self.executor.backend, self.now(), str(model) if model else None)
            data = await asyncio.to_thread(self._encode, clip, job, EncodeOptions(metadata=tuple(metadata.items())))
            sha = await asyncio.to_thread(self.media.put, data)
            try:
                clip_id = await self.db.write(
                    lambda db: self._finish(db, job, clip_meta(clip), clip.state, sha, len(data))
                )
            except BaseException:
                # Not recorded (a consent withdrawn during encoding, a database error): keep no file of it.
                await self._discard_media(sha)
                raise
            elapsed = time.monotonic() - running.started
            self._average_seconds = 0.7 * self._average_seconds + 0.3 * elapsed
            if clip_id is not None:
                self.bus.publish(JobDone(job.id, job.origin, job.requester.user_id, clip_id))
                self.bus.publish(DeliveriesPending(job.origin.platform))
        except ExecutorUnavailable as exc:
            # Nothing was made and nothing is lost: back to the head of its user's line, credits kept.
            log.warning("job %s goes back to the queue: %s", job.id, exc)
            if await self.db.write(lambda db: jobstore.requeue(db, job.id)):
                self._queue.push(job.id, job.user_id, front=True)
                self._origins[job.id] = (job.origin, job.requester.user_id)
                position = self._queue.position(job.id)
                self.bus.publish(
                    JobQueued(job.id, job.origin, job.requester.user_id, position, self._estimate(position))
                )
        except GenerationCancelled:
            reason = running.token.reason
            if reason == SHUTDOWN:
                await self.db.write(lambda db: jobstore.requeue(db, job.id))
            else:
                await self._end(job, "cancelled", reason)
        except SoraboxError as exc:
            # An extension refused right before generation (a cameo's consent was withdrawn).
            await self._end(job, "cancelled", f"{exc}; your credits were refunded")
        except (GenerationError, MediaError) as exc:
            await self._end(job, "failed", f"{exc}; your credits were refunded")
        except Exception:
            log.exception("job %s failed", job.id)
            await self._end(job, "failed", "something went wrong while making this clip; your credits were refunded")
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _discard_media(self, sha: str) -> None:
        """Delete a stored file that no clip refers to."""
        row = await self.db.read(lambda db: one(db, "SELECT 1 AS used FROM clips WHERE media_sha256 = ?", [sha]))
        if row is None:
            await asyncio.to_thread(self.media.delete, sha)

    def _encode(self, clip: Clip, job: JobRecord, options: EncodeOptions) -> bytes:
        for extension in self.extensions:
            clip = extension.finish_clip(clip, job)
        data = encode_mp4(clip, options)
        for extension in self.extensions:
            data = extension.sign(data, job)
        return data

    async def _end(self, job: JobRecord, state: str, reason: str) -> None:
        if await self.db.write(lambda db: jobstore.end_unsuccessfully(db, job.id, state, reason, self.now())):
            event = JobCancelled if state == "cancelled" else JobFailed
            self.bus.publish(event(job.id, job.origin, job.requester.user_id, reason))

    def _progress_reporter(self, running: _Running) -> Callable[..., None]:
        loop = asyncio.get_running_loop()
        job = running.job

        def on_progress(step: int, total: int, stage: str = "generating") -> None:
            running.step, running.total = step, total
            elapsed = time.monotonic() - running.started
            eta = elapsed / step * (total - step) if step > 0 else self._average_seconds
            self.bus.publish(JobProgress(job.id, job.origin, job.requester.user_id, step, total, stage, eta))

        def report(step: int, total: int, stage: str = "generating") -> None:
            # Called from the generator's thread: hand over to the event loop.
            loop.call_soon_threadsafe(on_progress, step, total, stage)

        return report

    async def _build_request(self, job: JobRecord) -> GenerationRequest:
        sources = []
        for clip_id in job.params.get("sources", []):
            record = await self.db.read(partial(jobstore.get_clip, clip_id=clip_id))
            if record is None:
                raise GenerationError(f"the source clip `{clip_id}` was deleted")
            decoded = await asyncio.to_thread(decode_clip, self.media.path(record.media_sha256))
            sources.append(SourceClip(record.id, record.prompt, record.backend, record.state, decoded))
        return GenerationRequest(
            kind=job.kind,  # type: ignore[arg-type]
            prompt=job.prompt,
            width=int(job.params.get("width", 640)),
            height=int(job.params.get("height", 360)),
            seconds=float(job.params.get("seconds", 5.0)),
            seed=int(job.params.get("seed", 0)),
            sources=tuple(sources),
        )

    def _finish(
        self,
        db: sqlite_utils.Database,
        job: JobRecord,
        meta: dict[str, Any],
        state: dict[str, Any],
        sha: str,
        size: int,
    ) -> str | None:
        for extension in self.extensions:
            extension.check_finish(db, job)
        now = self.now()
        clip_id = new_id()
        sources = job.params.get("sources", [])
        meta = {**meta, "seed": job.params.get("seed")}
        clip_row = {
            "id": clip_id,
            "job_id": job.id,
            "user_id": job.user_id,
            "parent_clip_id": sources[0] if sources else None,
            "kind": job.kind,
            "prompt": job.prompt,
            "backend": self.executor.backend,
            "media_sha256": sha,
            "size_bytes": size,
            "width": meta["width"],
            "height": meta["height"],
            "fps": meta["fps"],
            "seconds": meta["seconds"],
            "state": json.dumps(state, default=str),
            "metadata": json.dumps(meta, default=str),
            "created_at": iso(now),
        }
        status = quotas.status(db, self.settings.quota, job.user_id, job.requester, job.origin, now)
        payload = {
            "text": caption(job, status.remaining, clip_notes(meta)),
            "prompt": job.prompt,
            "author": job.requester.display_name,
            "requester_id": job.requester.user_id,
            "credits_left": status.remaining,
            "clip_kind": job.kind,
            "parent_clip_id": clip_row["parent_clip_id"],
            "width": meta["width"],
            "height": meta["height"],
            "seconds": meta["seconds"],
            "media_sha256": sha,
        }
        delivery = {
            "job_id": job.id,
            "clip_id": clip_id,
            "kind": "clip",
            "platform": job.origin.platform,
            "destination": job.origin.to_json(),
            "payload": json.dumps(payload),
            "state": "pending",
            "created_at": iso(now),
        }
        extra = [row for extension in self.extensions for row in extension.extra_deliveries(db, job, clip_id)]
        return jobstore.finish(db, job, clip_row=clip_row, deliveries=[delivery, *extra], now=now)

    # -- cancel, delete, lookups ------------------------------------------------------------------

    async def cancel(self, actor: Actor, place: Place, job_id: str) -> Reply:
        """Cancel a job: the requester's own, or any job in a place where the actor is an admin."""

        def check(db: sqlite_utils.Database) -> JobRecord:
            job = jobstore.get_job(db, job_id)
            if job is None:
                raise UnknownJob(job_id)
            user_id = jobstore.existing_user(db, actor)
            admin_here = actor.is_admin and _same_community(job.origin, place)
            if not (user_id == job.user_id or admin_here or (user_id and jobstore.is_service_admin(db, user_id))):
                raise NotAllowed("you can cancel only your own jobs")
            return job

        job = await self.db.read(check)
        reason = f"cancelled by {actor.display_name}"
        if job.state == "queued":
            self._queue.remove(job.id)
            self._origins.pop(job.id, None)
            if await self.db.write(lambda db: jobstore.end_unsuccessfully(db, job.id, "cancelled", reason, self.now())):
                self.bus.publish(JobCancelled(job.id, job.origin, job.requester.user_id, reason))
                return Reply(f"cancelled `{job.id}`; its {job.cost} credits were refunded", job_id=job.id)
            job = await self.db.read(partial(jobstore.get_job, job_id=job_id)) or job  # type: ignore[arg-type]
        if job.state in ("running", "encoding"):
            running = self._running.get(job.id)
            if running is not None:
                running.token.cancel(reason)
            else:
                self._cancel_requests[job.id] = reason
            return Reply(
                f"cancelling `{job.id}`; it stops at its next step and the credits are refunded", job_id=job.id
            )
        return Reply(f"job `{job.id}` is already {job.state}", ok=False, job_id=job.id)

    async def delete_clip(self, actor: Actor, place: Place, clip_id: str) -> Reply:
        """Delete a clip: its file, and (through ClipDeleted) every message the service posted of it."""

        def delete(db: sqlite_utils.Database) -> tuple[ClipRecord, list[PostRef], bool]:
            clip = self._source(db, clip_id)
            user_id = jobstore.existing_user(db, actor)
            origin = _clip_origin(db, clip)
            admin_here = actor.is_admin and origin is not None and _same_community(origin, place)
            if not (user_id == clip.user_id or admin_here or (user_id and jobstore.is_service_admin(db, user_id))):
                raise NotAllowed("only the person who made this clip, or an admin here, can delete it")
            now = self.now()
            db.execute("UPDATE clips SET deleted_at = ? WHERE id = ?", [iso(now), clip.id])
            db.execute("UPDATE deliveries SET state = 'withdrawn' WHERE clip_id = ? AND state = 'pending'", [clip.id])
            shared = one(
                db,
                "SELECT COUNT(*) AS n FROM clips WHERE media_sha256 = ? AND deleted_at IS NULL",
                [clip.media_sha256],
            )
            jobstore.audit(db, "clip_deleted", now, user_id=user_id, clip_id=clip.id, by=actor.display_name)
            return clip, posts_of(db, clip.id), bool(shared and shared["n"])

        clip, posts, still_used = await self.db.write(delete)
        if not still_used:
            await asyncio.to_thread(self.media.delete, clip.media_sha256)
        self.bus.publish(ClipDeleted(clip.id, tuple(posts)))
        return Reply(f"deleted clip `{clip.id}`", clip_id=clip.id)

    async def clip(self, clip_id: str) -> ClipRecord:
        """A clip by id; raises UnknownClip when there is none (or it was deleted)."""
        record = await self.db.read(lambda db: jobstore.get_clip(db, clip_id))
        if record is None:
            raise UnknownClip(clip_id)
        return record

    def media_path(self, clip: ClipRecord) -> Path:
        return self.media.path(clip.media_sha256)

    async def job(self, job_id: str) -> JobRecord:
        record = await self.db.read(lambda db: jobstore.get_job(db, job_id))
        if record is None:
            raise UnknownJob(job_id)
        return record

    async def clip_for_post(self, platform: str, channel_id: str, message_id: str) -> str | None:
        """The clip a posted message shows (to remix by replying to it), or None."""
        row = await self.db.read(
            lambda db: one(
                db,
                """SELECT d.clip_id FROM deliveries d JOIN clips c ON c.id = d.clip_id
                   WHERE d.platform = ? AND d.message_id = ? AND d.state = 'sent' AND c.deleted_at IS NULL
                   AND (json_extract(d.destination, '$.channel_id') = ? OR d.thread_id = ?)""",
                [platform, message_id, channel_id, channel_id],
            )
        )
        return None if row is None else str(row["clip_id"])

    async def posts_of_clip(self, clip_id: str) -> list[PostRef]:
        return await self.db.read(lambda db: posts_of(db, clip_id))

    async def lineage(self, clip_id: str) -> LineageNode:
        """The whole remix tree the clip belongs to, from its root."""
        return await self.db.read(lambda db: build_lineage(db, clip_id))

    async def remember_handle(self, platform: str, handle: str, user_id: str) -> None:
        """Record that the account `user_id` (Actor.user_id) goes by `handle` on `platform` (a Telegram
        @username), so a mention that carries only the name can be resolved, also after a restart."""
        now = self.now()
        await self.db.write(lambda db: handles.remember(db, platform, handle, user_id, now))

    async def user_for_handle(self, platform: str, handle: str) -> str | None:
        """The account (Actor.user_id) last seen with `handle` on `platform`, or None."""
        record = await self.db.read(lambda db: handles.lookup(db, platform, handle))
        return None if record is None else record.platform_user_id

    async def jobs_of(self, actor: Actor, recent: int = 5) -> list[JobSummary]:
        """A person's waiting and running jobs, then their most recent finished ones."""
        order = self._queue.order()

        def load(db: sqlite_utils.Database) -> list[JobSummary]:
            user_id = jobstore.existing_user(db, actor)
            if user_id is None:
                return []
            active = db.query(
                "SELECT * FROM jobs WHERE user_id = ? AND state IN ('queued','running','encoding') ORDER BY created_at",
                [user_id],
            )
            done = db.query(
                """SELECT * FROM jobs WHERE user_id = ? AND state IN ('done','failed','cancelled')
                   ORDER BY finished_at DESC LIMIT ?""",
                [user_id, recent],
            )
            return [summary(JobRecord.from_row(r), order) for r in [*active, *done]]

        return await self.db.read(load)

    async def queue_snapshot(self) -> list[JobSummary]:
        """Every active job, running first then in the order they will run (for admins)."""
        order = self._queue.order()

        def load(db: sqlite_utils.Database) -> list[JobSummary]:
            rows = [
                JobRecord.from_row(r)
                for r in db.query("SELECT * FROM jobs WHERE state IN ('queued','running','encoding')")
            ]
            rank = {job_id: i for i, job_id in enumerate(order)}
            rows.sort(key=lambda j: (j.state == "queued", rank.get(j.id, len(rank))))
            return [summary(j, order) for j in rows]

        return await self.db.read(load)

    async def quota_status(self, actor: Actor, place: Place) -> quotas.QuotaStatus:
        def load(db: sqlite_utils.Database) -> quotas.QuotaStatus:
            user_id = jobstore.existing_user(db, actor) or ""
            return quotas.status(db, self.settings.quota, user_id, actor, place, self.now())

        return await self.db.read(load)

    async def _quota(self, actor: Actor, place: Place) -> Reply:
        status = await self.quota_status(actor, place)
        left = status.resets_at - self.now()
        text = (
            f"{max(0, status.remaining)} of {status.allowance + status.granted} credits left today; "
            f"they reset at {status.resets_at:%H:%M} UTC (in {duration(left.total_seconds())}). "
            f"A 5 s clip at 640x360 costs {self.settings.quota.cost(5, 640, 360)}."
        )
        return Reply(text, data={"remaining": status.remaining, "allowance": status.allowance})

    # -- admin ------------------------------------------------------------------------------------

    async def set_quota_override(
        self, actor: Actor, platform: str, guild_id: str | None, role: str | None, daily_credits: int | None
    ) -> Reply:
        """Set (or with None, remove) a daily allowance for a platform, a guild/chat and optionally a role."""
        if daily_credits is not None and not 0 <= daily_credits <= 1_000_000:
            return Reply("the daily allowance must be between 0 and 1000000 credits", ok=False)

        def apply(db: sqlite_utils.Database) -> None:
            user_id = jobstore.user_for(db, actor, self.now())
            guild_admin = actor.is_admin and actor.platform == platform and guild_id is not None
            if not (guild_admin or jobstore.is_service_admin(db, user_id)):
                raise NotAllowed("only an admin can change quotas")
            key = [platform, guild_id or "", role or ""]
            db.execute("DELETE FROM quota_overrides WHERE platform = ? AND guild_id = ? AND role = ?", key)
            if daily_credits is not None:
                db.execute(
                    "INSERT INTO quota_overrides (platform, guild_id, role, daily_credits, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [*key, daily_credits, iso(self.now())],
                )
            jobstore.audit(db, "quota_override", self.now(), user_id=user_id, key=key, daily_credits=daily_credits)

        try:
            await self.db.write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        where = f"{platform}" + (f" guild {guild_id}" if guild_id else "") + (f" role {role}" if role else "")
        if daily_credits is None:
            return Reply(f"removed the daily allowance override for {where}")
        return Reply(f"daily allowance for {where} is now {daily_credits} credits")

    async def grant_credits(self, to: Actor, credits: int, *, by: Actor | None = None, note: str = "") -> Reply:
        """Give a person extra credits for today. `by` must be a service admin; None is the operator at the
        machine (`sorabox quota USER --grant N`)."""
        if not 1 <= credits <= MAX_GRANT:
            return Reply(f"a grant is 1 to {MAX_GRANT} credits, got {credits}", ok=False)

        def apply(db: sqlite_utils.Database) -> None:
            now = self.now()
            admin_id = jobstore.user_for(db, by, now) if by is not None else None
            if admin_id is not None and not jobstore.is_service_admin(db, admin_id):
                raise NotAllowed("only a service admin can grant credits")
            user_id = jobstore.user_for(db, to, now)
            quotas.record(
                db,
                user_id=user_id,
                kind="grant",
                credits=credits,
                period=self.settings.quota.period(now),
                now=now,
                note=note,
            )
            jobstore.audit(db, "grant", now, user_id=user_id, credits=credits, by=admin_id or "operator", note=note)

        try:
            await self.db.write(apply)
        except SoraboxError as exc:
            return Reply(str(exc), ok=False)
        return Reply(f"granted {credits} credits to {to.display_name} for today")

    async def make_admin(self, actor: Actor) -> str:
        """Mark a person as a service admin (the CLI and the console's first start use this)."""

        def apply(db: sqlite_utils.Database) -> str:
            user_id = jobstore.user_for(db, actor, self.now())
            db.execute("UPDATE users SET is_admin = 1 WHERE id = ?", [user_id])
            jobstore.audit(db, "admin_granted", self.now(), user_id=user_id)
            return user_id

        return await self.db.write(apply)

    # -- the outbox -------------------------------------------------------------------------------

    async def claim_deliveries(self, platform: str, limit: int = 10) -> list[Delivery]:
        """Due deliveries for a platform, each held for this caller for a while (see DELIVERY_LEASE_SECONDS)."""
        return await self.db.write(
            lambda db: jobstore.pending_deliveries(db, platform, self.now(), DELIVERY_LEASE_SECONDS, limit)
        )

    async def delivery_posting(self, delivery_id: int) -> None:
        """Mark a claimed delivery as being posted now. If nothing is recorded about it afterwards (the process
        died mid-post), the next claim says the post may have landed (`Delivery.may_have_posted`)."""
        await self.db.write(lambda db: db.execute("UPDATE deliveries SET posting = 1 WHERE id = ?", [delivery_id]))

    async def delivery_sent(
        self, delivery_id: int, message_id: str, thread_id: str | None = None, *, posted_to: Place | None = None
    ) -> None:
        """Record that a delivery was posted as `message_id` (in `thread_id`, if the adapter opened one).

        `posted_to`: where the post really landed when the platform sent it elsewhere than its destination (a
        Telegram group that became a supergroup, a deleted topic). It replaces the destination, so Delete, replies
        to the post and /tree links find the message where it is."""
        destination = None if posted_to is None else posted_to.to_json()
        await self.db.write(
            lambda db: db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, thread_id = ?, sent_at = ?, error = NULL,"
                " posting = 0, destination = COALESCE(?, destination) WHERE id = ?",
                [message_id, thread_id, iso(self.now()), destination, delivery_id],
            )
        )

    async def delivery_failed(
        self, delivery_id: int, error: str, retry_in: float | None, *, may_have_posted: bool = False
    ) -> None:
        """A post failed: try again after `retry_in` seconds, or give up when it is None.

        `may_have_posted`: the failure came after the request was sent (a timeout waiting for the answer, a
        connection cut mid-way, a 5xx), so the platform may show the post anyway; the next claim says so.
        """
        doubt = ", in_doubt = 1" if may_have_posted else ""
        if retry_in is None:
            sql = f"UPDATE deliveries SET state = 'failed', error = ?, posting = 0{doubt} WHERE id = ?"
            params: list[object] = [error, delivery_id]
        else:
            at = iso(self.now() + timedelta(seconds=retry_in))
            sql = f"UPDATE deliveries SET next_attempt_at = ?, error = ?, posting = 0{doubt} WHERE id = ?"
            params = [at, error, delivery_id]
        await self.db.write(lambda db: db.execute(sql, params))

    async def pending_delivery_counts(self) -> dict[str, int]:
        rows = await self.db.read(
            lambda db: list(
                db.query("SELECT platform, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY platform")
            )
        )
        return {r["platform"]: r["n"] for r in rows}

    def clip_payload_path(self, delivery: Delivery) -> Path | None:
        sha = delivery.payload.get("media_sha256")
        return self.media.path(sha) if sha else None


def _same_community(a: Place, b: Place) -> bool:
    if a.platform != b.platform:
        return False
    if a.guild_id or b.guild_id:
        return a.guild_id == b.guild_id
    return a.channel_id == b.channel_id


def _clip_origin(db: sqlite_utils.Database, clip: ClipRecord) -> Place | None:
    if clip.job_id is None:
        return None
    row = one(db, "SELECT origin FROM jobs WHERE id = ?", [clip.job_id])
    return None if row is None else Place.from_json(row["origin"])
