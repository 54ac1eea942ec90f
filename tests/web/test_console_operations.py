"""What operators read and do: /healthz and /metrics about the executor, refusal counters, the first-start link."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from core.execution.local import Availability, ExecutorUnavailable, LocalExecutor
from core.records import iso
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from tests.cameos.helpers import synthetic_likeness
from tests.support import ToneGenerator
from tests.web.helpers import eventually, open_thread, served_console, sign_in_with_link, signed_in


class ClusterDouble:
    """An Executor on a cluster that is out of reach until `reach()`: capacity 0 and ExecutorUnavailable
    meanwhile, as the Ray executor behaves; once reached, a local tone generator does the work."""

    def __init__(self) -> None:
        self._local = LocalExecutor(ToneGenerator())
        self.reachable = False
        self.since = datetime.now(UTC)
        self.reason = "cannot reach the cluster at 10.0.0.9:6379: connection refused"

    def reach(self) -> None:
        self.reachable, self.since = True, datetime.now(UTC)

    @property
    def capacity(self) -> int:
        return self._local.capacity if self.reachable else 0

    @property
    def backend(self) -> str:
        return self._local.backend

    @property
    def availability(self) -> Availability:
        return Availability("ray", self.reachable, self.since, self.capacity, None if self.reachable else self.reason)

    async def run(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        if not self.reachable:
            raise ExecutorUnavailable(self.reason)
        return await self._local.run(request, progress, cancel)

    async def close(self) -> None:
        await self._local.close()


def prometheus(text: str) -> dict[str, float]:
    # Sample values are floats in the text format: prometheus-client writes 1 as "1.0".
    return {name: float(value) for name, value in re.findall(r"^(sorabox_[^ {]+(?:\{[^}]*\})?) (\S+)$", text, re.M)}


async def say(client: Any, thread_id: str, csrf: str, text: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json={"text": text}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def test_healthz_answers_503_and_metrics_report_the_executor_down_while_its_cluster_is_out_of_reach(
    tmp_path,
) -> None:
    cluster = ClusterDouble()
    async with served_console(tmp_path, executor=cluster) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        queued = await say(ana, thread_id, csrf, "sora a red ball --seconds 1")
        assert queued["ok"], queued  # jobs are still taken; they wait

        health = await ana.get("/healthz")
        body = await health.json()
        assert health.status == 503 and body["ok"] is False
        assert body["executor"] == {
            "kind": "ray",
            "reachable": False,
            "since": cluster.since.isoformat(timespec="seconds"),
            "workers": 0,
            "reason": cluster.reason,
        }
        values = prometheus(await (await ana.get("/metrics")).text())
        assert values['sorabox_executor_up{kind="ray"}'] == 0
        assert values["sorabox_queue_depth"] == 1

        cluster.reach()
        health = await ana.get("/healthz")
        assert health.status == 200 and (await health.json())["executor"]["reachable"] is True

        async def done() -> str:
            return (await served.core.job(queued["job_id"])).state

        assert await eventually(done, "done")
        values = prometheus(await (await ana.get("/metrics")).text())
        assert values['sorabox_executor_up{kind="ray"}'] == 1
        assert values["sorabox_generation_seconds_count"] == 1


async def test_refusals_are_counted_by_reason_and_the_counts_survive_forgetme(tmp_path) -> None:
    gate = threading.Event()  # holds the one worker, so jobs stay active and queued
    settings = {"daily_credits": 3, "max_jobs_per_user": 1, "max_queue": 1}
    async with served_console(tmp_path, ToneGenerator(gate=gate), cameos=True, **settings) as served:
        ana, bo, cy = [await signed_in(served, name) for name in ("ana", "bo", "cy")]
        (ana_thread, ana_csrf), (bo_thread, bo_csrf), (cy_thread, cy_csrf) = [
            await open_thread(client) for client in (ana, bo, cy)
        ]
        account = await served.console.accounts.by_name("ana")
        assert account is not None and served.console.cameos is not None
        made = await served.console.cameos.create_from_likeness(
            account.actor, served.console.private_place(account), "astro", synthetic_likeness()
        )
        assert made.ok, made.text

        assert not (await say(ana, ana_thread, ana_csrf, "sora a nude statue"))["ok"]  # policy
        assert not (await say(ana, ana_thread, ana_csrf, "sora a ball --seconds 5"))["ok"]  # quota: 5 > 3
        held = await say(ana, ana_thread, ana_csrf, "sora a ball --seconds 1")
        assert held["ok"], held

        async def running() -> str:
            return (await served.core.job(held["job_id"])).state

        assert await eventually(running, "running")
        assert not (await say(ana, ana_thread, ana_csrf, "sora again --seconds 1"))["ok"]  # too many jobs
        assert not (await say(bo, bo_thread, bo_csrf, "sora @astro waves --seconds 1"))["ok"]  # consent
        assert (await say(bo, bo_thread, bo_csrf, "sora a cube --seconds 1"))["ok"]  # waits in the queue
        assert not (await say(cy, cy_thread, cy_csrf, "sora a cone --seconds 1"))["ok"]  # queue full

        expected = {
            'sorabox_refusals_total{reason="policy"}': 1.0,
            'sorabox_refusals_total{reason="quota"}': 1.0,
            'sorabox_refusals_total{reason="too_many_jobs"}': 1.0,
            'sorabox_refusals_total{reason="consent"}': 1.0,
            'sorabox_refusals_total{reason="queue_full"}': 1.0,
            'sorabox_policy_refusals_total{category="sexual content"}': 1.0,
        }

        async def counted() -> dict[str, float | None]:
            values = prometheus(await (await cy.get("/metrics")).text())
            return {k: values.get(k) for k in expected}

        # A refusal raised inside admission is recorded by a write of its own, which may land a moment later.
        assert await eventually(counted, expected), await counted()

        for client, thread_id, csrf in ((ana, ana_thread, ana_csrf), (bo, bo_thread, bo_csrf)):
            assert (await say(client, thread_id, csrf, "forgetme"))["ok"]
            forgotten = await say(client, thread_id, csrf, "forgetme confirm")
            assert forgotten["ok"], forgotten
        gate.set()
        left = await served.core.db.read(
            lambda db: db.execute("SELECT COUNT(*) FROM audit_events WHERE kind IN ('refusal', 'cameo_refused')")
        )
        assert left.fetchone()[0] == 0  # the rows the counts were once derived from are gone
        assert await counted() == expected


async def test_a_new_first_start_link_is_made_when_the_last_one_expired_before_anyone_signed_in(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        console = served.console
        first = await console.first_start_notice()
        assert first is not None and first.startswith("first start: sign in as the admin with this one-time link: ")

        # Restarted within the day: the earlier link still works and cannot be shown again (only its digest is kept).
        again = await console.first_start_notice()
        assert again is not None and "works until" in again and "`sorabox admin link admin`" in again
        assert await console.first_start_link() is None

        past = iso(datetime.now(UTC) - timedelta(minutes=1))
        await served.core.db.write(lambda db: db.execute("UPDATE web_signin_links SET expires_at = ?", [past]))
        fresh = await console.first_start_notice()
        assert fresh is not None and fresh.startswith("first start: ")
        link = fresh.rsplit(" ", 1)[1]
        assert link != first.rsplit(" ", 1)[1]

        browser = served.client()
        await browser.start_server()
        await sign_in_with_link(browser, link)
        assert (await browser.get("/admin")).status == 200
        # Someone has signed in: start-up prints nothing more, even with no link left.
        assert await console.first_start_notice() is None
        assert await console.first_start_link() is None
