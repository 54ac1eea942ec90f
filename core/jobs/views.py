"""What people and admins see of jobs: a person's own, and the whole queue in running order."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from core.identity import Actor
from core.jobs import store as jobstore
from core.kernel import Kernel
from core.records import JobRecord, JobSummary
from core.texts import summary
from storage import jobs


class JobViews:
    def __init__(self, kernel: Kernel, queue_order: Callable[[], list[str]]) -> None:
        self.k = kernel
        self._order = queue_order

    async def jobs_of(self, actor: Actor, recent: int = 5) -> list[JobSummary]:
        """A person's waiting and running jobs, then their most recent finished ones."""
        order = self._order()

        def load(db: sqlite_utils.Database) -> list[JobSummary]:
            user_id = jobstore.existing_user(db, actor)
            if user_id is None:
                return []
            rows = [*jobs.active_of_user(db, user_id), *jobs.recent_finished_of_user(db, user_id, recent)]
            return [summary(JobRecord.from_row(r), order) for r in rows]

        return await self.k.db.read(load)

    async def queue_snapshot(self) -> list[JobSummary]:
        """Every active job, running first then in the order they will run (for admins)."""
        order = self._order()

        def load(db: sqlite_utils.Database) -> list[JobSummary]:
            records = [JobRecord.from_row(r) for r in jobs.all_active(db)]
            rank = {job_id: i for i, job_id in enumerate(order)}
            records.sort(key=lambda j: (j.state == "queued", rank.get(j.id, len(rank))))
            return [summary(j, order) for j in records]

        return await self.k.db.read(load)

    async def job(self, job_id: str) -> JobRecord | None:
        return await self.k.db.read(lambda db: jobstore.get_job(db, job_id))
