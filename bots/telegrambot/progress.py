"""Job progress on Telegram: one status message per job, edited in place (throttled per chat), the `upload_video`
chat action while a job runs, and a status message of its own for a job from before a restart."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

from bots.common.status import JobStatuses, is_final
from bots.telegrambot import render
from bots.telegrambot.waits import retry_seconds
from core.events import JobCancelled, JobDone, JobEvent, JobFailed, JobProgress, JobQueued, JobStarted
from core.records import Reply

if TYPE_CHECKING:
    from bots.common.events import Hook
    from bots.telegrambot.adapter import TelegramAdapter

log = logging.getLogger(__name__)

# Grace before a job's events without a status message (a job from before a restart) get a new one.
ORPHAN_GRACE_SECONDS = 2.0
JOB_ID_RE = re.compile(r"\b([a-z0-9]{8})\b")


@dataclass
class StatusMessage:
    """The one message per job that shows its progress."""

    job_id: str
    chat_id: int
    thread_id: int | None
    reply_to: int | None
    text: str
    message_id: int | None = None
    shown: str = ""
    final: bool = False


@dataclass
class EditLane:
    """Progress edits for one chat: latest text per message wins, spaced `interval` apart."""

    pending: dict[int, StatusMessage] = field(default_factory=dict)
    last_sent: float = 0.0
    task: asyncio.Task[None] | None = None


def status_text(event: JobEvent) -> str:
    """What a job's status message says after `event`."""
    if isinstance(event, JobQueued):
        return render.queued(event.job_id, event.position, event.estimate_seconds)
    if isinstance(event, JobStarted):
        return render.started(event.job_id, event.estimate_seconds)
    if isinstance(event, JobProgress):
        return render.progress(event.job_id, event.step, event.total, event.stage, event.eta_seconds)
    if isinstance(event, JobDone):
        return render.done(event.job_id, event.clip_id)
    if isinstance(event, JobFailed):
        return render.failed(event.job_id, event.reason)
    assert isinstance(event, JobCancelled)
    return render.cancelled(event.job_id, event.reason)


