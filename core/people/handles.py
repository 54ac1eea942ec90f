"""Platform handles (a Telegram @username) and the account behind each, kept across restarts.

Some platforms' mentions carry only a name (Telegram's `@bo`), while the core names people by account
(`telegram:123`). Adapters record the handle every person shows them; a lookup turns a mention back
into the account. Handles change hands: a handle belongs to whichever account showed it last, and an
account holds one handle per platform at a time (a renamed account loses its old name, which someone
else may claim next).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from core.records import iso
from storage import handles


@dataclass(frozen=True)
class HandleRecord:
    platform: str
    handle: str
    platform_user_id: str
    seen_at: str


def normalize(handle: str) -> str:
    """The stored form: no "@", no surrounding spaces, lowercased (Telegram usernames ignore case)."""
    return handle.strip().lstrip("@").lower()


def remember(db: sqlite_utils.Database, platform: str, handle: str, platform_user_id: str, now: datetime) -> None:
    """Record that `platform_user_id` shows `handle` now; the handle moves to it from any earlier holder."""
    key = normalize(handle)
    if not key:
        return
    # The account's previous name is no longer its own: left mapped, a mention of it would name the
    # wrong person once someone else takes it.
    handles.claim(db, platform, key, platform_user_id, iso(now))


def lookup(db: sqlite_utils.Database, platform: str, handle: str) -> HandleRecord | None:
    """Who holds `handle` on `platform`, or None if nobody has been seen with it."""
    row = handles.holder(db, platform, normalize(handle))
    return None if row is None else HandleRecord(**row)


def forget_account_handles(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> None:
    """Drop every handle of one account (the person asked to be forgotten)."""
    handles.drop_account(db, platform, platform_user_id)
