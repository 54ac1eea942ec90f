"""Whatever people do — submit, cancel, hit their limits, fail — no credit is lost or made up."""

import asyncio
import tempfile
import threading
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import JobCancelled, JobDone, JobFailed
from core.jobs.quotas import unbalanced_jobs
from model.generator import GenerationError
from tests.support import ToneGenerator, actor, place, running_core

PEOPLE = ["ana", "bob", "cy"]


class SometimesFailing(ToneGenerator):
    def generate(self, request, progress, cancel):
        if "fail" in request.prompt:
            raise GenerationError("could not make it")
        return super().generate(request, progress, cancel)


operations = st.lists(
    st.tuples(
        st.sampled_from(["submit", "submit", "fail", "cancel", "release"]),
        st.sampled_from(PEOPLE),
        st.integers(min_value=1, max_value=8),
    ),
    min_size=1,
    max_size=25,
)


async def play(data_dir: Path, ops: list[tuple[str, str, int]]) -> None:
    gate = threading.Event()
    async with running_core(data_dir, SometimesFailing(gate=gate), daily_credits=20, max_jobs_per_user=3) as core:
        events = core.bus.subscribe()
        job_ids: list[str] = []
        for op, who, seconds in ops:
            if op in ("submit", "fail"):
                prompt = "please fail" if op == "fail" else "a ball"
                reply = await core.handle_text(actor(who), place(), f"sora {prompt} --seconds {seconds}")
                if reply.ok:
                    job_ids.append(reply.job_id)
            elif op == "cancel" and job_ids:
                await core.handle_text(actor(who), place(), f"cancel {job_ids[seconds % len(job_ids)]}")
            elif op == "release":
                gate.set()
                await asyncio.sleep(0.05)
                gate.clear()
        gate.set()
        finished: set[str] = set()
        while len(finished) < len(job_ids):
            event = await asyncio.wait_for(events.__anext__(), 20)
            if isinstance(event, JobDone | JobFailed | JobCancelled):
                finished.add(event.job_id)
        assert await core.db.read(unbalanced_jobs) == []
        for who in PEOPLE:
            status = await core.quota_status(actor(who), place())
            spent = await core.db.read(
                lambda d, w=who: next(
                    d.query(
                        """SELECT COALESCE(SUM(j.cost), 0) AS n FROM jobs j JOIN identities i ON i.user_id = j.user_id
                           WHERE i.platform_user_id = ? AND j.state = 'done'""",
                        [f"id-{w}"],
                    )
                )["n"]
            )
            assert status.used == spent
            assert 0 <= status.remaining <= 20


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_the_ledger_balances_after_any_sequence_of_requests(ops):
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(play(Path(tmp), ops))
