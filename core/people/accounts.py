"""Local accounts of the web console: passwords, one-time sign-in links and sessions.

Passwords are hashed with scrypt (RFC 7914) from the standard library. Sign-in link tokens and
session ids are random and only their SHA-256 is stored, so a copy of the database signs nobody in.
The web adapter turns these into cookies and pages; the rules live here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from core.errors import SoraboxError
from core.identity import Actor
from core.jobs import store as jobstore
from core.records import iso, new_id
from storage import users, web_accounts
from storage.database import Database

PLATFORM = "web"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
# scrypt cost: 2**14 * 8 * 128 bytes = 16 MiB and ~50 ms a check on one core; the usual interactive setting.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
LINK_LIFETIME = timedelta(hours=24)
SESSION_LIFETIME = timedelta(days=14)
# Password guesses: this many wrong tries for one name from one client within the window lock that name, for that
# client, for the rest of it; a client that sprays names is stopped after CLIENT_SIGNIN_TRIES wrong tries in all.
# Per client, so that a stranger cannot lock someone else (the admin, say) out of their own account.
SIGNIN_TRIES = 5
CLIENT_SIGNIN_TRIES = 20
SIGNIN_WINDOW = timedelta(minutes=5)


class AccountError(SoraboxError):
    """An account request that cannot be done (bad name, taken name, weak password)."""


class SigninLocked(AccountError):
    """Too many wrong passwords for a name lately: no password is checked for it until the window passes."""

    def __init__(self) -> None:
        super().__init__("too many wrong passwords for this name; wait a few minutes")


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    is_admin: bool
    has_password: bool
    created_at: str

    @property
    def actor(self) -> Actor:
        """How the core sees this person: platform "web", the account id, service admin or not."""
        return Actor(platform=PLATFORM, user_id=self.id, display_name=self.name, is_admin=self.is_admin)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Account:
        return cls(row["id"], row["name"], bool(row["is_admin"]), bool(row["password_hash"]), row["created_at"])


@dataclass(frozen=True)
class FirstStart:
    """Whether the console still waits for its first sign-in, and until when an admin link handed out works."""

    waiting: bool  # nobody has ever signed in (no session row, live or ended)
    link_valid_until: str | None  # the latest expiry of an unused, unexpired admin link; None when none works


@dataclass(frozen=True)
class Session:
    """A signed-in browser: `id` goes into the cookie, `csrf_token` into every state-changing request."""

    id: str
    csrf_token: str
    account: Account
    expires_at: str


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash`, base64 parts: the parameters travel with the hash so they can be raised later."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signin_key(name: str) -> str:
    """Failures are counted per name as typed, trimmed and lowercased, for names with no account too (so
    guessing does not tell which names exist); only a digest is stored, since the name field sometimes
    holds a password typed in the wrong box."""
    return _sha256(name.strip().lower())


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise AccountError(
            "a name has 2 to 32 letters, digits, dots, dashes or underscores, and starts with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("a password may have at most 1024 characters")
    return password


def _account(db: sqlite_utils.Database, account_id: str) -> Account | None:
    row = web_accounts.active(db, account_id)
    return None if row is None else Account.from_row(row)


def _by_name(db: sqlite_utils.Database, name: str) -> Account | None:
    row = web_accounts.active_by_name(db, name.strip())
    return None if row is None else Account.from_row(row)


class Accounts:
    """The web console's accounts over the service database."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock

    # -- accounts ---------------------------------------------------------------------------------

    async def count(self) -> int:
        return await self.db.read(web_accounts.count)

    async def create(self, name: str, password: str | None = None, is_admin: bool = False) -> Account:
        """A new account; raises AccountError when the name is taken or the password too short."""
        name = check_name(name)
        hashed = hash_password(check_password(password)) if password is not None else None
        now = self.clock()

        def apply(db: sqlite_utils.Database) -> Account:
            if _by_name(db, name) is not None:
                raise AccountError(f"the name {name} is taken")
            account_id = new_id()
            web_accounts.add(
                db,
                {
                    "id": account_id,
                    "name": name,
                    "password_hash": hashed,
                    "is_admin": int(is_admin),
                    "created_at": iso(now),
                },
            )
            account = _account(db, account_id)
            assert account is not None
            self._register(db, account, now)
            return account

        return await self.db.write(apply)

    def _register(self, db: sqlite_utils.Database, account: Account, now: datetime) -> None:
        # The core's user for this account exists from the start, so service-admin rights hold at once.
        user_id = jobstore.user_for(db, account.actor, now)
        if account.is_admin:
            users.set_admin(db, user_id)
        jobstore.audit(db, "web_account_created", now, user_id=user_id, name=account.name, admin=account.is_admin)

    async def ensure(self, name: str, is_admin: bool = False) -> Account:
        """The account with this name, created (without a password) when missing; `is_admin` promotes it."""
        name = check_name(name)
        now = self.clock()

        def apply(db: sqlite_utils.Database) -> Account:
            account = _by_name(db, name)
            if account is None:
                account_id = new_id()
                web_accounts.add(
                    db, {"id": account_id, "name": name, "is_admin": int(is_admin), "created_at": iso(now)}
                )
                account = _account(db, account_id)
                assert account is not None
                self._register(db, account, now)
            elif is_admin and not account.is_admin:
                web_accounts.promote(db, account.id)
                account = _account(db, account.id)
                assert account is not None
                self._register(db, account, now)
            return account

        return await self.db.write(apply)

    async def get(self, account_id: str) -> Account | None:
        return await self.db.read(lambda db: _account(db, account_id))

    async def by_name(self, name: str) -> Account | None:
        return await self.db.read(lambda db: _by_name(db, name))

    async def all(self) -> list[Account]:
        return await self.db.read(lambda db: [Account.from_row(r) for r in web_accounts.all_active(db)])

    async def set_password(
        self, account_id: str, password: str, *, current: str | None = None, keep_session: str | None = None
    ) -> None:
        """Set a new password. An account that has one must give it (`current`), so a session left open on a
        shared computer cannot take the account over; every other session of the account ends."""
        hashed = hash_password(check_password(password))
        now = self.clock()
        stored = await self.db.read(lambda db: web_accounts.password_hash(db, account_id))
        if stored is not None and not verify_password(current or "", stored):
            raise AccountError("your current password is not right")
        kept = _sha256(keep_session) if keep_session else ""

        def apply(db: sqlite_utils.Database) -> None:
            web_accounts.set_password(db, account_id, hashed)
            web_accounts.end_other_sessions(db, account_id, kept, iso(now))
            jobstore.audit(db, "web_password_set", now, account_id=account_id)

        await self.db.write(apply)

    async def check_password(self, name: str, password: str) -> Account | None:
        """The account when name and password match; None otherwise (the same answer for either mistake)."""
        row = await self.db.read(lambda db: web_accounts.active_by_name(db, name.strip()))
        if row is None or not row["password_hash"]:
            # Hash anyway so a missing name takes as long as a wrong password.
            verify_password(password, hash_password("not-a-password", b"0" * 16))
            return None
        return Account.from_row(row) if verify_password(password, row["password_hash"]) else None

    async def sign_in_with_password(self, name: str, password: str, client: str = "") -> Account | None:
        """`check_password`, limited to SIGNIN_TRIES wrong passwords per name and client (its address) within
        SIGNIN_WINDOW, and CLIENT_SIGNIN_TRIES per client in all.

        Raises SigninLocked while the name is locked for this client (even for the right password); other clients
        may still sign in. Failures are kept in the database, so restarting the service does not hand out fresh
        tries; a success clears this client's failures for the name.
        """
        key = _signin_key(name)
        who = _sha256(client) if client else ""
        now = self.clock()

        def count_this_try(db: sqlite_utils.Database) -> None:
            # Old rows of every name go here, so the table holds at most one window of failures.
            web_accounts.prune_failures(db, iso(now - SIGNIN_WINDOW))
            for name_key, limit in ((key, SIGNIN_TRIES), (None, CLIENT_SIGNIN_TRIES)):
                if web_accounts.failures(db, who, name_key) >= limit:
                    raise SigninLocked()
            # Counted as a failure before the hash is checked: guesses sent in parallel each see the
            # ones before them, so none slips past the limit while another's scrypt runs.
            web_accounts.add_failure(db, key, who, iso(now))

        await self.db.write(count_this_try)
        account = await self.check_password(name, password)
        if account is not None:
            await self.db.write(lambda db: web_accounts.clear_failures(db, key, who))
        return account

    # -- one-time sign-in links -------------------------------------------------------------------

    async def first_start(self) -> FirstStart:
        """What start-up needs to decide whether to hand out a new first sign-in link."""
        now = iso(self.clock())

        def load(db: sqlite_utils.Database) -> FirstStart:
            signed_in = web_accounts.any_session(db)
            return FirstStart(not signed_in, web_accounts.admin_link_valid_until(db, now))

        return await self.db.read(load)

    async def issue_link_token(self, account_id: str, lifetime: timedelta = LINK_LIFETIME) -> str:
        """A token that signs the account in once within `lifetime`."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        row = {
            "token_sha256": _sha256(token),
            "account_id": account_id,
            "created_at": iso(now),
            "expires_at": iso(now + lifetime),
        }
        await self.db.write(lambda db: web_accounts.add_link(db, row))
        return token

    async def peek_link_token(self, token: str) -> Account | None:
        """Whose link this is, without using it (to show "sign in as Ana?")."""
        now = iso(self.clock())

        def load(db: sqlite_utils.Database) -> Account | None:
            account_id = web_accounts.link_account(db, _sha256(token), now)
            return None if account_id is None else _account(db, account_id)

        return await self.db.read(load)

    async def redeem_link_token(self, token: str) -> Account | None:
        """Use a link: the account once, None when the token is unknown, used or expired."""
        now = iso(self.clock())

        def apply(db: sqlite_utils.Database) -> Account | None:
            # Single use, even for two requests at once: see storage/web_accounts.py.
            account_id = web_accounts.use_link(db, _sha256(token), now)
            return None if account_id is None else _account(db, account_id)

        return await self.db.write(apply)

    # -- sessions ---------------------------------------------------------------------------------

    async def start_session(self, account: Account, lifetime: timedelta = SESSION_LIFETIME) -> Session:
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        expires = iso(now + lifetime)
        row = {
            "id_sha256": _sha256(session_id),
            "account_id": account.id,
            "csrf_token": csrf,
            "created_at": iso(now),
            "expires_at": expires,
        }

        def apply(db: sqlite_utils.Database) -> None:
            web_accounts.add_session(db, row)
            jobstore.audit(db, "web_signed_in", now, account_id=account.id, name=account.name)

        await self.db.write(apply)
        return Session(session_id, csrf, account, expires)

    async def session(self, session_id: str) -> Session | None:
        """The live session with this id and its account, or None (unknown, ended, expired, account disabled)."""
        now = iso(self.clock())

        def load(db: sqlite_utils.Database) -> Session | None:
            row = web_accounts.live_session(db, _sha256(session_id), now)
            if row is None:
                return None
            account = _account(db, row["account_id"])
            return None if account is None else Session(session_id, row["csrf_token"], account, row["expires_at"])

        return await self.db.read(load)

    async def end_session(self, session_id: str) -> None:
        now = iso(self.clock())
        await self.db.write(lambda db: web_accounts.end_session(db, _sha256(session_id), now))
