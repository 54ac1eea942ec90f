"""How answers name a person, and which words name one: by handle, never by display name (#16 finding 10).

A display name is whatever someone types into their profile, so anyone can take another person's; a handle (a
Telegram @username, a web console account name) belongs to one account at a time, and `platform:id` names an
account exactly. Answers say the handle (`@bob`) or, where none is known, the display name with its platform
(`telegram user Bob`), so an impostor's "Bob" is never taken for the real one, and never a raw account id.
"""

from __future__ import annotations

import sqlite_utils

from core.people.handles import normalize
from storage import handles, users, web_accounts

WEB = "web"


def handle_of(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> str | None:
    """The account's handle: its console name on the web, the @username it showed last elsewhere."""
    if platform == WEB:
        row = web_accounts.active(db, platform_user_id)
        return None if row is None else str(row["name"])
    return handles.of_account(db, platform, platform_user_id)


def account_with_handle(db: sqlite_utils.Database, platform: str, handle: str) -> str | None:
    """The account (platform id) that holds `handle` on `platform`, or None."""
    if platform == WEB:
        row = web_accounts.active_by_name(db, handle.strip().lstrip("@"))
        return None if row is None else str(row["id"])
    row = handles.holder(db, platform, normalize(handle))
    return None if row is None else str(row["platform_user_id"])


def by_name(platform: str, display_name: str) -> str:
    return f"{platform} user {display_name}"


def account_label(db: sqlite_utils.Database, platform: str, platform_user_id: str, display_name: str = "") -> str:
    """`@handle`, else `<platform> user <display name>`, else `a <platform> account I have not seen yet`."""
    handle = handle_of(db, platform, platform_user_id)
    if handle:
        return f"@{handle}"
    if not display_name:
        row = users.identity(db, platform, platform_user_id)
        display_name = str(row["display_name"] or "") if row is not None else ""
    if display_name and display_name != platform_user_id:
        return by_name(platform, display_name)
    return f"a {platform} account I have not seen yet"


def user_label(db: sqlite_utils.Database, user_id: str) -> str:
    """A user by their most recent platform account that has a handle, else by their most recent one."""
    identities = list(reversed(users.identities_of(db, user_id)))
    for identity in identities:
        handle = handle_of(db, identity["platform"], identity["platform_user_id"])
        if handle:
            return f"@{handle}"
    if identities:
        newest = identities[0]
        return account_label(db, newest["platform"], newest["platform_user_id"], newest["display_name"] or "")
    return "someone"
