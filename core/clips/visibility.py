"""Who may see and use a clip: the one rule every lookup of a clip by id or by lineage goes through.

A clip made in a private chat (a Telegram or Discord DM, a console inbox) belongs to its maker alone: nobody else can
remix, extend, reroll, stitch, delete or look it up by id, and in someone else's remix tree it shows as "a private
clip", without its prompt, its author or where it was posted. The console's gallery applies the same rule in SQL
(storage/web_threads.py); tests/trust/test_clip_visibility.py holds both to it.
"""

from __future__ import annotations

import sqlite_utils

from core.errors import UnknownClip
from core.identity import Actor
from core.jobs import store as jobstore
from core.records import ClipRecord

PRIVATE_CLIP = "a private clip"


def visible(clip: ClipRecord, viewer_user_id: str | None) -> bool:
    """Whether the person (their user id; None for nobody in particular) may see and use this clip."""
    return not clip.private or (viewer_user_id is not None and viewer_user_id == clip.user_id)


def viewer_of(db: sqlite_utils.Database, actor: Actor | None) -> str | None:
    return None if actor is None else jobstore.existing_user(db, actor)


def clip_for(db: sqlite_utils.Database, clip_id: str, actor: Actor | None) -> ClipRecord:
    """The clip, if this person may see it; UnknownClip otherwise, so a private clip's id does not even confirm it."""
    clip = jobstore.get_clip(db, clip_id)
    if clip is None or not visible(clip, viewer_of(db, actor)):
        raise UnknownClip(clip_id)
    return clip
