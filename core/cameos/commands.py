"""The cameo commands' grammar: `cameo <action> ...` and `forgetme`, and who a `<user>` word names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from core.cameos.consent import (
    VISIBILITY,
    CameoError,
    normalise_handle,
)
from core.commands import Limits, clean_text
from core.errors import BadCommand
from core.identity import Actor
from core.jobs import store as jobstore
from core.people import names

if TYPE_CHECKING:
    pass


CAMEO_USAGE = (
    "cameo create <handle> [display name] (attach a 3–15 s video of yourself speaking) | cameo list | "
    "cameo settings [handle] | cameo who me|approved|community|everyone [--cameo handle] | "
    "cameo prefs <text>|clear [--cameo handle] | cameo allow <user> [--cameo handle] | "
    "cameo deny <user> [--cameo handle] | cameo revoke [handle] | cameo clips [handle] | cameo delete <handle>"
)

FORGET_USAGE = "forgetme [confirm]  (admins: forgetme <user> [confirm])"


@dataclass(frozen=True)
class CameoCommand:
    """`cameo <action> ...`: `target` is the user for allow/deny, `text` the preferences or display name."""

    action: str
    handle: str | None = None
    target: str | None = None
    level: str | None = None
    text: str = ""


@dataclass(frozen=True)
class ForgetMe:
    target: str | None = None
    confirm: bool = False


ACTIONS = ("create", "list", "settings", "who", "prefs", "allow", "deny", "revoke", "clips", "delete")


def parse_cameo(rest: str, limits: Limits) -> CameoCommand:
    """Parse the words after `cameo`; raises BadCommand naming the problem."""
    words = rest.split()
    handle: str | None = None
    if "--cameo" in words:
        at = words.index("--cameo")
        if at + 1 >= len(words):
            raise BadCommand("--cameo needs a handle")
        handle = _handle(words[at + 1])
        del words[at : at + 2]
    if not words:
        raise BadCommand(f"usage: {CAMEO_USAGE}")
    action, args = words[0].lower(), words[1:]
    if action not in ACTIONS:
        raise BadCommand(f"unknown cameo command `{action[:32]}`; usage: {CAMEO_USAGE}")
    if action == "create":
        if not args:
            raise BadCommand("usage: cameo create <handle> [display name], with your reference video attached")
        return CameoCommand("create", handle=_handle(args[0]), text=clean_text(" ".join(args[1:]), limits, "name"))
    if action in ("allow", "deny"):
        if len(args) != 1:
            raise BadCommand(f"usage: cameo {action} <user> [--cameo handle]")
        return CameoCommand(action, handle=handle, target=args[0])
    if action == "who":
        if len(args) != 1 or args[0].lower() not in VISIBILITY:
            raise BadCommand("usage: cameo who me|approved|community|everyone [--cameo handle]")
        return CameoCommand("who", handle=handle, level=args[0].lower())
    if action == "prefs":
        text = clean_text(" ".join(args), limits, "preferences")
        if not text:
            raise BadCommand(
                "usage: cameo prefs <text>, for example `cameo prefs always wearing a hat. nothing political`"
            )
        return CameoCommand("prefs", handle=handle, text="" if text.lower() == "clear" else text)
    if action == "list":
        return CameoCommand("list")
    # settings | revoke | clips | delete: an optional (for delete, required) handle.
    if len(args) > 1:
        raise BadCommand(f"usage: cameo {action} [handle]")
    if args:
        handle = _handle(args[0])
    if action == "delete" and handle is None:
        raise BadCommand("usage: cameo delete <handle>")
    return CameoCommand(action, handle=handle)


def parse_forget(rest: str, limits: Limits) -> ForgetMe:
    words = rest.split()
    confirm = bool(words) and words[-1].lower() == "confirm"
    if confirm:
        words = words[:-1]
    if len(words) > 1:
        raise BadCommand(f"usage: {FORGET_USAGE}")
    return ForgetMe(words[0] if words else None, confirm)


def _handle(word: str) -> str:
    try:
        return normalise_handle(word)
    except CameoError as exc:
        raise BadCommand(str(exc)) from None


# -- who a `<user>` word means -----------------------------------------------------------------------

_MENTION = re.compile(r"^<@!?(\d+)>$")
_QUALIFIED = re.compile(r"^([a-z]+):(\S+)$")


def resolve_user(db: sqlite_utils.Database, actor: Actor, word: str, now: datetime) -> tuple[str, str]:
    """(user id, how to name them) for `<@123>` (a Discord mention), `telegram:123`, or a handle (`@name`, `name`).

    A mention or a platform-qualified id names an account even if we have not seen it yet; a handle must be one
    an account on the actor's platform has shown us. A display name never matches: anyone can take one
    (core/people/names.py)."""
    mention = _MENTION.match(word)
    qualified = _QUALIFIED.match(word)
    if mention or qualified:
        platform, platform_id = (actor.platform, mention.group(1)) if mention else qualified.groups()  # type: ignore[union-attr]
    else:
        found = names.account_with_handle(db, actor.platform, word)
        if found is None:
            raise CameoError(
                f"I don't know anyone called {word[:40]} here yet; they need to use the bot once, or mention them"
            )
        platform, platform_id = actor.platform, found
    # No display name: the word is not one, and must not overwrite the name the account showed us.
    user_id = jobstore.user_for(db, Actor(platform, platform_id, ""), now)
    return user_id, names.account_label(db, platform, platform_id)
