"""The outbox: finished clips and notices wait here until an adapter has posted them, exactly once.

An adapter claims due rows (each hidden from other claims for a lease), marks one as being posted, and reports it
sent or failed. See docs/CORE_API.md, "The outbox".
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.identity import Place
from core.jobs import store as jobstore
from core.kernel import Kernel
from core.records import Delivery, iso
from storage import deliveries

# How long an adapter may hold a claimed delivery before it is offered again.
DELIVERY_LEASE_SECONDS = 120.0


class Outbox:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def claim(self, platform: str, limit: int = 10) -> list[Delivery]:
        """Due deliveries for a platform, each held for this caller for a while (see DELIVERY_LEASE_SECONDS)."""
        return await self.k.db.write(
            lambda db: jobstore.pending_deliveries(db, platform, self.k.now(), DELIVERY_LEASE_SECONDS, limit)
        )

    async def posting(self, delivery_id: int) -> None:
        """Mark a claimed delivery as being posted now. If nothing is recorded about it afterwards (the process
        died mid-post), the next claim says the post may have landed (`Delivery.may_have_posted`)."""
        await self.k.db.write(lambda db: deliveries.mark_posting(db, delivery_id))

    async def sent(
        self, delivery_id: int, message_id: str, thread_id: str | None = None, *, posted_to: Place | None = None
    ) -> None:
        """Record that a delivery was posted as `message_id` (in `thread_id`, if the adapter opened one).

        `posted_to`: where the post really landed when the platform sent it elsewhere than its destination (a
        Telegram group that became a supergroup, a deleted topic). It replaces the destination, so Delete, replies
        to the post and /tree links find the message where it is."""
        destination = None if posted_to is None else posted_to.to_json()
        sent_at = iso(self.k.now())
        await self.k.db.write(
            lambda db: deliveries.mark_sent(db, delivery_id, message_id, thread_id, sent_at, destination)
        )

    async def failed(
        self, delivery_id: int, error: str, retry_in: float | None, *, may_have_posted: bool = False
    ) -> None:
        """A post failed: try again after `retry_in` seconds, or give up when it is None.

        `may_have_posted`: the failure came after the request was sent (a timeout waiting for the answer, a
        connection cut mid-way, a 5xx), so the platform may show the post anyway; the next claim says so.
        """
        retry_at = None if retry_in is None else iso(self.k.now() + timedelta(seconds=retry_in))
        await self.k.db.write(lambda db: deliveries.mark_failed(db, delivery_id, error, retry_at, may_have_posted))

    async def pending_counts(self) -> dict[str, int]:
        return await self.k.db.read(deliveries.pending_counts)

    async def pending_platforms(self) -> list[str]:
        return await self.k.db.read(deliveries.pending_platforms)

    def payload_path(self, delivery: Delivery) -> Path | None:
        sha = delivery.payload.get("media_sha256")
        return self.k.media.path(sha) if sha else None
