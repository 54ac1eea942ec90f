"""No one can lock another out of the console; a password change needs the password and ends other sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.people.accounts import CLIENT_SIGNIN_TRIES, SIGNIN_TRIES, AccountError, Accounts, SigninLocked
from storage.database import Database
from tests.web.helpers import form_csrf, served_console, signed_in

RIGHT = "a long enough password"


@pytest.fixture
async def store(tmp_path: Path):
    db = Database(tmp_path / "sorabox.db")
    try:
        yield Accounts(db)
    finally:
        await db.aclose()


async def test_wrong_passwords_from_one_client_do_not_lock_the_account_for_others(store: Accounts) -> None:
    await store.create("admin", RIGHT, is_admin=True)
    for attempt in range(SIGNIN_TRIES):
        assert await store.sign_in_with_password("admin", f"guess {attempt}", client="203.0.113.9") is None
    with pytest.raises(SigninLocked):
        await store.sign_in_with_password("admin", RIGHT, client="203.0.113.9")
    owner = await store.sign_in_with_password("admin", RIGHT, client="198.51.100.7")
    assert owner is not None and owner.name == "admin"


async def test_a_client_spraying_many_names_is_stopped(store: Accounts) -> None:
    for attempt in range(CLIENT_SIGNIN_TRIES):
        assert await store.sign_in_with_password(f"name{attempt}", "some guess here", client="203.0.113.9") is None
    with pytest.raises(SigninLocked):
        await store.sign_in_with_password("yet-another", "some guess here", client="203.0.113.9")
    assert await store.sign_in_with_password("yet-another", "some guess here", client="198.51.100.7") is None


async def test_changing_a_password_needs_the_current_one(store: Accounts) -> None:
    ana = await store.create("ana", RIGHT)
    with pytest.raises(AccountError, match="current password"):
        await store.set_password(ana.id, "a brand new password")
    with pytest.raises(AccountError, match="current password"):
        await store.set_password(ana.id, "a brand new password", current="not the password")
    await store.set_password(ana.id, "a brand new password", current=RIGHT)
    assert await store.check_password("ana", "a brand new password") is not None
    assert await store.check_password("ana", RIGHT) is None


async def test_a_first_password_needs_none_and_a_change_signs_out_every_other_session(tmp_path: Path) -> None:
    async with served_console(tmp_path) as served:
        laptop = await signed_in(served, "ana")  # signed in with a link: no password yet
        phone = await signed_in(served, "ana")
        page = await laptop.get("/account")
        assert 'name="current"' not in await page.text()
        first = await laptop.post(
            "/account/password",
            data={"csrf": form_csrf(await page.text()), "password": RIGHT, "again": RIGHT},
        )
        assert first.status == 200 and "your password is set" in await first.text()
        assert (await phone.get("/account", allow_redirects=False)).status == 302  # signed out

        page = await laptop.get("/account")
        assert 'name="current"' in await page.text()
        refused = await laptop.post(
            "/account/password",
            data={"csrf": form_csrf(await page.text()), "password": "x" * 12, "again": "x" * 12, "current": "wrong"},
        )
        assert refused.status == 400 and "current password is not right" in await refused.text()
        changed = await laptop.post(
            "/account/password",
            data={"csrf": form_csrf(await page.text()), "password": "x" * 12, "again": "x" * 12, "current": RIGHT},
        )
        assert changed.status == 200 and "signed out everywhere else" in await changed.text()
        assert (await laptop.get("/account")).status == 200  # this session stays
        await laptop.close()
        await phone.close()
