"""Remix trees: which clip came from which, by whom, and where each was posted."""

from __future__ import annotations

import sqlite_utils

from core.clips.visibility import PRIVATE_CLIP, visible
from core.errors import UnknownClip
from core.events import PostRef
from core.identity import Place
from core.jobs import store as jobstore
from core.records import ClipRecord, LineageNode
from core.texts import short
from storage import clips


def posts_of(db: sqlite_utils.Database, clip_id: str) -> list[PostRef]:
    posts = []
    for row in clips.posts(db, clip_id):
        place = Place.from_json(row["destination"])
        posts.append(PostRef(row["platform"], place.channel_id, row["message_id"], row["thread_id"] or place.thread_id))
    return posts


def build_lineage(db: sqlite_utils.Database, clip_id: str, viewer_user_id: str | None = None) -> LineageNode:
    """The tree from the clip's root; someone else's private clips in it keep their place but not their prompt,
    author or posts (core/clips/visibility.py)."""
    clip = jobstore.get_clip(db, clip_id, include_deleted=True)
    if clip is None or not visible(clip, viewer_user_id):
        raise UnknownClip(clip_id)
    root = clip
    seen = {root.id}
    while root.parent_clip_id and root.parent_clip_id not in seen:
        parent = jobstore.get_clip(db, root.parent_clip_id, include_deleted=True)
        if parent is None:
            break
        seen.add(parent.id)
        root = parent

    def node(record: ClipRecord, depth: int) -> LineageNode:
        children: tuple[LineageNode, ...] = ()
        if depth < 50:
            children = tuple(node(ClipRecord.from_row(r), depth + 1) for r in clips.children(db, record.id))
        shown = visible(record, viewer_user_id)
        return LineageNode(
            clip_id=record.id,
            kind=record.kind,
            prompt=record.prompt if shown else PRIVATE_CLIP,
            author=record.author if shown else "someone",
            created_at=record.created_at,
            posts=tuple(posts_of(db, record.id)) if shown else (),
            children=children,
            deleted=clips.is_deleted(db, record.id),
        )

    return node(root, 0)


def render_tree(tree: LineageNode, highlight: str | None = None) -> str:
    lines = []
    for depth, node in tree.walk():
        mark = " ◀" if node.clip_id == highlight else ""
        prompt = "(deleted)" if node.deleted else short(node.prompt, 60)
        verb = {"generate": "made", "remix": "remixed", "extend": "extended", "stitch": "stitched"}.get(
            node.kind, node.kind
        )
        lines.append(f"{'   ' * depth}{'└─ ' if depth else ''}`{node.clip_id}` {node.author} {verb}: {prompt}{mark}")
    return "\n".join(lines)
