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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlite_utils

from core.clips.lineage import posts_of
from core.events import ClipDeleted, PostRef
from core.jobs import store as jobstore
from core.people.handles import forget_account_handles
from core.records import ACTIVE_STATES, iso
from storage.database import insert, one

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


def _marks(items: Iterable[object]) -> str:
    return ",".join("?" for _ in items) or "NULL"


def _table_exists(db: sqlite_utils.Database, name: str) -> bool:
    return one(db, "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) is not None


def mark_clips_deleted(
    db: sqlite_utils.Database, clip_ids: list[str], *, by_user_id: str | None, reason: str, now_iso: str
) -> Removal:
    """Soft-delete clips (the row stays for lineage, like `delete`); their files go once nothing uses them."""
    removal = Removal()
    for clip_id in clip_ids:
        row = one(db, "SELECT id, media_sha256, deleted_at FROM clips WHERE id = ?", [clip_id])
        if row is None or row["deleted_at"] is not None:
            continue
        db.execute("UPDATE clips SET deleted_at = ? WHERE id = ?", [now_iso, clip_id])
        db.execute("UPDATE deliveries SET state = 'withdrawn' WHERE clip_id = ? AND state = 'pending'", [clip_id])
        removal.clips[clip_id] = tuple(posts_of(db, clip_id))
        if row["media_sha256"]:
            removal.files.add((row["media_sha256"], ".mp4"))
        insert(
            db,
            "audit_events",
            {
                "at": now_iso,
                "kind": "clip_deleted",
                "user_id": by_user_id,
                "clip_id": clip_id,
                "detail": json.dumps({"reason": reason}),
            },
        )
    return removal


def unused_files(db: sqlite_utils.Database, files: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The files no live row points at any more (content addressing lets two rows share one file)."""
    unused = []
    for sha, suffix in files:
        if suffix == ".mp4" and one(
            db, "SELECT 1 AS x FROM clips WHERE media_sha256 = ? AND deleted_at IS NULL", [sha]
        ):
            continue
        if one(
            db,
            "SELECT 1 AS x FROM cameos WHERE face_sha256 = ? OR voice_sha256 = ? OR reference_sha256 = ?",
            [sha, sha, sha],
        ):
            continue
        unused.append((sha, suffix))
    return unused


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
            jobstore.get_job(db, r["id"])
            for r in db.query(f"SELECT id FROM jobs WHERE user_id = ? AND state IN {ACTIVE_STATES}", [user_id])
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


def erase_user(db: sqlite_utils.Database, user_id: str, *, by: str, now_iso: str) -> tuple[Removal, ForgetReport]:
    """Inside one write transaction: remove every row of the user's; returns the files and posts to remove after."""
    removal = Removal()
    cameos = list(db.query("SELECT * FROM cameos WHERE owner_user_id = ?", [user_id]))
    cameo_ids = [c["id"] for c in cameos]
    handles = [c["handle"] for c in cameos]
    for cameo in cameos:
        for column, suffix in (("face_sha256", ".png"), ("voice_sha256", ".wav"), ("reference_sha256", ".ref.mp4")):
            if cameo.get(column):
                removal.files.add((cameo[column], suffix))

    own_clips = [r["id"] for r in db.query("SELECT id FROM clips WHERE user_id = ?", [user_id])]
    likeness_clips = [
        r["clip_id"]
        for r in db.query(f"SELECT DISTINCT clip_id FROM cameo_uses WHERE cameo_id IN ({_marks(cameo_ids)})", cameo_ids)
        if r["clip_id"] not in own_clips
    ]
    # Other people's clips with this person's likeness: deleted, the rows stay as theirs.
    removed = mark_clips_deleted(db, likeness_clips, by_user_id=None, reason="forgotten cameo", now_iso=now_iso)
    removal.clips.update(removed.clips)
    removal.files |= removed.files

    for clip_id in own_clips:
        row = one(db, "SELECT media_sha256, deleted_at FROM clips WHERE id = ?", [clip_id])
        if row is None:
            continue
        removal.clips[clip_id] = tuple(posts_of(db, clip_id)) if row["deleted_at"] is None else ()
        if row["media_sha256"]:
            removal.files.add((row["media_sha256"], ".mp4"))
    # A clip someone else built on stays as a placeholder; the rest go entirely.
    kept = {
        r["parent_clip_id"]
        for r in db.query(
            f"SELECT parent_clip_id FROM clips WHERE parent_clip_id IN ({_marks(own_clips)}) AND user_id != ?",
            [*own_clips, user_id],
        )
    }
    removal.kept_as_placeholder = sorted(kept)
    if kept:
        db.execute(
            "INSERT OR IGNORE INTO users (id, display_name, is_admin, created_at) VALUES (?, ?, 0, ?)",
            [FORGOTTEN_USER, FORGOTTEN_NAME, now_iso],
        )
        db.execute(
            f"""UPDATE clips SET user_id = ?, job_id = NULL, prompt = '', state = '{{}}', metadata = '{{}}',
                media_sha256 = NULL, deleted_at = COALESCE(deleted_at, ?) WHERE id IN ({_marks(kept)})""",
            [FORGOTTEN_USER, now_iso, *kept],
        )
    gone = [c for c in own_clips if c not in kept]
    job_ids = [r["id"] for r in db.query("SELECT id FROM jobs WHERE user_id = ?", [user_id])]

    # Rows that point at what goes, children first so foreign keys hold at every statement.
    db.execute(
        f"DELETE FROM cameo_uses WHERE cameo_id IN ({_marks(cameo_ids)}) OR user_id = ? OR owner_user_id = ?"
        f" OR clip_id IN ({_marks(gone)})",
        [*cameo_ids, user_id, user_id, *gone],
    )
    db.execute(
        f"DELETE FROM deliveries WHERE job_id IN ({_marks(job_ids)}) OR clip_id IN ({_marks(own_clips)})"
        " OR json_extract(payload, '$.owner_user_id') = ?",
        [*job_ids, *own_clips, user_id],
    )
    db.execute(f"UPDATE clips SET parent_clip_id = NULL WHERE id IN ({_marks(gone)})", gone)
    db.execute(f"DELETE FROM clips WHERE id IN ({_marks(gone)})", gone)
    db.execute(f"DELETE FROM jobs WHERE id IN ({_marks(job_ids)})", job_ids)
    db.execute("DELETE FROM quota_ledger WHERE user_id = ?", [user_id])
    db.execute(
        f"DELETE FROM cameo_grants WHERE user_id = ? OR cameo_id IN ({_marks(cameo_ids)})", [user_id, *cameo_ids]
    )
    db.execute("DELETE FROM cameos WHERE owner_user_id = ?", [user_id])
    db.execute("DELETE FROM private_places WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM forget_requests WHERE user_id = ?", [user_id])

    # Other people's jobs and clips that named the handles keep working rows, without the names.
    for handle in handles:
        for row in db.query("SELECT id, params FROM jobs WHERE params LIKE ?", [f"%{handle}%"]):
            params = json.loads(row["params"] or "{}")
            params["cameos"] = [h for h in params.get("cameos", []) if h != handle]
            params["cameo_ids"] = [c for c in params.get("cameo_ids", []) if c not in cameo_ids]
            db.execute("UPDATE jobs SET params = ? WHERE id = ?", [json.dumps(params), row["id"]])
        for table, column in _MENTIONS:
            if _table_exists(db, table):
                db.execute(
                    f"UPDATE [{table}] SET [{column}] = replace([{column}], ?, '@someone') WHERE [{column}] LIKE ?",
                    [f"@{handle}", f"%@{handle}%"],
                )

    identities = list(db.query("SELECT platform, platform_user_id FROM identities WHERE user_id = ?", [user_id]))
    _erase_web_account(
        db, [i["platform_user_id"] for i in identities if i["platform"] == "web"], [*own_clips, *likeness_clips]
    )
    needles = [user_id, *cameo_ids, *handles, *(i["platform_user_id"] for i in identities)]
    if _table_exists(db, "platform_handles"):
        # The @usernames seen on their accounts: a mention of them must no longer find the person.
        for identity in identities:
            forget_account_handles(db, identity["platform"], identity["platform_user_id"])
    # Link codes they asked for, and wrong link codes typed on their accounts (core/linking.py).
    db.execute("DELETE FROM link_codes WHERE user_id = ?", [user_id])
    for identity in identities:
        db.execute(
            "DELETE FROM link_failures WHERE platform = ? AND platform_user_id = ?",
            [identity["platform"], identity["platform_user_id"]],
        )
    db.execute("DELETE FROM audit_events WHERE user_id = ?", [user_id])
    for needle in needles:
        # Quoted, as JSON writes strings: a short id must not match inside an unrelated number.
        db.execute("DELETE FROM audit_events WHERE detail LIKE ?", [f'%"{needle}"%'])
    db.execute("DELETE FROM identities WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM users WHERE id = ?", [user_id])
    insert(
        db,
        "audit_events",
        {
            "at": now_iso,
            "kind": "user_forgotten",
            "detail": json.dumps({"by": by, "clips": len(own_clips), "cameos": len(cameos)}),
        },
    )
    report = ForgetReport(
        clips_deleted=len(gone) + len(likeness_clips),
        placeholders=len(kept),
        cameos_deleted=len(cameos),
        jobs_cancelled=0,
    )
    return removal, report


def _erase_web_account(db: sqlite_utils.Database, account_ids: list[str], clip_ids: list[str]) -> None:
    """The web console's account, sessions and chat lines of this person, when the console's tables exist."""
    if not _table_exists(db, "web_accounts"):
        return
    marks = _marks(account_ids)
    if _table_exists(db, "web_messages"):
        db.execute(
            f"DELETE FROM web_messages WHERE account_id IN ({marks}) OR clip_id IN ({_marks(clip_ids)})",
            [*account_ids, *clip_ids],
        )
    for table in ("web_sessions", "web_signin_links"):
        if _table_exists(db, table):
            db.execute(f"DELETE FROM {table} WHERE account_id IN ({marks})", account_ids)
    if _table_exists(db, "web_threads"):
        db.execute(f"UPDATE web_threads SET created_by = NULL WHERE created_by IN ({marks})", account_ids)
    db.execute(f"DELETE FROM web_accounts WHERE id IN ({marks})", account_ids)


async def forget_user(core: Sorabox, user_id: str, *, by: str) -> ForgetReport:
    """Everything of one user, gone: jobs cancelled first, then one transaction, then files and posts."""
    cancelled = await cancel_active_jobs(core, user_id)
    now_iso = iso(core.now())
    removal, report = await core.db.write(lambda db: erase_user(db, user_id, by=by, now_iso=now_iso))
    await settle_removal(core, removal)
    return ForgetReport(report.clips_deleted, report.placeholders, report.cameos_deleted, cancelled)
