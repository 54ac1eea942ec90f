"""One person, several platforms: `link`, `link <code>`, `links` and `unlink <platform>`.

Each platform account (an identity) maps to a user. `link` gives the asker a one-time code; sending
`link <code>` from another account joins that account to the asker's user, merging its history in the
same transaction (core/merge.py). Whoever redeems a code joins the code's owner, with their credits,
clips and cameos, so codes are shown and typed only where nobody else reads along, are stored hashed,
last ten minutes, work once, and wrong tries are limited per account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlite_utils

from core.commands import Limits
from core.errors import BadCommand
from core.identity import Actor, Place
from core.jobs import store as jobstore
from core.people import names
from core.records import Reply, iso
from storage import jobs, links, users
from storage.merge import merge_users

if TYPE_CHECKING:
    from core.service import Sorabox

# No 0/O, 1/I/L: a code is read on one screen and typed on another.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=10)
# 31**8 codes, at most MAX_WRONG_TRIES guesses per account per window: guessing a live code is hopeless.
MAX_WRONG_TRIES = 5
WRONG_TRY_WINDOW = timedelta(minutes=10)
# The operator's terminal is private by nature; everything else must say so (a DM, an inbox, an ephemeral answer).
ALWAYS_PRIVATE = ("cli",)

LINK_USAGE = "link [code]"
LINKS_USAGE = "links"
UNLINK_USAGE = "unlink <platform>"
NOT_HERE = (
    "send `link` to me in a private chat: whoever has the code can join your account "
    "(on Discord the `/link` answer is visible only to you)"
)


@dataclass(frozen=True)
class Link:
    code: str = ""  # empty: ask for a code


@dataclass(frozen=True)
class Links:
    pass


@dataclass(frozen=True)
class Unlink:
    platform: str


@dataclass(frozen=True)
class LinkedAccount:
    platform: str
    platform_user_id: str
    display_name: str
    linked_at: str


@dataclass(frozen=True)
class _Outcome:
    """What a redemption did, returned from the write so a refusal still commits its counted try."""

    ok: bool
    text: str


def normalise_code(text: str) -> str:
    """`abcd-efgh`, `ABCD EFGH` -> `ABCDEFGH`: people copy codes with their own spacing and case."""
    return "".join(ch for ch in text.upper() if ch not in " -_")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def parse_link(rest: str, limits: Limits) -> Link:
    words = rest.split()
    if len(words) > 2:  # "ABCD EFGH" is one code typed with a space
        raise BadCommand(f"usage: {LINK_USAGE}")
    code = normalise_code(" ".join(words))
    if code and (len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code)):
        raise BadCommand(f"a link code is {CODE_LENGTH} letters and digits, like `K7QM3XPA`")
    return Link(code)


def parse_links(rest: str, limits: Limits) -> Links:
    if rest.strip():
        raise BadCommand("`links` takes no arguments")
    return Links()


def parse_unlink(rest: str, limits: Limits) -> Unlink:
    words = rest.split()
    if len(words) != 1:
        raise BadCommand(f"usage: {UNLINK_USAGE}, e.g. `unlink discord`")
    return Unlink(words[0].lower())


def is_private(place: Place) -> bool:
    return place.is_private or place.platform in ALWAYS_PRIVATE


def linked_accounts(db: sqlite_utils.Database, user_id: str) -> list[LinkedAccount]:
    # Named by display name with the platform (`telegram (Ana)`), else by handle; never by a raw account id.
    return [
        LinkedAccount(
            r["platform"],
            r["platform_user_id"],
            r["display_name"] or _handle(db, r["platform"], r["platform_user_id"]),
            r["created_at"],
        )
        for r in users.identities_of(db, user_id)
    ]


def _handle(db: sqlite_utils.Database, platform: str, platform_user_id: str) -> str:
    handle = names.handle_of(db, platform, platform_user_id)
    return f"@{handle}" if handle else "no name shown"


def _describe(accounts: list[LinkedAccount]) -> str:
    return ", ".join(f"{a.platform} ({a.display_name})" for a in accounts)


def wrong_tries(db: sqlite_utils.Database, actor: Actor, now: datetime) -> int:
    return links.wrong_tries_since(db, actor.platform, actor.user_id, iso(now - WRONG_TRY_WINDOW))


def _wrong(db: sqlite_utils.Database, actor: Actor, now: datetime, text: str) -> _Outcome:
    links.add_wrong_try(db, actor.platform, actor.user_id, iso(now), forget_before=iso(now - WRONG_TRY_WINDOW))
    return _Outcome(False, text)


def issue_code(db: sqlite_utils.Database, actor: Actor, now: datetime) -> str:
    """A fresh code for the actor's user; any earlier unused code of theirs stops working."""
    user_id = jobstore.user_for(db, actor, now)
    code = new_code()
    links.replace_code(
        db,
        {
            "code_sha256": code_digest(code),
            "user_id": user_id,
            "platform": actor.platform,
            "platform_user_id": actor.user_id,
            "created_at": iso(now),
            "expires_at": iso(now + CODE_LIFETIME),
        },
    )
    jobstore.audit(db, "link_code_issued", now, user_id=user_id, platform=actor.platform)
    return code


