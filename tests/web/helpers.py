"""Shared pieces of the web console tests: a served console over a real core, sign-in, event streams."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.web import WebConsole
from core.extensions import JobExtension
from core.service import Sorabox
from core.settings import Settings
from tests.support import running_core

if TYPE_CHECKING:
    from core.cameos.service import Cameos


@dataclass
class Served:
    core: Sorabox
    console: WebConsole
    server: TestServer
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        """A new browser: its own cookie jar (closed with the console)."""
        client = TestClient(self.server)
        self.clients.append(client)
        return client


@asynccontextmanager
async def core_with(
    data_dir: Path, generator: object | None, cameos: bool, **overrides: object
) -> AsyncIterator[Sorabox]:
    """`running_core`, with cameos installed before the start when asked (as `sorabox serve` would)."""

    def features(settings: Settings, backend: str) -> tuple[Cameos, list[JobExtension]]:
        from core.cameos.service import cameo_features

        return cameo_features(settings, backend, provenance=False)

    async with running_core(data_dir, generator, features=features if cameos else None, **overrides) as core:
        yield core


@asynccontextmanager
async def served_console(
    data_dir: Path, generator: object | None = None, cameos: bool = False, **overrides: object
) -> AsyncIterator[Served]:
    async with core_with(data_dir, generator, cameos, **overrides) as core:
        app = web.Application()
        console = WebConsole(core, core.settings)
        console.setup(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        console.set_base_url(str(server.make_url("")).rstrip("/"))
        await console.start()
        served = Served(core, console, server)
        try:
            yield served
        finally:
            for client in served.clients:
                await client.close()
            await console.stop()
            await server.close()


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def page_csrf(html: str) -> str:
    match = re.search(r'data-csrf="([^"]*)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def sign_in_with_link(client: TestClient, url: str) -> None:
    """Open a one-time link and press its button, as a person would."""
    path = urlsplit(url).path
    page = await client.get(path)
    assert page.status == 200, await page.text()
    response = await client.post(path, data={"csrf": form_csrf(await page.text())}, allow_redirects=False)
    assert response.status == 302, await response.text()


async def signed_in(served: Served, name: str, admin: bool = False) -> TestClient:
    client = served.client()
    await client.start_server()
    await sign_in_with_link(client, await served.console.signin_link(name, admin=admin))
    return client


async def open_thread(client: TestClient) -> tuple[str, str]:
    """The thread a fresh sign-in lands in, and the page's CSRF token."""
    response = await client.get("/threads")
    assert response.status == 200
    thread_id = response.url.path.rsplit("/", 1)[-1]
    if not re.fullmatch(r"[a-z0-9]{8}", thread_id):
        match = re.search(r'href="/threads/([a-z0-9]{8})"', await response.text())
        assert match
        thread_id = match.group(1)
        response = await client.get(f"/threads/{thread_id}")
    return thread_id, page_csrf(await response.text())


async def eventually(probe: Any, expected: object, polls: int = 400) -> bool:
    """Whether the awaitable `probe()` returns `expected` within `polls` tries 50 ms apart (20 s by default)."""
    for _ in range(polls):
        if await probe() == expected:
            return True
        await asyncio.sleep(0.05)
    return False


class EventStream:
    """Reads server-sent events from an open response."""

    def __init__(self, response: Any) -> None:
        self.response = response

    async def next(self) -> dict[str, Any]:
        kind, data = "message", ""
        while True:
            line = (await self.response.content.readline()).decode()
            if line == "":
                raise AssertionError("the event stream ended")
            line = line.rstrip("\n")
            if line == "":
                if data:
                    event: dict[str, Any] = json.loads(data)
                    assert event["type"] == kind
                    return event
                kind = "message"
                continue
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data += line[6:]

    async def until(self, predicate: Any) -> dict[str, Any]:
        while True:
            event = await self.next()
            if predicate(event):
                return event
