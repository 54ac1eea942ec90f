"""Clips once made: looking them up, where they were posted, their remix tree, and deleting them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlite_utils

from core.clips import visibility
from core.clips.lineage import build_lineage, posts_of, render_tree
from core.commands import Tree
from core.errors import NotAllowed, UnknownClip
from core.events import ClipDeleted, PostRef
from core.identity import Actor, Place, same_community
from core.jobs import store as jobstore
from core.jobs.admission import source_clip
from core.kernel import Kernel
from core.records import ClipRecord, LineageNode, Reply, iso
from storage import clips, deliveries, jobs


class ClipLibrary:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def clip(self, clip_id: str) -> ClipRecord:
        """A clip by id; raises UnknownClip when there is none (or it was deleted)."""
        record = await self.k.db.read(lambda db: jobstore.get_clip(db, clip_id))
        if record is None:
            raise UnknownClip(clip_id)
        return record

    def media_path(self, clip: ClipRecord) -> Path:
        return self.k.media.path(clip.media_sha256)

    async def clip_for_post(self, platform: str, channel_id: str, message_id: str) -> str | None:
        """The clip a posted message shows (to remix by replying to it), or None."""
        return await self.k.db.read(lambda db: deliveries.clip_of_post(db, platform, channel_id, message_id))

    async def posts_of_clip(self, clip_id: str) -> list[PostRef]:
        return await self.k.db.read(lambda db: posts_of(db, clip_id))

    async def lineage(self, clip_id: str, viewer: Actor | None = None) -> LineageNode:
        """The remix tree the clip belongs to, from its root, as `viewer` may see it (core/clips/visibility.py)."""
        return await self.k.db.read(lambda db: build_lineage(db, clip_id, visibility.viewer_of(db, viewer)))

    async def tree(self, actor: Actor, place: Place, command: Tree) -> Reply:
        tree = await self.lineage(command.clip_id, actor)
        return Reply(render_tree(tree, command.clip_id), tree=tree, clip_id=command.clip_id)

    async def delete(self, actor: Actor, place: Place, clip_id: str) -> Reply:
        """Delete a clip: its file, and (through ClipDeleted) every message the service posted of it."""
        k = self.k

        def delete(db: sqlite_utils.Database) -> tuple[ClipRecord, list[PostRef], bool]:
            clip = source_clip(db, clip_id, actor)
            user_id = jobstore.existing_user(db, actor)
            origin = _clip_origin(db, clip)
            admin_here = actor.is_admin and origin is not None and same_community(origin, place)
            if not (user_id == clip.user_id or admin_here or (user_id and jobstore.is_service_admin(db, user_id))):
                raise NotAllowed("only the person who made this clip, or an admin here, can delete it")
            now = k.now()
            clips.mark_deleted(db, clip.id, iso(now))
            deliveries.withdraw_pending(db, clip.id)
            shared = clips.live_media_users(db, clip.media_sha256)
            jobstore.audit(db, "clip_deleted", now, user_id=user_id, clip_id=clip.id, by=actor.display_name)
            return clip, posts_of(db, clip.id), bool(shared)

        clip, posts, still_used = await k.db.write(delete)
        if not still_used:
            await asyncio.to_thread(k.media.delete, clip.media_sha256)
        k.bus.publish(ClipDeleted(clip.id, tuple(posts)))
        return Reply(f"deleted clip `{clip.id}`", clip_id=clip.id)


def _clip_origin(db: sqlite_utils.Database, clip: ClipRecord) -> Place | None:
    if clip.job_id is None:
        return None
    origin = jobs.origin(db, clip.job_id)
    return None if origin is None else Place.from_json(origin)
