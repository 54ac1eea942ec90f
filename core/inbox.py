"""Platform requests kept from their arrival until they are handled, so a crash in between loses none.

An adapter writes what a platform handed over (`receive`) before it tells the platform "received" (Telegram's next
getUpdates offset, a webhook's 200). It marks each request `handled` once the member has their answer: a job, or a
refusal. On a start, `unhandled` gives back what a crash cut off. A request handled twice (a replay, a re-delivered
update) does not make a second job: admission finds the job already made for its `Place.request_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.kernel import Kernel
from core.records import iso
from storage import inbox as rows

# Telegram keeps an unconfirmed update for 24 hours; Discord's interaction token lives 15 minutes.
KEEP_HANDLED = timedelta(days=2)


@dataclass(frozen=True)
class InboxItem:
    request_key: str
    payload: str  # JSON, as the platform sent it
    received_at: str


class Inbox:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def receive(self, platform: str, requests: list[tuple[str, str]]) -> list[str]:
        """Keep (request_key, payload) pairs; returns the keys not seen before (a re-delivery is not new)."""
        if not requests:
            return []
        now = iso(self.k.now())
        return await self.k.db.write(lambda db: rows.add_new(db, platform, requests, now))

    async def unhandled(self, platform: str) -> list[InboxItem]:
        found = await self.k.db.read(lambda db: rows.unhandled(db, platform))
        return [InboxItem(r["request_key"], r["payload"], r["received_at"]) for r in found]

    async def handled(self, platform: str, request_key: str) -> None:
        now = iso(self.k.now())
        await self.k.db.write(lambda db: rows.mark_handled(db, platform, request_key, now))

    async def forget_old(self) -> int:
        before = iso(self.k.now() - KEEP_HANDLED)
        return await self.k.db.write(lambda db: rows.forget_handled_before(db, before))
