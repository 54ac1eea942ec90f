"""Runs admitted jobs fairly, off the event loop: the fair queue, the scheduling loop, one job's execution from
generation through encoding to the finished clip and its outbox rows, and cancelling.

The database holds the truth (core/jobs/store.py); the queue here is rebuilt from it at start-up and after a failed
write, so a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sqlite_utils

from core.errors import NotAllowed, SoraboxError, UnknownJob
from core.events import DeliveriesPending, JobCancelled, JobDone, JobFailed, JobProgress, JobQueued, JobStarted
from core.execution.local import ExecutorUnavailable
from core.identity import Actor, Place, same_community
from core.jobs import output_check
from core.jobs import store as jobstore
from core.jobs.finish import record_clip
from core.jobs.scheduler import FairQueue
from core.kernel import Kernel
from core.provenance.metadata import clip_meta, provenance
from core.records import JobRecord, Reply
from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest, SourceClip
from model.media import EncodeOptions, MediaError, decode_clip, encode_mp4
from storage import clips

log = logging.getLogger(__name__)

SHUTDOWN = "the service is restarting"
# How often the scheduler looks at the executor's capacity when nothing else wakes it.
CAPACITY_RECHECK_SECONDS = 1.0
# How long the scheduler waits after the database refused to start a job.
SCHEDULER_RETRY_SECONDS = 1.0
# The highest frame rate a stored clip may have when it is a job's source; with the longest clip allowed, this bounds
# how many frames (and so how much memory) decoding one source can take.
MAX_SOURCE_FPS = 60


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


class Runner:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._queue = FairQueue()
        # Where each queued job came from, to tell its requester when it moves up.
        self._origins: dict[str, tuple[Place, str]] = {}
        self._running: dict[str, _Running] = {}
        self._cancel_requests: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._average_seconds = kernel.settings.initial_estimate_seconds

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Requeue what the last run left running, rebuild the queue, then start scheduling."""
        requeued = await self.k.db.write(jobstore.requeue_interrupted)
        if requeued:
            log.info("requeued %d interrupted job(s): %s", len(requeued), ", ".join(requeued))
        await self._reload_queue()
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run_loop(), name="sorabox-scheduler")
        self._wake.set()

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

    # -- the queue --------------------------------------------------------------------------------

    def enqueue(self, job_id: str, user_id: str, place: Place, requester_id: str) -> tuple[int, float]:
        """A newly admitted job joins its user's line; returns its position and estimate (and says so on the bus)."""
        self._queue.push(job_id, user_id)
        self._origins[job_id] = (place, requester_id)
        position = self._queue.position(job_id)
        estimate = self.estimate(position)
        self.k.bus.publish(JobQueued(job_id, place, requester_id, position, estimate))
        self._wake.set()
        return position, estimate

    def order(self) -> list[str]:
        """Queued job ids in the order they will run."""
        return self._queue.order()

    def estimate(self, position: int) -> float:
        """Seconds until a job at `position` is done, from the measured average generation time."""
        capacity = max(1, self.k.executor.capacity)
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
            while not self._stopping and self._generating() < self.k.executor.capacity:
                job_id = self._queue.pop()
                if job_id is None:
                    break
                self._origins.pop(job_id, None)
                try:
                    job = await self.k.db.write(partial(jobstore.start, job_id=job_id, now=self.k.now()))
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
                self.k.bus.publish(JobStarted(job.id, job.origin, job.requester.user_id, self._average_seconds))
                self._publish_positions()

    async def _reload_queue(self) -> None:
        """Put every job the database holds as queued into the fair queue (pushing is idempotent)."""
        for job in await self.k.db.read(jobstore.queued_jobs):
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
                self.k.bus.publish(JobQueued(job_id, place, requester, index + 1, self.estimate(index + 1)))

    # -- one job ----------------------------------------------------------------------------------

    async def _execute(self, running: _Running) -> None:
        k = self.k
        job = running.job
        try:
            request = await self._build_request(job)
            for extension in k.extensions:
                request = await extension.prepare(job, request)
            clip = await k.executor.run(request, self._progress_reporter(running), running.token)
            running.generating = False
            self._wake.set()  # the next job starts on the freed worker while this one encodes
            running.token.raise_if_cancelled()
            await output_check.screen(k, job, clip)  # a refused clip raises OutputRefused: never stored, refunded
            if not await k.db.write(lambda db: jobstore.transition(db, job.id, ("running",), "encoding")):
                return
            total = max(running.total, 1)
            k.bus.publish(JobProgress(job.id, job.origin, job.requester.user_id, total, total, "encoding", 0.0))
            model = clip.metadata.get("model")
            metadata = provenance(job, k.executor.backend, k.now(), str(model) if model else None)
            data = await asyncio.to_thread(self._encode, clip, job, EncodeOptions(metadata=tuple(metadata.items())))
            sha = await asyncio.to_thread(k.media.put, data)
            try:
                clip_id = await k.db.write(lambda db: self._finish(db, job, clip, sha, len(data), running.token))
            except BaseException:
                # Not recorded (a consent withdrawn during encoding, a database error): keep no file of it.
                await self._discard_media(sha)
                raise
            elapsed = time.monotonic() - running.started
            self._average_seconds = 0.7 * self._average_seconds + 0.3 * elapsed
            if clip_id is not None:
                k.bus.publish(JobDone(job.id, job.origin, job.requester.user_id, clip_id))
                k.bus.publish(DeliveriesPending(job.origin.platform))
        except ExecutorUnavailable as exc:
            # Nothing was made and nothing is lost: back to the head of its user's line, credits kept.
            log.warning("job %s goes back to the queue: %s", job.id, exc)
            if await k.db.write(lambda db: jobstore.requeue(db, job.id)):
                self._queue.push(job.id, job.user_id, front=True)
                self._origins[job.id] = (job.origin, job.requester.user_id)
                position = self._queue.position(job.id)
                k.bus.publish(JobQueued(job.id, job.origin, job.requester.user_id, position, self.estimate(position)))
        except GenerationCancelled:
            reason = running.token.reason
            if reason == SHUTDOWN:
                await k.db.write(lambda db: jobstore.requeue(db, job.id))
            else:
                await self._end(job, "cancelled", reason)
        except SoraboxError as exc:
            # An extension refused right before generation (a cameo's consent was withdrawn), or the output check
            # refused the clip it made (core/jobs/output_check.py: audited for the admins before it raised).
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
        if not await self.k.db.read(lambda db: clips.media_in_use(db, sha)):
            await asyncio.to_thread(self.k.media.delete, sha)

    def _encode(self, clip: Clip, job: JobRecord, options: EncodeOptions) -> bytes:
        for extension in self.k.extensions:
            clip = extension.finish_clip(clip, job)
        data = encode_mp4(clip, options)
        for extension in self.k.extensions:
            data = extension.sign(data, job)
        return data

    def _finish(
        self, db: sqlite_utils.Database, job: JobRecord, clip: Clip, sha: str, size: int, token: CancelToken
    ) -> str | None:
        # A cancel sets the token inside a write too (`cancel`), and writes run one at a time: either it came first
        # and the clip is not recorded (refunded, as its answer said), or this came first and it answers "too late".
        if token.cancelled and token.reason != SHUTDOWN:
            raise GenerationCancelled(token.reason)
        for extension in self.k.extensions:
            extension.check_finish(db, job)
        return record_clip(
            db,
            job,
            meta=clip_meta(clip),
            state=clip.state,
            sha=sha,
            size=size,
            backend=self.k.executor.backend,
            quota=self.k.settings.quota,
            extensions=self.k.extensions,
            now=self.k.now(),
        )

    async def _end(self, job: JobRecord, state: str, reason: str) -> None:
        if await self.k.db.write(lambda db: jobstore.end_unsuccessfully(db, job.id, state, reason, self.k.now())):
            event = JobCancelled if state == "cancelled" else JobFailed
            self.k.bus.publish(event(job.id, job.origin, job.requester.user_id, reason))

    def _progress_reporter(self, running: _Running) -> Callable[..., None]:
        loop = asyncio.get_running_loop()
        job = running.job

        def on_progress(step: int, total: int, stage: str = "generating") -> None:
            running.step, running.total = step, total
            elapsed = time.monotonic() - running.started
            eta = elapsed / step * (total - step) if step > 0 else self._average_seconds
            self.k.bus.publish(JobProgress(job.id, job.origin, job.requester.user_id, step, total, stage, eta))

        def report(step: int, total: int, stage: str = "generating") -> None:
            # Called from the generator's thread: hand over to the event loop.
            loop.call_soon_threadsafe(on_progress, step, total, stage)

        return report

    async def _build_request(self, job: JobRecord) -> GenerationRequest:
        sources = []
        for clip_id in job.params.get("sources", []):
            record = await self.k.db.read(partial(jobstore.get_clip, clip_id=clip_id))
            if record is None:
                raise GenerationError(f"the source clip `{clip_id}` was deleted")
            # A frame budget: whatever a stored file claims, no source decodes to more than the longest clip allowed.
            budget = math.ceil(self.k.settings.limits.max_seconds * MAX_SOURCE_FPS)
            path = self.k.media.path(record.media_sha256)
            decoded = await asyncio.to_thread(partial(decode_clip, path, max_frames=budget))
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

    # -- cancelling -------------------------------------------------------------------------------

    async def cancel(self, actor: Actor, place: Place, job_id: str) -> Reply:
        """Cancel a job: the requester's own, or any job in a place where the actor is an admin."""

        def check(db: sqlite_utils.Database) -> JobRecord:
            job = jobstore.get_job(db, job_id)
            if job is None:
                raise UnknownJob(job_id)
            user_id = jobstore.existing_user(db, actor)
            admin_here = actor.is_admin and same_community(job.origin, place)
            if not (user_id == job.user_id or admin_here or (user_id and jobstore.is_service_admin(db, user_id))):
                raise NotAllowed("you can cancel only your own jobs")
            return job

        k = self.k
        job = await k.db.read(check)
        reason = f"cancelled by {actor.display_name}"
        if job.state == "queued":
            self._queue.remove(job.id)
            self._origins.pop(job.id, None)
            if await k.db.write(lambda db: jobstore.end_unsuccessfully(db, job.id, "cancelled", reason, k.now())):
                k.bus.publish(JobCancelled(job.id, job.origin, job.requester.user_id, reason))
                return Reply(f"cancelled `{job.id}`; its {job.cost} credits were refunded", job_id=job.id)
            job = await k.db.read(partial(jobstore.get_job, job_id=job_id)) or job  # type: ignore[arg-type]
        if job.state in ("running", "encoding"):
            return await self._cancel_started(job, reason)
        return Reply(f"job `{job.id}` is already {job.state}", ok=False, job_id=job.id)

    async def _cancel_started(self, job: JobRecord, reason: str) -> Reply:
        """Cancel a job past the queue, or say honestly that it is too late.

        The token is set inside a write, and the write that records the clip checks it (`_finish`): writes run one
        at a time, so a cancel answered "refunded" is never followed by a charged, posted clip."""
        running = self._running.get(job.id)
        if running is None:
            self._cancel_requests[job.id] = reason  # started, not yet running here: the scheduler applies it

        def decide(db: sqlite_utils.Database) -> str:
            current = jobstore.get_job(db, job.id)
            state = current.state if current is not None else "deleted"
            if state in ("running", "encoding") and running is not None:
                running.token.cancel(reason)
            return state

        state = await self.k.db.write(decide)
        if state in ("running", "encoding"):
            return Reply(
                f"cancelling `{job.id}`; it stops at its next step and the credits are refunded", job_id=job.id
            )
        self._cancel_requests.pop(job.id, None)
        if state == "done":
            return Reply(
                f"too late: `{job.id}` is finished and being posted; its credits are spent", ok=False, job_id=job.id
            )
        return Reply(f"job `{job.id}` is already {state}", ok=False, job_id=job.id)
