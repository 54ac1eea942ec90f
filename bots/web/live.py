"""The console's live side: server-sent events per thread (new messages, job progress, deleted clips), and the
core's events turned into them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bots.common.events import Hook
from bots.common.status import JobStatuses
from bots.web.delivery import SERVICE_NAME
from core.console.threads import UnknownThread
from core.events import ClipDeleted, JobCancelled, JobDone, JobEvent, JobFailed, JobProgress, JobQueued, JobStarted

if TYPE_CHECKING:
    from bots.web.console import WebConsole

# Progress events can come every few milliseconds; browsers need a few a second at most.
PROGRESS_INTERVAL = 0.2
KEEPALIVE_SECONDS = 15.0
ENDED = ("done", "failed", "cancelled")


def sse(event: dict[str, Any]) -> bytes:
    """One server-sent event: its type, an id for messages, and the event as JSON."""
    lines = [f"event: {event['type']}"]
    if event["type"] == "message":
        # Only messages carry an id: a reconnecting EventSource sends it back as Last-Event-ID.
        lines.append(f"id: {event['message']['id']}")
    lines.append("data: " + json.dumps(event, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


class Live:
    """The event stream route and the job statuses it shows (the console's status tracker: no status message to
    adopt here, a page that opens reads the unfinished jobs instead)."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.auth = console.auth
        self.hub = console.hub
        self.threads = console.threads
        # job id -> the latest status shown for it (a JSON object), while the job is unfinished.
        self.statuses: JobStatuses[dict[str, Any]] = JobStatuses()
        self._progress_sent: dict[str, float] = {}

    def job_hooks(self) -> dict[type[JobEvent], Hook]:
        return {
            JobQueued: self._queued,
            JobStarted: self._started,
            JobProgress: self._progress,
            JobDone: self._done,
            JobFailed: self._ended,
            JobCancelled: self._ended,
        }

    async def api_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events for one thread: new messages, job progress, deleted clips."""
        session = await self.auth.require(request, api=True)
        thread = await self.console.api.thread(request, session)
        raw_after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        after = int(raw_after) if raw_after.isdigit() else 0
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # Join before reading the backlog: a message posted in between arrives twice, never not at all.
        queue = self.hub.join(thread.id)
        try:
            await response.write(b"retry: 1000\n\n")
            for message in await self.threads.messages(thread.id, after=after):
                await response.write(sse({"type": "message", "message": self.console.message_json(message)}))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                await response.write(sse(event))
        except ConnectionResetError:
            pass  # the browser went away; EventSource reconnects with Last-Event-ID when it comes back
        finally:
            self.hub.leave(thread.id, queue)
        return response

    def job_status(self, job_id: str, thread_id: str, **fields: Any) -> None:
        """Merge `fields` into the job's status and show it to the thread; an ended job is forgotten."""
        status = {**(self.statuses.get(job_id) or {"type": "job", "job_id": job_id}), **fields}
        if status.get("state") in ENDED:
            self.statuses.release(job_id)
            self._progress_sent.pop(job_id, None)
        else:
            self.statuses.claim(job_id, status)
        self.hub.publish(thread_id, status)

    async def clip_deleted(self, event: ClipDeleted) -> None:
        for thread_id in await self.threads.mark_clip_deleted(event.clip_id):
            self.hub.publish(thread_id, {"type": "clip_deleted", "clip_id": event.clip_id})

    async def _queued(self, event: JobQueued) -> None:
        self.job_status(
            event.job_id, event.place.channel_id, state="queued", position=event.position, eta=event.estimate_seconds
        )

    async def _started(self, event: JobStarted) -> None:
        self.job_status(
            event.job_id, event.place.channel_id, state="running", step=0, total=0, eta=event.estimate_seconds
        )

    async def _progress(self, event: JobProgress) -> None:
        now = time.monotonic()
        last = self._progress_sent.get(event.job_id, 0.0)
        final = event.stage == "encoding" or event.step >= event.total
        if final or now - last >= PROGRESS_INTERVAL:
            self._progress_sent[event.job_id] = now
            state = "encoding" if event.stage == "encoding" else "running"
            self.job_status(
                event.job_id,
                event.place.channel_id,
                state=state,
                step=event.step,
                total=event.total,
                stage=event.stage,
                eta=event.eta_seconds,
            )

    async def _done(self, event: JobDone) -> None:
        self.job_status(event.job_id, event.place.channel_id, state="done", clip_id=event.clip_id)

    async def _ended(self, event: JobFailed | JobCancelled) -> None:
        """A failed or cancelled job: its status, and a notice in the thread saying why."""
        thread_id = event.place.channel_id
        state = "failed" if isinstance(event, JobFailed) else "cancelled"
        self.job_status(event.job_id, thread_id, state=state, reason=event.reason)
        with contextlib.suppress(UnknownThread):
            notice = await self.threads.post(
                thread_id,
                "notice",
                f"job `{event.job_id}` {state}: {event.reason}",
                author=SERVICE_NAME,
                ok=False,
                job_id=event.job_id,
            )
            self.hub.publish(thread_id, {"type": "message", "message": self.console.message_json(notice)})
