"""Operations: the health probe and the Prometheus metrics (through prometheus-client, one registry per console)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from core.execution.local import Availability
from core.ops.metrics import Snapshot
from core.people.accounts import PLATFORM

JOB_STATES = ("queued", "running", "encoding", "done", "failed", "cancelled")

if TYPE_CHECKING:
    from bots.web.console import WebConsole


F = TypeVar("F", GaugeMetricFamily, CounterMetricFamily)


def _labelled(family: F, values: Mapping[str, float], *, keep_order: bool = False) -> F:
    """`family` with one sample per label value, sorted by label unless `keep_order`."""
    for label, value in values.items() if keep_order else sorted(values.items()):
        family.add_metric([label], value)
    return family


@dataclass
class Scrape:
    """What one scrape of /metrics reports: read from the core just before the registry is written out."""

    availability: Availability
    snapshot: Snapshot


class SoraboxCollector(Collector):
    """The service's metrics, built from the scrape in hand (the numbers live in the database, not in counters
    this process increments, so they survive restarts and agree across processes)."""

    def __init__(self) -> None:
        self.scrape: Scrape | None = None

    def collect(self) -> Iterator[Metric]:
        if self.scrape is None:
            return
        availability, snap = self.scrape.availability, self.scrape.snapshot
        up = _labelled(
            GaugeMetricFamily(
                "sorabox_executor_up",
                "Whether the executor can generate now (1) or jobs wait for it (0).",
                labels=["kind"],
            ),
            {availability.kind: int(availability.up)},
        )
        workers = _labelled(
            GaugeMetricFamily(
                "sorabox_executor_workers", "Jobs the executor can run at once right now.", labels=["kind"]
            ),
            {availability.kind: availability.workers},
        )
        jobs = _labelled(
            GaugeMetricFamily("sorabox_jobs", "Jobs by state.", labels=["state"]),
            {state: snap.jobs_by_state.get(state, 0) for state in JOB_STATES},
            keep_order=True,
        )
        pending = _labelled(
            GaugeMetricFamily(
                "sorabox_deliveries_pending", "Outbox rows waiting to be posted, by platform.", labels=["platform"]
            ),
            {PLATFORM: 0, **snap.deliveries_pending},
        )
        refusals = _labelled(
            CounterMetricFamily(
                "sorabox_refusals_total",
                "Requests refused, by reason (policy, consent, quota, queue_full, too_many_jobs, ...).",
                labels=["reason"],
            ),
            snap.refusals,
        )
        policy = _labelled(
            CounterMetricFamily(
                "sorabox_policy_refusals_total",
                "Requests refused by the content policy, by its category.",
                labels=["category"],
            ),
            snap.policy_refusals,
        )
        yield up
        yield workers
        yield GaugeMetricFamily("sorabox_queue_depth", "Jobs waiting to run.", value=snap.queue_depth)
        yield jobs
        yield SummaryMetricFamily(
            "sorabox_generation_seconds",
            "Wall time of finished jobs, from start to clip.",
            count_value=snap.generation_count,
            sum_value=round(snap.generation_seconds_sum, 3),
        )
        yield GaugeMetricFamily(
            "sorabox_gpu_busy_ratio",
            "Share of the last 5 minutes the generation workers were busy.",
            value=round(snap.busy_ratio, 4),
        )
        yield pending
        yield refusals
        yield policy


class Ops:
    """`/healthz` for liveness probes and `/metrics` for Prometheus."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.core = console.core
        # One registry per console, none global: two services in one process (the tests run many) never share one.
        self.registry = CollectorRegistry(auto_describe=False)
        self._collector = SoraboxCollector()
        self.registry.register(self._collector)

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: the database answers, and whether the executor can generate (503 while it cannot)."""
        counts = await self.core.pending_delivery_counts()
        availability = self.core.executor.availability
        executor = {
            "kind": availability.kind,
            "reachable": availability.reachable,
            "since": availability.since.isoformat(timespec="seconds"),
            "workers": availability.workers,
            "reason": availability.reason,
        }
        # Jobs are still accepted while it cannot generate (they wait in the queue), but clips stop coming:
        # a monitor probing this must see it, not only the log.
        return web.json_response(
            {
                "ok": availability.up,
                "backend": self.core.executor.backend,
                "executor": executor,
                "deliveries_pending": counts,
            },
            status=200 if availability.up else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text format: queue depth, jobs by state, generation seconds, busy ratio, outbox, refusals."""
        availability = self.core.executor.availability
        snapshot = await self.console.queries.metrics(self.core.executor.capacity)
        # Set and written out with no await between: a concurrent scrape cannot swap the numbers in between.
        self._collector.scrape = Scrape(availability, snapshot)
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
