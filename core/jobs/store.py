"""The job's life in the database. Each function runs inside one writer transaction.

    queued -> running -> encoding -> done
                 |          |
                 +----------+--> failed | cancelled      (queued -> cancelled too)

Every transition is conditional on the state it leaves, so a job can finish only once, however
many times a crash and a restart replay the work.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from core.identity import Actor, Place
from core.jobs import quotas
from core.ops import counters
from core.records import ACTIVE_STATES, ClipRecord, Delivery, JobRecord, iso, new_id
from storage import audit_log, clips, jobs, users
from storage import deliveries as outbox


def audit(
    db: sqlite_utils.Database,
    kind: str,
    now: datetime,
    *,
    user_id: str | None = None,
    job_id: str | None = None,
    clip_id: str | None = None,
    **detail: Any,
) -> None:
    audit_log.add(db, iso(now), kind, user_id, job_id, clip_id, json.dumps(detail, default=str))
    # Every refusal is audited: counting it here, in the same transaction, keeps the count exact.
    counters.count_audited(db, kind, detail)


def user_for(db: sqlite_utils.Database, actor: Actor, now: datetime) -> str:
    """The user behind a platform account, created on first sight."""
    row = users.identity(db, actor.platform, actor.user_id)
    if row is not None:
        if actor.display_name and row["display_name"] != actor.display_name:
            users.rename_identity(db, actor.platform, actor.user_id, actor.display_name)
        return str(row["user_id"])
    user_id = new_id()
    users.add_user(db, user_id, actor.display_name or actor.user_id, iso(now))
    users.add_identity(db, actor.platform, actor.user_id, user_id, actor.display_name, iso(now))
    return user_id


def existing_user(db: sqlite_utils.Database, actor: Actor) -> str | None:
    row = users.identity(db, actor.platform, actor.user_id)
    return None if row is None else str(row["user_id"])


def is_service_admin(db: sqlite_utils.Database, user_id: str) -> bool:
    return users.is_admin(db, user_id)


def count_active(db: sqlite_utils.Database, user_id: str) -> int:
    return jobs.count_active_of_user(db, user_id, ACTIVE_STATES)


def count_queued(db: sqlite_utils.Database) -> int:
    """Jobs waiting, from the trigger-kept counts (see migration 4)."""
    return jobs.count_queued(db)


def insert_job(
    db: sqlite_utils.Database,
    *,
    user_id: str,
    kind: str,
    prompt: str,
    params: dict[str, Any],
    actor: Actor,
    place: Place,
    cost: int,
    period: str,
    now: datetime,
) -> str:
    job_id = new_id()
    jobs.add(
        db,
        {
            "id": job_id,
            "user_id": user_id,
            "kind": kind,
            "prompt": prompt,
            "params": json.dumps(params),
            "origin": place.to_json(),
            "requester": actor.to_json(),
            "request_key": place.request_key,
            "state": "queued",
            "cost": cost,
            "period": period,
            "created_at": iso(now),
        },
    )
    # The spending account is named, so the use stays with it after `unlink` or `forgetme` (#16 finding 3).
    account = quotas.account_digest(db, actor.platform, actor.user_id)
    quotas.record(
        db, user_id=user_id, kind="reserve", credits=-cost, period=period, now=now, job_id=job_id, account=account
    )
    quotas.drop_ended_carryover(db, period)  # what forgotten people left from earlier days: kept no longer
    return job_id


def job_for_request(db: sqlite_utils.Database, request_key: str) -> JobRecord | None:
    """The job admitted for a platform request (`Place.request_key`), if one was."""
    row = jobs.by_request_key(db, request_key)
    return None if row is None else JobRecord.from_row(row)


def get_job(db: sqlite_utils.Database, job_id: str) -> JobRecord | None:
    row = jobs.get(db, job_id)
    return None if row is None else JobRecord.from_row(row)


def transition(
    db: sqlite_utils.Database, job_id: str, from_states: tuple[str, ...], to_state: str, **fields: Any
) -> bool:
    """Move a job to `to_state` only if it is in one of `from_states`; returns whether it moved."""
    return jobs.move(db, job_id, from_states, to_state, fields)


def start(db: sqlite_utils.Database, job_id: str, now: datetime) -> JobRecord | None:
    """queued -> running, counting the attempt; None if the job is no longer queued (cancelled meanwhile)."""
    return get_job(db, job_id) if jobs.start(db, job_id, iso(now)) else None


def end_unsuccessfully(db: sqlite_utils.Database, job_id: str, state: str, reason: str, now: datetime) -> bool:
    """-> failed | cancelled, with the credits refunded in the same transaction."""
    if not transition(db, job_id, ACTIVE_STATES, state, error=reason, finished_at=iso(now)):
        return False
    quotas.settle(db, job_id, "refund", now)
    job = get_job(db, job_id)
    audit(db, f"job_{state}", now, user_id=job.user_id if job else None, job_id=job_id, reason=reason)
    return True


def requeue(db: sqlite_utils.Database, job_id: str) -> bool:
    """running/encoding -> queued, keeping the reservation: for a shutdown or a crash mid-job."""
    return transition(db, job_id, ("running", "encoding"), "queued", started_at=None)


def requeue_interrupted(db: sqlite_utils.Database) -> list[str]:
    """At start-up: jobs a previous process left running go back to the queue."""
    ids = jobs.ids_in_states(db, ("running", "encoding"))
    for job_id in ids:
        requeue(db, job_id)
    return ids


def queued_jobs(db: sqlite_utils.Database) -> list[JobRecord]:
    """Every queued job, oldest first."""
    return [JobRecord.from_row(r) for r in jobs.queued(db)]


def finish(
    db: sqlite_utils.Database,
    job: JobRecord,
    *,
    clip_row: dict[str, Any],
    deliveries: list[dict[str, Any]],
    now: datetime,
) -> str | None:
    """encoding -> done: the clip, the quota commit and the outbox rows, all in one transaction."""
    if not transition(db, job.id, ("encoding",), "done", clip_id=clip_row["id"], finished_at=iso(now)):
        return None
    _count_generation(db, job.id, now)
    clips.add(db, clip_row)
    quotas.settle(db, job.id, "commit", now)
    for row in deliveries:
        outbox.add(db, row)
    audit(db, "clip_made", now, user_id=job.user_id, job_id=job.id, clip_id=clip_row["id"], backend=clip_row["backend"])
    return str(clip_row["id"])


def _count_generation(db: sqlite_utils.Database, job_id: str, now: datetime) -> None:
    # Read from the row, not the caller's record: a job requeued and restarted has a newer start.
    started_at = jobs.started_at(db, job_id)
    if not started_at:
        return
    seconds = max(0.0, (now - datetime.fromisoformat(started_at)).total_seconds())
    counters.bump(db, counters.GENERATIONS)
    counters.bump(db, counters.GENERATION_SECONDS, by=seconds)


def get_clip(db: sqlite_utils.Database, clip_id: str, include_deleted: bool = False) -> ClipRecord | None:
    row = clips.get(db, clip_id, include_deleted)
    return None if row is None else ClipRecord.from_row(row)


def pending_deliveries(
    db: sqlite_utils.Database, platform: str, now: datetime, lease_seconds: float, limit: int
) -> list[Delivery]:
    """Claim up to `limit` due deliveries: each is hidden from other claims for `lease_seconds`.

    If the adapter dies while posting, the lease runs out and the row is offered again.
    """
    rows = outbox.due(db, platform, iso(now), limit)
    lease = iso(now + timedelta(seconds=lease_seconds))
    claimed = []
    for row in rows:
        # An attempt still marked as posting never reported back (the adapter died mid-post): it may have landed.
        in_doubt = bool(row["in_doubt"] or row["posting"])
        outbox.lease(db, row["id"], lease, in_doubt)
        claimed.append(
            Delivery(
                id=row["id"],
                kind=row["kind"],
                platform=row["platform"],
                destination=Place.from_json(row["destination"]),
                payload=json.loads(row["payload"] or "{}"),
                attempts=(row["attempts"] or 0) + 1,
                job_id=row["job_id"],
                clip_id=row["clip_id"],
                may_have_posted=in_doubt,
            )
        )
    return claimed
