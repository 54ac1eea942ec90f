"""What the web console reads from the core's database, in one place: its own stores (accounts, threads) and the
read-only queries behind the metrics, the admin page and the gallery. bots/web goes through this, never `core.db`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.console.threads import ConsoleThreads, GalleryClip, recent_clips
from core.identity import Actor
from core.ops import metrics
from core.ops.metrics import AuditEntry, QuotaOverride, Snapshot
from core.people.accounts import Accounts
from core.service import Sorabox
from storage.database import Database


class ConsoleQueries:
    """The console's view of the database: built from the core, read-only except through the stores it hands out."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    @classmethod
    def of(cls, core: Sorabox) -> ConsoleQueries:
        return cls(core.db, core.now)

    def accounts(self) -> Accounts:
        """The console's accounts, sessions and sign-in links."""
        return Accounts(self._db, self._now)

    def threads(self) -> ConsoleThreads:
        """The console's chat threads and their messages."""
        return ConsoleThreads(self._db, self._now)

    async def metrics(self, capacity: int) -> Snapshot:
        """Queue depth, jobs by state, generation time, busy ratio, the outbox and refusals, as of now."""
        now = self._now()
        return await self._db.read(lambda db: metrics.snapshot(db, now, capacity))

    async def quota_overrides(self) -> list[QuotaOverride]:
        return await self._db.read(metrics.quota_overrides)

    async def audit_log(self, kinds: tuple[str, ...] = (), limit: int = 100) -> list[AuditEntry]:
        return await self._db.read(lambda db: metrics.audit_log(db, kinds, limit))

    async def recent_clips(
        self, *, thread_id: str | None, person: str | None, cameo: str | None, viewer: Actor
    ) -> list[GalleryClip]:
        """The gallery: recent clips the viewer may see, filtered by thread, person or cameo."""
        return await recent_clips(self._db, thread_id=thread_id, person=person, cameo=cameo, viewer=viewer)
