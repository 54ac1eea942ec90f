"""After signing in, the browser goes to a page of this console and nowhere else."""

from __future__ import annotations

import pytest

from bots.web.auth import local_path
from tests.web.helpers import form_csrf, served_console

LEAVING = [
    "/\t/evil.example",  # the issue's /signin?next=%2F%09%2Fevil.example: the browser drops the tab
    "/\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " /threads",
    "",
]


@pytest.mark.parametrize("next_path", LEAVING, ids=repr)
def test_a_next_that_could_leave_the_site_falls_back(next_path: str) -> None:
    assert local_path(next_path, default="/threads") == "/threads"


@pytest.mark.parametrize("next_path", ["/quota", "/threads/k3f9x2ab?tab=clips#latest", "/%09/stays-here"])
def test_a_local_next_is_kept(next_path: str) -> None:
    assert local_path(next_path, default="/threads") == next_path


async def test_signing_in_with_a_tab_smuggled_into_next_stays_on_the_console(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        await served.console.accounts.create("ana", "a long enough password")
        browser = served.client()
        await browser.start_server()
        csrf = form_csrf(await (await browser.get("/signin?next=%2F%09%2Fevil.example")).text())
        signed = await browser.post(
            "/signin",
            data={"csrf": csrf, "name": "ana", "password": "a long enough password", "next": "/\t/evil.example"},
            allow_redirects=False,
        )
        assert signed.status == 302 and signed.headers["Location"] == "/threads"
        await browser.close()
