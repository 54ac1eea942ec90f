"""Accounts, one-time links and sessions against a real SQLite database with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from core.people.accounts import SIGNIN_TRIES, SIGNIN_WINDOW, AccountError, Accounts, SigninLocked
from storage.database import Database, one


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def accounts(tmp_path) -> AsyncIterator[tuple[Accounts, Clock]]:
    db = Database(tmp_path / "sorabox.db")
    clock = Clock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    try:
        yield Accounts(db, clock), clock
    finally:
        await db.aclose()


async def test_a_link_works_once_and_not_after_it_expires(accounts) -> None:
    store, clock = accounts
    ana = await store.create("ana")
    token = await store.issue_link_token(ana.id, timedelta(hours=1))
    assert (await store.peek_link_token(token)) == ana  # looking does not spend it
    assert (await store.redeem_link_token(token)) == ana
    assert await store.redeem_link_token(token) is None

    late = await store.issue_link_token(ana.id, timedelta(hours=1))
    clock.now += timedelta(hours=1, seconds=1)
    assert await store.peek_link_token(late) is None
    assert await store.redeem_link_token(late) is None


async def test_two_redemptions_of_one_link_at_once_sign_in_only_one(accounts) -> None:
    store, _ = accounts
    ana = await store.create("ana")
    token = await store.issue_link_token(ana.id)
    results = await asyncio.gather(*(store.redeem_link_token(token) for _ in range(8)))
    assert [r for r in results if r is not None] == [ana]


async def test_sessions_end_on_sign_out_and_on_expiry(accounts) -> None:
    store, clock = accounts
    ana = await store.create("ana", "a long enough password")
    session = await store.start_session(ana, timedelta(days=1))
    found = await store.session(session.id)
    assert found is not None and found.account == ana and found.csrf_token == session.csrf_token
    await store.end_session(session.id)
    assert await store.session(session.id) is None

    later = await store.start_session(ana, timedelta(days=1))
    clock.now += timedelta(days=1, seconds=1)
    assert await store.session(later.id) is None


async def test_only_digests_of_tokens_and_session_ids_are_stored(accounts) -> None:
    store, _ = accounts
    ana = await store.create("ana", "a long enough password")
    token = await store.issue_link_token(ana.id)
    session = await store.start_session(ana)

    def dump(db) -> str:
        rows = [*db.query("SELECT * FROM web_signin_links"), *db.query("SELECT * FROM web_sessions")]
        password = one(db, "SELECT password_hash FROM web_accounts")
        return repr(rows) + repr(password)

    stored = await store.db.read(dump)
    assert token not in stored and session.id not in stored
    assert "a long enough password" not in stored and "scrypt$" in stored


async def test_names_are_unique_regardless_of_case_and_passwords_have_a_minimum_length(accounts) -> None:
    store, _ = accounts
    await store.create("Ana")
    with pytest.raises(AccountError, match="taken"):
        await store.create("ana")
    with pytest.raises(AccountError, match="at least 10"):
        await store.create("bo", "short")
    with pytest.raises(AccountError, match="2 to 32"):
        await store.create("a b")
    assert (await store.by_name("ANA")) is not None


async def test_ensure_promotes_an_existing_account_and_makes_its_user_a_service_admin(accounts) -> None:
    store, _ = accounts
    bo = await store.ensure("bo")
    assert not bo.is_admin
    promoted = await store.ensure("bo", is_admin=True)
    assert promoted.id == bo.id and promoted.is_admin
    row = await store.db.read(
        lambda db: one(
            db,
            """SELECT u.is_admin FROM users u JOIN identities i ON i.user_id = u.id
               WHERE i.platform = 'web' AND i.platform_user_id = ?""",
            [bo.id],
        )
    )
    assert row is not None and row["is_admin"] == 1


async def _wrong_passwords(store: Accounts, name: str, count: int) -> None:
    for attempt in range(count):
        assert await store.sign_in_with_password(name, f"wrong guess number {attempt}") is None


async def test_login_lockout_survives_restart(tmp_path) -> None:
    path = tmp_path / "sorabox.db"
    clock = Clock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    db = Database(path)
    try:
        await Accounts(db, clock).create("ana", "a long enough password")
        await _wrong_passwords(Accounts(db, clock), "ana", SIGNIN_TRIES)
    finally:
        await db.aclose()

    # The service restarts: a new database connection and a new Accounts, nothing carried over in memory.
    clock.now += timedelta(minutes=1)
    db = Database(path)
    try:
        store = Accounts(db, clock)
        with pytest.raises(SigninLocked, match="too many wrong passwords for this name; wait a few minutes"):
            await store.sign_in_with_password(" ANA ", "a long enough password")  # even the right one waits
        assert await store.sign_in_with_password("bo", "some other guess") is None  # other names are not locked
        # A sliding window: once the first failures are older than it, the name may try again.
        clock.now += SIGNIN_WINDOW
        account = await store.sign_in_with_password("ana", "a long enough password")
        assert account is not None and account.name == "ana"
    finally:
        await db.aclose()


async def test_a_right_password_clears_the_names_failures(accounts) -> None:
    store, _ = accounts
    await store.create("ana", "a long enough password")
    await _wrong_passwords(store, "ana", SIGNIN_TRIES - 1)
    assert await store.sign_in_with_password("ana", "a long enough password") is not None
    # Cleared: a fresh set of tries, not one left.
    await _wrong_passwords(store, "ana", SIGNIN_TRIES - 1)
    assert await store.sign_in_with_password("ana", "a long enough password") is not None


async def test_failures_older_than_the_window_are_pruned(accounts) -> None:
    store, clock = accounts
    for name in ("ana", "bo", "cy"):
        await _wrong_passwords(store, name, 2)
    clock.now += SIGNIN_WINDOW + timedelta(seconds=1)
    await _wrong_passwords(store, "dee", 1)
    rows = await store.db.read(lambda db: list(db.query("SELECT name_sha256 FROM login_failures")))
    assert len(rows) == 1  # only the new failure: the table holds at most one window of them
    stored = rows[0]["name_sha256"]
    assert "dee" not in stored and len(stored) == 64  # a digest, not the name as typed


async def test_parallel_guesses_cannot_slip_past_the_limit(accounts) -> None:
    store, _ = accounts
    await store.create("ana", "a long enough password")

    async def guess(attempt: int) -> str:
        try:
            await store.sign_in_with_password("ana", f"parallel guess {attempt}")
        except SigninLocked:
            return "locked"
        return "wrong"

    outcomes = await asyncio.gather(*(guess(i) for i in range(SIGNIN_TRIES * 2)))
    assert outcomes.count("wrong") == SIGNIN_TRIES and outcomes.count("locked") == SIGNIN_TRIES
