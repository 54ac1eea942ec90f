"""Operations: the health probe and the Prometheus metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from core.people.accounts import PLATFORM

if TYPE_CHECKING:
    from bots.web.console import WebConsole


def _prom_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _counter_lines(name: str, help_text: str, label: str, counts: dict[str, int]) -> list[str]:
    """One Prometheus counter with one label, its values sorted by label."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    lines += [f'{name}{{{label}="{_prom_label(key)}"}} {count}' for key, count in sorted(counts.items())]
    return lines


class Ops:
    """`/healthz` for liveness probes and `/metrics` for Prometheus."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.core = console.core

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
        capacity = self.core.executor.capacity
        availability = self.core.executor.availability
        snap = await self.console.queries.metrics(capacity)
        kind = _prom_label(availability.kind)
        lines = [
            "# HELP sorabox_executor_up Whether the executor can generate now (1) or jobs wait for it (0).",
            "# TYPE sorabox_executor_up gauge",
            f'sorabox_executor_up{{kind="{kind}"}} {int(availability.up)}',
            "# HELP sorabox_executor_workers Jobs the executor can run at once right now.",
            "# TYPE sorabox_executor_workers gauge",
            f'sorabox_executor_workers{{kind="{kind}"}} {availability.workers}',
            "# HELP sorabox_queue_depth Jobs waiting to run.",
            "# TYPE sorabox_queue_depth gauge",
            f"sorabox_queue_depth {snap.queue_depth}",
            "# HELP sorabox_jobs Jobs by state.",
            "# TYPE sorabox_jobs gauge",
        ]
        for state in ("queued", "running", "encoding", "done", "failed", "cancelled"):
            lines.append(f'sorabox_jobs{{state="{state}"}} {snap.jobs_by_state.get(state, 0)}')
        lines += [
            "# HELP sorabox_generation_seconds Wall time of finished jobs, from start to clip.",
            "# TYPE sorabox_generation_seconds summary",
            f"sorabox_generation_seconds_sum {snap.generation_seconds_sum:.3f}",
            f"sorabox_generation_seconds_count {snap.generation_count}",
            "# HELP sorabox_gpu_busy_ratio Share of the last 5 minutes the generation workers were busy.",
            "# TYPE sorabox_gpu_busy_ratio gauge",
            f"sorabox_gpu_busy_ratio {snap.busy_ratio:.4f}",
            "# HELP sorabox_deliveries_pending Outbox rows waiting to be posted, by platform.",
            "# TYPE sorabox_deliveries_pending gauge",
        ]
        for platform, count in sorted({PLATFORM: 0, **snap.deliveries_pending}.items()):
            lines.append(f'sorabox_deliveries_pending{{platform="{_prom_label(platform)}"}} {count}')
        lines += _counter_lines(
            "sorabox_refusals_total",
            "Requests refused, by reason (policy, consent, quota, queue_full, too_many_jobs, ...).",
            "reason",
            snap.refusals,
        )
        lines += _counter_lines(
            "sorabox_policy_refusals_total",
            "Requests refused by the content policy, by its category.",
            "category",
            snap.policy_refusals,
        )
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")