class TelegramProgress:
    """The status messages and chat actions of one Telegram adapter."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter = adapter
        self.settings = adapter.settings
        self.statuses: JobStatuses[StatusMessage] = JobStatuses(
            grace=ORPHAN_GRACE_SECONDS, adopt=self._adopt_orphan, spawn=adapter.spawn
        )
        self._lanes: dict[int, EditLane] = {}
        self._actions: dict[tuple[int, int | None], set[str]] = {}
        self._action_tasks: dict[tuple[int, int | None], asyncio.Task[None]] = {}

    def job_hooks(self) -> dict[type[JobEvent], Hook]:
        """The event dispatcher's hooks: every job event updates the status; start and end drive the chat action."""
        return {
            JobEvent: self._job_event,
            JobStarted: self._job_started,
            JobDone: self._job_ended,
            JobFailed: self._job_ended,
            JobCancelled: self._job_ended,
        }

    def tasks(self) -> list[asyncio.Task[None]]:
        tasks = list(self._action_tasks.values()) + [lane.task for lane in self._lanes.values() if lane.task]
        self._action_tasks.clear()
        self._lanes.clear()
        return tasks

    def touch(self, chat_id: int) -> None:
        """Something was just sent to this chat: the next progress edit waits its turn after it."""
        self._lanes.setdefault(chat_id, EditLane()).last_sent = time.monotonic()

    # -- claiming ---------------------------------------------------------------------------------

    def claim(self, reply: Reply, chat_id: int, thread_id: int | None, reply_to: int) -> StatusMessage | None:
        """The reply to a new job becomes its status message; events that came first are kept in it."""
        if not (reply.ok and reply.job_id):
            return None
        status = self.statuses.get(reply.job_id)
        if status is None:
            status = StatusMessage(reply.job_id, chat_id, thread_id, reply_to, reply.text)
            latest = self.statuses.latest(reply.job_id)
            if latest is not None and not is_final(latest):
                status.text = status_text(latest)
            self.statuses.claim(reply.job_id, status)
        return status

    def shown_as(self, status: StatusMessage, message_id: int, text: str) -> None:
        """The status message was sent as `message_id` saying `text`; edit it if the job moved on meanwhile."""
        status.message_id, status.shown = message_id, text
        if status.text != text:
            self._submit_edit(status)

    def job_of_status(self, message: Message) -> str | None:
        for status in self.statuses:
            if status.chat_id == message.chat.id and status.message_id == message.message_id:
                return status.job_id
        match = JOB_ID_RE.search(message.text or "")
        return match.group(1) if match else None

    # -- events -----------------------------------------------------------------------------------

    async def _job_event(self, event: JobEvent) -> None:
        status = self.statuses.seen(event)
        if status is None:
            return  # nobody here has shown it yet: the tracker keeps the event, and adopts the job if need be
        status.text, status.final = status_text(event), is_final(event)
        if status.message_id is not None:
            self._submit_edit(status)
        elif status.final:
            self.statuses.release(event.job_id)

    async def _job_started(self, event: JobEvent) -> None:
        await self._job_event(event)
        self._start_action(self._key(event), event.job_id)

    async def _job_ended(self, event: JobEvent) -> None:
        self._actions.get(self._key(event), set()).discard(event.job_id)
        await self._job_event(event)

    @staticmethod
    def _key(event: JobEvent) -> tuple[int, int | None]:
        return int(event.place.channel_id), int(event.place.thread_id) if event.place.thread_id else None

    async def _adopt_orphan(self, event: JobEvent) -> None:
        """A job this process did not admit (it ran before a restart): give it a status message of its own."""
        place = event.place
        status = StatusMessage(
            event.job_id,
            int(place.channel_id),
            int(place.thread_id) if place.thread_id else None,
            int(place.reply_to) if place.reply_to else None,
            status_text(event),
        )
        self.statuses.claim(event.job_id, status)
        text = status.text
        try:
            sent = await self.adapter.send_text(
                status.chat_id, render.to_html(text), thread_id=status.thread_id, reply_to=status.reply_to
            )
        except TelegramError as exc:
            log.info("telegram: no status message for %s: %s", status.job_id, exc)
            return
        self.shown_as(status, sent.message_id, text)

    # -- edits ------------------------------------------------------------------------------------

    def _submit_edit(self, status: StatusMessage) -> None:
        assert status.message_id is not None
        lane = self._lanes.setdefault(status.chat_id, EditLane())
        lane.pending[status.message_id] = status
        if lane.task is None or lane.task.done():
            name = f"telegram-edits-{status.chat_id}"
            lane.task = asyncio.create_task(self._run_lane(status.chat_id, lane), name=name)

    async def _run_lane(self, chat_id: int, lane: EditLane) -> None:
        """Edit one chat's status messages, one edit per interval, newest text only, waiting out 429s."""
        failures = 0
        while lane.pending and self.adapter.running:
            wait = lane.last_sent + self.settings.edit_interval_seconds - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message_id = next(iter(lane.pending))
            status = lane.pending.pop(message_id)
            text = status.text
            if text == status.shown:
                self._forget_if_done(status)
                continue
            try:
                await self.adapter.app.bot.edit_message_text(
                    render.to_html(text), chat_id, message_id, parse_mode=ParseMode.HTML
                )
                status.shown, failures = text, 0
            except RetryAfter as exc:
                lane.pending.setdefault(message_id, status)
                await asyncio.sleep(retry_seconds(exc))
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    status.shown = text
                else:  # deleted, or too old to edit: nothing more to show there
                    log.info("telegram: status %s in %s not edited: %s", message_id, chat_id, exc)
                    status.shown, status.final = text, True
            except (TimedOut, NetworkError):
                failures += 1
                lane.pending.setdefault(message_id, status)
                await asyncio.sleep(min(self.settings.retry_max_seconds, self.settings.retry_base_seconds * failures))
            except TelegramError as exc:  # e.g. Forbidden: the bot was removed from the chat
                log.info("telegram: status %s in %s not edited: %s", message_id, chat_id, exc)
                status.shown, status.final = text, True
            finally:
                lane.last_sent = time.monotonic()
            self._forget_if_done(status)

    def _forget_if_done(self, status: StatusMessage) -> None:
        if status.final and status.shown == status.text:
            self.statuses.release(status.job_id)

    # -- the chat action --------------------------------------------------------------------------

    def _start_action(self, key: tuple[int, int | None], job_id: str) -> None:
        self._actions.setdefault(key, set()).add(job_id)
        task = self._action_tasks.get(key)
        if task is None or task.done():
            self._action_tasks[key] = asyncio.create_task(self._action_loop(key), name=f"telegram-action-{key}")

    async def _action_loop(self, key: tuple[int, int | None]) -> None:
        """`upload_video` lasts 5 s on Telegram: repeat it while any job of this chat/topic runs."""
        chat_id, thread_id = key
        while self.adapter.running and self._actions.get(key):
            try:
                await self.adapter.app.bot.send_chat_action(chat_id, "upload_video", message_thread_id=thread_id)
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except TelegramError as exc:
                log.debug("telegram: chat action in %s failed: %s", chat_id, exc)
            await asyncio.sleep(self.settings.chat_action_interval_seconds)
        self._actions.pop(key, None)
