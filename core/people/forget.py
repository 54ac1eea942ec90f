"""Deleting people's data: one clip everywhere it was posted, or everything a person left with us.

`forget_user` removes a user's identities, cameos (with their face, voice and reference video),
clips, jobs, credits ledger, grants and audit rows. A clip of theirs that someone else remixed or
extended is kept as an anonymous, deleted placeholder so the other person's work keeps its lineage;
its file is removed all the same. Clips other people made with the user's cameo are deleted too:
they show the user's likeness, and consent ends with the account.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from core.clips.lineage import posts_of
from core.events import ClipDeleted, PostRef
from core.jobs import store as jobstore
from core.jobs.quotas import QuotaPolicy, keep_anonymous_usage
from core.people.handles import forget_account_handles
from core.records import ACTIVE_STATES, iso
from storage import audit_log, clips, deliveries, erase, users
from storage import cameos as cameo_rows
from storage import jobs as job_rows

if TYPE_CHECKING:
    from core.service import Sorabox

# The owner of placeholders kept for other people's remixes; it holds nothing personal.
FORGOTTEN_USER = "forgotten"
FORGOTTEN_NAME = "someone (deleted)"


# Text columns where other people's rows may mention a forgotten handle (`@ana waves`).
_MENTIONS = (
    ("jobs", "prompt"),
    ("clips", "prompt"),
    ("clips", "state"),
    ("clips", "metadata"),
    ("deliveries", "payload"),
    ("web_messages", "text"),
    ("web_messages", "payload"),
)


@dataclass
class Removal:
    """What a deletion took away: files to unlink and posts to take down, once the transaction is committed."""

    clips: dict[str, tuple[PostRef, ...]] = field(default_factory=dict)
    files: set[tuple[str, str]] = field(default_factory=set)  # (sha256, suffix)
    kept_as_placeholder: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ForgetReport:
    clips_deleted: int
    placeholders: int
    cameos_deleted: int
    jobs_cancelled: int


def mark_clips_deleted(
    db: sqlite_utils.Database, clip_ids: list[str], *, by_user_id: str | None, reason: str, now_iso: str
) -> Removal:
    """Soft-delete clips (the row stays for lineage, like `delete`); their files go once nothing uses them."""
    removal = Removal()
    for clip_id in clip_ids:
        row = erase.clip_file(db, clip_id)
        if row is None or row["deleted_at"] is not None:
            continue
        clips.mark_deleted(db, clip_id, now_iso)
        deliveries.withdraw_pending(db, clip_id)
        removal.clips[clip_id] = tuple(posts_of(db, clip_id))
        if row["media_sha256"]:
            removal.files.add((row["media_sha256"], ".mp4"))
        audit_log.add(db, now_iso, "clip_deleted", by_user_id, None, clip_id, json.dumps({"reason": reason}))
    return removal


def unused_files(db: sqlite_utils.Database, files: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The files no live row points at any more (content addressing lets two rows share one file)."""
    return [(sha, suffix) for sha, suffix in files if not erase.file_in_use(db, sha, clip_file=suffix == ".mp4")]


async def settle_removal(core: Sorabox, removal: Removal) -> None:
    """After the commit: unlink files nobody uses and tell adapters to take the posts down."""
    if removal.files:
        unused = await core.db.read(lambda db: unused_files(db, removal.files))
        for sha, suffix in unused:
            await asyncio.to_thread(core.media.delete, sha, suffix)
    for clip_id, posts in removal.clips.items():
        core.bus.publish(ClipDeleted(clip_id, posts))


# -- forgetting a whole person --------------------------------------------------------------------------