def redeem_code(db: sqlite_utils.Database, actor: Actor, place: Place, code: str, now: datetime) -> _Outcome:
    """Join the actor's account to the code's user, merging the account's history; one transaction."""
    if wrong_tries(db, actor, now) >= MAX_WRONG_TRIES:
        minutes = int(WRONG_TRY_WINDOW.total_seconds() // 60)
        return _Outcome(False, f"too many wrong link codes; try again in {minutes} minutes")
    row = links.code(db, code_digest(code))
    if row is None:
        return _wrong(db, actor, now, "that link code is not right; check it, or send `link` on your other account")
    if row["used_at"] is not None:
        return _wrong(db, actor, now, "that link code was already used; send `link` on your other account again")
    if row["expires_at"] <= iso(now):
        return _wrong(db, actor, now, "that link code has expired (codes last 10 minutes); send `link` again")
    if (row["platform"], row["platform_user_id"]) == (actor.platform, actor.user_id):
        return _Outcome(False, "send this code from your other account, not from the one that asked for it")
    if not is_private(place):
        # Others have seen it now: burn it, so nobody else can join the person's account with it.
        links.use_code(db, row["code_sha256"], iso(now))
        return _Outcome(False, "that code was shown where others can see it, so I cancelled it; " + NOT_HERE)
    into = str(row["user_id"])
    source = jobstore.existing_user(db, actor)
    if source == into:
        return _Outcome(False, "this account is already linked to that one")
    theirs = linked_accounts(db, into)
    mine = linked_accounts(db, source) if source else [LinkedAccount(actor.platform, actor.user_id, "", "")]
    clash = {a.platform for a in theirs} & {a.platform for a in mine}
    if clash:
        return _Outcome(
            False,
            f"you can link one account per platform: that person already has a {'/'.join(sorted(clash))} account"
            " (`unlink <platform>` there first)",
        )
    if source is None:
        # A new account: nothing to merge, it simply becomes one more identity of the person.
        users.add_identity(db, actor.platform, actor.user_id, into, actor.display_name, iso(now))
    elif jobs.has_active(db, source):
        # A running job keeps its user id in memory and would file its clip under the merged-away user.
        return _Outcome(False, "this account has clips being made; link it once they are done (or `cancel` them)")
    else:
        merge_users(db, into=into, source=source)
    links.use_code(db, row["code_sha256"], iso(now))
    jobstore.audit(db, "accounts_linked", now, user_id=into, platform=actor.platform)
    accounts = linked_accounts(db, into)
    return _Outcome(True, f"linked: {_describe(accounts)} are now one person here, with one set of credits and clips")


def unlink_account(db: sqlite_utils.Database, actor: Actor, platform: str, now: datetime) -> _Outcome:
    """Detach the person's account on `platform`: it starts fresh, the data stays with the other accounts."""
    user_id = jobstore.existing_user(db, actor)
    accounts = linked_accounts(db, user_id) if user_id else []
    if len(accounts) < 2:
        return _Outcome(False, "this account is not linked to any other")
    assert user_id is not None
    if platform not in {a.platform for a in accounts}:
        return _Outcome(False, f"no {platform[:32]} account is linked; linked: {_describe(accounts)}")
    # Notices must no longer reach the detached account's private chat either.
    users.detach_identity(db, user_id, platform)
    jobstore.audit(db, "account_unlinked", now, user_id=user_id, platform=platform)
    left = linked_accounts(db, user_id)
    return _Outcome(
        True,
        f"unlinked your {platform} account: it starts fresh (what it used today still counts); "
        f"your clips and credits stay with {_describe(left)}",
    )


class Linking:
    """The commands, installed on a core by `install`."""

    def __init__(self, core: Sorabox) -> None:
        self.core = core

    async def handle(self, actor: Actor, place: Place, command: Link | Links | Unlink) -> Reply:
        if isinstance(command, Links):
            return await self.accounts(actor)
        if isinstance(command, Unlink):
            return await self.unlink(actor, command.platform)
        if command.code:
            return await self.redeem(actor, place, command.code)
        return await self.ask(actor, place)

    async def ask(self, actor: Actor, place: Place) -> Reply:
        if not is_private(place):
            return Reply(NOT_HERE, ok=False)
        code = await self.core.db.write(lambda db: issue_code(db, actor, self.core.now()))
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        return Reply(
            f"on your other account, send `link {code}` (works once, for {minutes} minutes; "
            "don't show it to anyone: whoever sends it joins your account)",
            data={"code": code},
        )

    async def redeem(self, actor: Actor, place: Place, code: str) -> Reply:
        outcome = await self.core.db.write(lambda db: redeem_code(db, actor, place, code, self.core.now()))
        return Reply(outcome.text, ok=outcome.ok)

    async def unlink(self, actor: Actor, platform: str) -> Reply:
        outcome = await self.core.db.write(lambda db: unlink_account(db, actor, platform, self.core.now()))
        return Reply(outcome.text, ok=outcome.ok)

    async def accounts(self, actor: Actor) -> Reply:
        def read(db: sqlite_utils.Database) -> list[LinkedAccount]:
            user_id = jobstore.existing_user(db, actor)
            return linked_accounts(db, user_id) if user_id else []

        accounts = await self.core.db.read(read)
        if len(accounts) < 2:
            return Reply("only this account; send `link` to join your account on another platform")
        return Reply(
            f"your linked accounts: {_describe(accounts)}",
            data={"accounts": [(a.platform, a.display_name) for a in accounts]},
        )


def install(core: Sorabox) -> Linking:
    linking = Linking(core)
    core.register_command("link", parse_link, Link, linking.handle, LINK_USAGE)
    core.register_command("links", parse_links, Links, linking.handle, LINKS_USAGE)
    core.register_command("unlink", parse_unlink, Unlink, linking.handle, UNLINK_USAGE)
    return linking
