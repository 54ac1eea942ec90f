"""Where things are said in the console, as the core sees it: an inbox is a private chat, a shared thread is in the
console's one community."""

from __future__ import annotations

from core.console.threads import Thread
from core.identity import Place
from core.people.accounts import PLATFORM, Account

# The console is one community: every shared thread belongs to it (its Places carry this as their guild), so a
# cameo shared with "my community" here may be used in any shared thread, and in no inbox and no other platform.
COMMUNITY_ID = "console"
COMMUNITY_PLACE = Place(PLATFORM, COMMUNITY_ID, guild_id=COMMUNITY_ID)


def private_place(account: Account) -> Place:
    """The person's private inbox thread: where the core sends them notices (someone used their cameo)."""
    return Place(PLATFORM, account.id, is_private=True)


def thread_place(thread: Thread, reply_to: str | None = None) -> Place:
    """Where a line typed in `thread` is said: an inbox is a private chat, a shared thread is in the community."""
    if thread.owner_account_id is not None:
        return Place(PLATFORM, thread.id, reply_to=reply_to, is_private=True)
    return Place(PLATFORM, thread.id, guild_id=COMMUNITY_ID, reply_to=reply_to)
