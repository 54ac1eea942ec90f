"""The last step of a job, inside the finishing transaction: the clip row, the caption and the outbox rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from core.extensions import JobExtension
from core.jobs import quotas
from core.jobs import store as jobstore
from core.records import JobRecord, iso, new_id
from core.texts import caption, clip_notes


def record_clip(
    db: sqlite_utils.Database,
    job: JobRecord,
    *,
    meta: dict[str, Any],
    state: dict[str, Any],
    sha: str,
    size: int,
    backend: str,
    quota: quotas.QuotaPolicy,
    extensions: Sequence[JobExtension],
    now: datetime,
) -> str | None:
    """encoding -> done with the clip, its caption (credits left after this job) and every delivery; None if the
    job was no longer encoding (cancelled meanwhile)."""
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
        "backend": backend,
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
    status = quotas.status(db, quota, job.user_id, job.requester, job.origin, now)
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
    extra = [row for extension in extensions for row in extension.extra_deliveries(db, job, clip_id)]
    return jobstore.finish(db, job, clip_row=clip_row, deliveries=[delivery, *extra], now=now)