async def cancel_active_jobs(core: Sorabox, user_id: str, wait_seconds: float = 30.0) -> int:
    """Cancel the user's queued and running jobs; wait until none is active (running ones stop at a step)."""
    jobs = await core.db.read(
        lambda db: [
            jobstore.get_job(db, job_id) for job_id in job_rows.ids_of_user_in_states(db, user_id, ACTIVE_STATES)
        ]
    )
    for job in jobs:
        if job is not None:
            await core.cancel(job.requester, job.origin, job.id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while loop.time() < deadline:
        active = await core.db.read(lambda db: jobstore.count_active(db, user_id))
        if active == 0:
            break
        await asyncio.sleep(0.05)
    return len(jobs)


def erase_user(
    db: sqlite_utils.Database, user_id: str, *, by: str, now_iso: str, quota: QuotaPolicy
) -> tuple[Removal, ForgetReport]:
    """Inside one write transaction: remove every row of the user's; returns the files and posts to remove after.

    Today's use stays as an anonymous per-account counter (core/jobs/quotas.py), so forgetting
    does not reset the daily limit."""
    removal = Removal()
    keep_anonymous_usage(db, quota, user_id, datetime.fromisoformat(now_iso))
    cameos = cameo_rows.of_owner(db, user_id)
    cameo_ids = [c["id"] for c in cameos]
    handles = [c["handle"] for c in cameos]
    for cameo in cameos:
        for column, suffix in (("face_sha256", ".png"), ("voice_sha256", ".wav"), ("reference_sha256", ".ref.mp4")):
            if cameo.get(column):
                removal.files.add((cameo[column], suffix))

    own_clips = erase.clip_ids_of_user(db, user_id)
    likeness_clips = [c for c in erase.clips_using(db, cameo_ids) if c not in own_clips]
    # Other people's clips with this person's likeness: deleted, the rows stay as theirs.
    removed = mark_clips_deleted(db, likeness_clips, by_user_id=None, reason="forgotten cameo", now_iso=now_iso)
    removal.clips.update(removed.clips)
    removal.files |= removed.files

    for clip_id in own_clips:
        row = erase.clip_file(db, clip_id)
        if row is None:
            continue
        removal.clips[clip_id] = tuple(posts_of(db, clip_id)) if row["deleted_at"] is None else ()
        if row["media_sha256"]:
            removal.files.add((row["media_sha256"], ".mp4"))
    # A clip someone else built on stays as a placeholder; the rest go entirely.
    kept = erase.built_on_by_others(db, own_clips, user_id)
    removal.kept_as_placeholder = sorted(kept)
    if kept:
        erase.make_placeholders(db, sorted(kept), FORGOTTEN_USER, FORGOTTEN_NAME, now_iso)
    gone = [c for c in own_clips if c not in kept]
    job_ids = erase.job_ids_of_user(db, user_id)

    # Rows that point at what goes, children first so foreign keys hold at every statement.
    erase.delete_history(db, user_id, cameo_ids=cameo_ids, own_clips=own_clips, gone=gone, job_ids=job_ids)

    # Other people's jobs and clips that named the handles keep working rows, without the names.
    for handle in handles:
        erase.unname_cameo(db, handle, cameo_ids, _MENTIONS)

    identities = users.identities_of(db, user_id)
    erase.erase_web_account(
        db, [i["platform_user_id"] for i in identities if i["platform"] == "web"], [*own_clips, *likeness_clips]
    )
    needles = [user_id, *cameo_ids, *handles, *(i["platform_user_id"] for i in identities)]
    if erase.table_exists(db, "platform_handles"):
        # The @usernames seen on their accounts: a mention of them must no longer find the person.
        for identity in identities:
            forget_account_handles(db, identity["platform"], identity["platform_user_id"])
    # Link codes they asked for, and wrong link codes typed on their accounts (core/people/linking.py).
    erase.delete_link_rows(db, user_id, [(i["platform"], i["platform_user_id"]) for i in identities])
    erase.delete_audit(db, user_id, needles)
    erase.delete_user(db, user_id)
    erase.note_forgotten(db, now_iso, {"by": by, "clips": len(own_clips), "cameos": len(cameos)})
    report = ForgetReport(
        clips_deleted=len(gone) + len(likeness_clips),
        placeholders=len(kept),
        cameos_deleted=len(cameos),
        jobs_cancelled=0,
    )
    return removal, report


async def forget_user(core: Sorabox, user_id: str, *, by: str) -> ForgetReport:
    """Everything of one user, gone: jobs cancelled first, then one transaction, then files and posts."""
    cancelled = await cancel_active_jobs(core, user_id)
    now_iso = iso(core.now())
    quota = core.settings.quota
    removal, report = await core.db.write(lambda db: erase_user(db, user_id, by=by, now_iso=now_iso, quota=quota))
    await settle_removal(core, removal)
    return ForgetReport(report.clips_deleted, report.placeholders, report.cameos_deleted, cancelled)
