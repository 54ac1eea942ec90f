"""Platform handles (a Telegram @username) mapped to the account that last showed them.

Telegram's @mentions carry only the name, while the core names people by account id; the adapter
records who it has seen under which name so that `cameo allow @bo` still resolves after a restart.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.table("platform_handles").create(
        {
            "platform": str,
            "handle": str,  # lowercased, without "@": Telegram usernames are case-insensitive
            "platform_user_id": str,  # the platform's account id (Actor.user_id), not users.id
            "seen_at": str,
        },
        pk=("platform", "handle"),  # one account per handle: whoever showed it last holds it
        not_null={"platform", "handle", "platform_user_id", "seen_at"},
    )
    # Renames and forgetme look rows up by account.
    db.table("platform_handles").create_index(["platform", "platform_user_id"])
