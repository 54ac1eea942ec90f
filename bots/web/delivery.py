"""The console's side of the delivery worker: a finished clip or a notice becomes a message in its thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.common.outbox import Failure, Final, Posted, Retry
from core.console.threads import UnknownThread
from core.errors import SoraboxError
from core.records import Delivery

if TYPE_CHECKING:
    from bots.web.console import WebConsole

SERVICE_NAME = "sorabox"
# A thread write that failed (the database busy, say) is tried again after this long.
RETRY_SECONDS = 30.0


class WebDelivery:
    """The `DeliveryTarget` of the web console: posting is a write to the console's own threads."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console

    def classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, UnknownThread):
            return Final(str(exc))
        if isinstance(exc, SoraboxError):
            return Retry(str(exc), after=RETRY_SECONDS)
        return None

    async def earlier_post(self, delivery: Delivery) -> Posted | None:
        """A clip already in its thread (posted before a crash, not yet recorded): a local query, so always asked."""
        if delivery.kind != "clip" or not delivery.clip_id:
            return None
        existing = await self.console.threads.clip_message(delivery.clip_id)
        if existing is not None and existing.thread_id == delivery.destination.channel_id:
            return Posted(str(existing.id))
        return None

    async def post(self, delivery: Delivery) -> Posted:
        threads = self.console.threads
        thread_id = delivery.destination.channel_id
        reply_to = delivery.destination.reply_to
        if delivery.destination.is_private:
            # A private destination is a person (their account id): their inbox thread, made on first use.
            await threads.inbox(thread_id)
        if delivery.kind == "clip" and delivery.clip_id:
            message = await threads.post(
                thread_id,
                "clip",
                delivery.text,
                author=str(delivery.payload.get("author", "")),
                job_id=delivery.job_id,
                clip_id=delivery.clip_id,
                reply_to=int(reply_to) if reply_to and reply_to.isdigit() else None,
                payload=delivery.payload,
            )
        else:
            message = await threads.post(
                thread_id,
                "notice",
                delivery.text,
                author=SERVICE_NAME,
                job_id=delivery.job_id,
                clip_id=delivery.clip_id,
                payload=delivery.payload,
            )
        return Posted(str(message.id))

    async def after_sent(self, delivery: Delivery, posted: Posted) -> None:
        """Show the new message to everyone watching the thread."""
        thread_id = delivery.destination.channel_id
        message = await self.console.threads.message(int(posted.message_id))
        if message is not None:
            self.console.hub.publish(thread_id, {"type": "message", "message": self.console.message_json(message)})
