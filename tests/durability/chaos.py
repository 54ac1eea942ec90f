"""The chaos driver: mixed traffic from Telegram, Discord and the console while `sorabox serve` is SIGKILLed at
random moments and restarted; then an account of every request. Shared by tests/durability/test_chaos.py (a few
kills) and bench/chaos.py (a hundred and more).

What counts:
- lost: a request the platform handed over and sorabox acknowledged (a Telegram update, whose offset is only
  confirmed once kept; a deferred Discord interaction; a console POST that got its HTTP answer) with no answer at
  all in the end.
- duplicate: a request admitted as more than one job, or a clip posted more than once on a platform.
- not acknowledged: a Discord interaction the dying process never deferred (Discord itself tells the person the
  app did not respond) and a console POST whose connection the kill cut (the browser shows the error). These are
  the platform's own clear refusals, counted apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.durability.serving import discord_env, serve, tail, telegram_env
from tests.fakes.discord_server import FLAG_LOADING, FakeDiscord, FakeInteraction
from tests.fakes.telegram_server import FakeTelegram
from tests.web.helpers import form_csrf, page_csrf

KINDS = ("generate", "generate", "remix", "extend", "cancel", "cameo", "quota")
LINK = re.compile(r"one-time link: (\S+)")
JOB_ID = re.compile(r"\b([a-z0-9]{8})\b")


@dataclass
class Request:
    tag: str  # unique word in the request's prompt, to find its jobs and clips
    platform: str
    kind: str
    ref: Any = None  # Telegram message id, the FakeInteraction, the console's answer
    acknowledged: bool = True


@dataclass
class ChaosReport:
    kills: int = 0
    requests: int = 0
    by_platform: Counter[str] = field(default_factory=Counter)
    not_acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unbalanced: list[Any] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    jobs: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.kills} kills, {self.requests} requests ({dict(self.by_platform)}), jobs {dict(self.jobs)}, "
            f"not acknowledged by the platform {self.not_acknowledged}, lost {len(self.lost)}, "
            f"duplicates {len(self.duplicates)}, unbalanced {len(self.unbalanced)}, orphaned files "
            f"{len(self.orphaned)}, missing files {len(self.missing)}, {self.seconds:.0f} s"
        )

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.unbalanced or self.orphaned or self.missing)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Chaos:
    """One data folder, the two fake platforms, the console, and `sorabox serve` killed and started again."""

    def __init__(
        self,
        data: Path,
        telegram: FakeTelegram,
        discord: FakeDiscord,
        *,
        seed: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env`: more SORABOX_* variables for the service (another backend, more workers)."""
        self.env = env or {}
        self.data = data
        self.log = data / "serve.log"
        self.telegram = telegram
        self.discord = discord
        self.rng = random.Random(seed)
        self.port = free_port()
        self.service: subprocess.Popen[str] | None = None
        self.up = asyncio.Event()
        self.requests: list[Request] = []
        self.kills = 0
        self.tg_user = telegram.add_user("Tess", "tess")
        self.group = telegram.add_group("Chaos", [self.tg_user])
        self.web: aiohttp.ClientSession | None = None
        self.thread: tuple[str, str] | None = None  # console thread id, CSRF token
        self._n = 0

    # -- the service ------------------------------------------------------------------------------

    async def start(self) -> None:
        identifies, started = self.discord.identifies, time.monotonic()
        platforms = telegram_env(self.telegram.base_url, self.telegram.token)
        platforms |= discord_env(self.discord.api_base, self.discord.gateway_url, self.discord.token)
        self.service = serve(self.data, self.log, platforms | self.env, web_port=self.port)
        polled = lambda: any(c.method == "getUpdates" and c.at > started for c in self.telegram.calls)  # noqa: E731
        await self.discord.wait_until(
            lambda: (self.discord.identifies > identifies and polled()) or self.service_ended(), within=120
        )
        assert not self.service_ended(), tail(self.log)
        await self.discord.wait_ready(within=60)
        await self._console_ready()
        self.up.set()

    def service_ended(self) -> bool:
        return self.service is not None and self.service.poll() is not None

    async def kill(self) -> None:
        assert self.service is not None
        self.up.clear()
        self.service.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.service.wait, 10)
        self.kills += 1
        # A killed bot cuts its open requests: the fakes see dropped connections, as the platforms would.
        self.telegram.server_errors[:] = [e for e in self.telegram.server_errors if not isinstance(e, ConnectionError)]
        self.discord.server_errors[:] = [e for e in self.discord.server_errors if "Connection" not in str(e)]

    async def stop(self) -> None:
        if self.service is not None and not self.service_ended():
            self.service.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(self.service.wait, 60)
            assert code == 0, tail(self.log)
        if self.web is not None:
            await self.web.close()

    async def _console_ready(self) -> None:
        base = f"http://127.0.0.1:{self.port}"
        if self.web is None:
            self.web = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(240):
            with contextlib.suppress(aiohttp.ClientError):
                async with self.web.get("/threads", allow_redirects=False) as probe:
                    if probe.status in (200, 302, 303):
                        break
            await asyncio.sleep(0.25)
        if self.thread is None:
            found = LINK.findall(tail(self.log, 10**9))
            assert found, "serve printed no first-start link"
            path = aiohttp.helpers.URL(found[-1]).path
            async with self.web.get(path) as page:
                csrf = form_csrf(await page.text())
            async with self.web.post(path, data={"csrf": csrf}, allow_redirects=False) as signed:
                assert signed.status == 302, await signed.text()
        async with self.web.get("/threads") as page:
            html, url = await page.text(), page.url
        thread_id = url.path.rsplit("/", 1)[-1]
        if not re.fullmatch(r"[a-z0-9]{8}", thread_id):
            match = re.search(r'href="/threads/([a-z0-9]{8})"', html)
            assert match, "the console shows no thread"
            thread_id = match.group(1)
            async with self.web.get(f"/threads/{thread_id}") as page:
                html = await page.text()
        self.thread = (thread_id, page_csrf(html))

    # -- traffic ----------------------------------------------------------------------------------

    def _tag(self) -> str:
        self._n += 1
        return f"req{self._n:04d}x"

    def _some(self, sql: str) -> str | None:
        """A random id from the service's database (read only), or None."""
        with contextlib.closing(sqlite3.connect(f"file:{self.data / 'sorabox.db'}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 2000")
            try:
                rows = [r[0] for r in db.execute(sql)]
            except sqlite3.Error:
                return None
        return self.rng.choice(rows) if rows else None

    def _text(self, kind: str, tag: str) -> str:
        clip = self._some("SELECT id FROM clips WHERE deleted_at IS NULL") if kind in ("remix", "extend") else None
        if kind == "remix" and clip:
            return f"remix {clip} {tag} at night"
        if kind == "extend" and clip:
            return f"extend {clip} --seconds 1 {tag} keeps going"
        if kind == "cancel":
            job = self._some("SELECT id FROM jobs")
            return f"cancel {job or 'zzzzzzzz'}"
        if kind == "cameo":
            return f"sora {tag} @nobody_{tag} dances --seconds 1 --size 160x96"
        if kind == "quota":
            return "quota"
        return f"sora {tag} a ball bounces --seconds 1 --size 160x96"

    async def send_one(self) -> Request:
        kind = self.rng.choice(KINDS)
        tag = self._tag()
        text = self._text(kind, tag)
        # Discord interactions reach only a connected bot: while it is down, Telegram keeps updates and a person
        # retries in the console, so those two are sent at any moment.
        platform = self.rng.choice(["telegram", "discord", "console"] if self.up.is_set() else ["telegram"])
        request = Request(tag, platform, kind)
        if platform == "telegram":
            message = self.telegram.send_text(self.group, self.tg_user, "/" + text)
            request.ref = message["message_id"]
        elif platform == "discord":
            request.ref = await self._invoke(text)
        else:
            request.ref, request.acknowledged = await self._say(text)
        self.requests.append(request)
        return request

    async def _invoke(self, text: str) -> FakeInteraction:
        fake, owner = self.discord, self.discord.owner
        name, _, rest = text.partition(" ")
        if name == "sora":
            return await fake.invoke_command("sora", user=owner, prompt=rest.split(" --")[0], seconds=3)
        if name == "remix":
            clip, _, prompt = rest.partition(" ")
            return await fake.invoke_command("remix", user=owner, clip=clip, prompt=prompt)
        if name == "extend":
            clip, _, prompt = rest.partition(" ")
            return await fake.invoke_command(
                "extend", user=owner, clip=clip, seconds=3, prompt=prompt.split(" ", 2)[-1]
            )
        if name == "cancel":
            return await fake.invoke_command("cancel", user=owner, job=rest)
        return await fake.invoke_command("quota", user=owner)

    async def _say(self, text: str) -> tuple[Any, bool]:
        assert self.web is not None and self.thread is not None
        thread_id, csrf = self.thread
        try:
            async with self.web.post(
                f"/api/threads/{thread_id}/messages", json={"text": text}, headers={"X-CSRF-Token": csrf}
            ) as answer:
                return (answer.status, await answer.text()), answer.status == 200
        except (TimeoutError, aiohttp.ClientError) as exc:
            return repr(exc), False

    async def steady(self, requests: int, gap: tuple[float, float] = (0.1, 0.8)) -> None:
        """Send traffic with no kills (the storms: the platforms fail, the service does not)."""
        if not self.up.is_set():
            await self.start()
        for _ in range(requests):
            await self.send_one()
            await asyncio.sleep(self.rng.uniform(*gap))

    async def run(self, *, kills: int, requests_per_kill: int = 4, gap: tuple[float, float] = (0.05, 0.6)) -> None:
        """Send traffic, killing the service after a random part of each round, `kills` rounds."""
        await self.start()
        for _ in range(kills):
            kill_after = self.rng.randint(0, requests_per_kill)
            for i in range(requests_per_kill):
                if i == kill_after:
                    await asyncio.sleep(self.rng.uniform(0, 0.3))
                    await self.kill()
                    restart = asyncio.create_task(self.start())
                await self.send_one()
                await asyncio.sleep(self.rng.uniform(*gap))
            if kill_after == requests_per_kill:
                await self.kill()
                restart = asyncio.create_task(self.start())
            await restart

    # -- the account ------------------------------------------------------------------------------

    async def settle(self, within: float) -> None:
        """Wait until every acknowledged request has an answer, no job is waiting or running, and no clip waits to be
        posted."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self._unanswered() and not self._busy_jobs():
                await asyncio.sleep(3.0)  # room for late duplicates
                return
            await asyncio.sleep(0.5)

    def _busy_jobs(self) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.data / 'sorabox.db'}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 2000")
            (n,) = db.execute("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running', 'encoding')").fetchone()
            (d,) = db.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()
        return int(n) + int(d)

    def _unanswered(self) -> list[Request]:
        return [r for r in self.requests if self._acknowledged(r) and not self._answers(r)]

    def _acknowledged(self, request: Request) -> bool:
        if request.platform == "discord":
            return request.ref.acknowledged_at is not None
        return request.acknowledged

    def _answers(self, request: Request) -> list[str]:
        if request.platform == "telegram":
            return [
                m.get("text") or m.get("caption") or "video"
                for m in self.telegram.bot_messages(self.group)
                if (m.get("reply_to_message") or {}).get("message_id") == request.ref
            ]
        if request.platform == "discord":
            interaction: FakeInteraction = request.ref
            found = []
            original = self.discord.messages.get(interaction.original_message_id or 0)
            if original is not None and not original.flags & FLAG_LOADING and original.content:
                found.append(original.content)
            found += [self.discord.messages[i].content for i in interaction.followup_ids]
            mention = f"<@{interaction.user.id}>"
            found += [
                m.content
                for m in self.discord.channel_messages(interaction.channel)
                if m.author.id == self.discord.bot.id
                and m.interaction_metadata is None
                and m.content.startswith(mention)
            ]
            return found
        return [str(request.ref)] if request.acknowledged else []

    def _clip_posts(self, tag: str) -> dict[str, int]:
        """How many times a clip whose prompt carries `tag` was posted, per platform."""
        telegram = sum(
            1 for m in self.telegram.bot_messages(self.group) if "video" in m and tag in (m.get("caption") or "")
        )
        discord = sum(
            1
            for m in self.discord.messages.values()
            if not m.deleted and m.attachments and tag in m.content and m.interaction_metadata is None
        )
        return {"telegram": telegram, "discord": discord}

    def report(self) -> ChaosReport:
        from core.jobs.quotas import unbalanced_jobs
        from storage.database import Database

        report = ChaosReport(kills=self.kills, requests=len(self.requests))
        report.by_platform.update(r.platform for r in self.requests)
        db = Database(self.data / "sorabox.db")
        try:
            jobs = db.read_sync(lambda d: list(d.query("SELECT id, prompt, state, request_key FROM jobs")))
            clips = db.read_sync(lambda d: list(d.query("SELECT id, media_sha256, deleted_at FROM clips")))
            report.unbalanced = db.read_sync(unbalanced_jobs)
        finally:
            db.close()
        report.jobs.update(j["state"] for j in jobs)
        keys = Counter(j["request_key"] for j in jobs if j["request_key"])
        report.duplicates += [f"request {k} admitted as {n} jobs" for k, n in keys.items() if n > 1]
        for request in self.requests:
            if not self._acknowledged(request):
                report.not_acknowledged += 1
                continue
            if not self._answers(request):
                report.lost.append(f"{request.platform} {request.kind} {request.tag}")
            made = [j for j in jobs if request.tag in j["prompt"]]
            if len(made) > 1:
                report.duplicates.append(f"{request.tag} admitted as {len(made)} jobs")
            posts = self._clip_posts(request.tag)
            if any(n > 1 for n in posts.values()):
                report.duplicates.append(f"{request.tag}'s clip posted {posts}")
            if made and made[0]["state"] == "done" and posts.get(request.platform, 1) == 0:
                report.lost.append(f"{request.platform} {request.kind} {request.tag}: its clip was never posted")
        media = self.data / "media"
        on_disk = {p.name.split(".")[0] for p in media.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")}
        wanted = {c["media_sha256"] for c in clips if c["deleted_at"] is None and c["media_sha256"]}
        known = {c["media_sha256"] for c in clips if c["media_sha256"]}
        report.missing = sorted(wanted - on_disk)
        report.orphaned = sorted(on_disk - known)
        return report
