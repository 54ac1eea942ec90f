"""Admission: turn a generate/remix/extend/stitch/reroll command into a queued job, or refuse it.

In one writer transaction: the person's user row, the job's plan (sources, size, cost), the extensions' checks
(cameo consent), the per-person and queue limits, the quota, and the job with its credit reservation. Moderation
runs first and costs nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

import sqlite_utils

from core.clips import visibility
from core.commands import Extend, Generate, Remix, Reroll, Stitch
from core.errors import ClipTooLong, QueueFull, QuotaExceeded, Refused, SoraboxError, TooManyJobs
from core.identity import Actor, Place
from core.jobs import quotas
from core.jobs import store as jobstore
from core.jobs.resources import check_job_memory, job_memory_bytes
from core.jobs.runner import Runner
from core.kernel import Kernel
from core.ops import counters
from core.records import ClipRecord, Reply
from core.texts import duration

# What a job will do and what it costs, decided inside the admission transaction (a source clip may be deleted).
Plan = Callable[[sqlite_utils.Database], tuple[dict[str, Any], int]]


class Admission:
    def __init__(self, kernel: Kernel, runner: Runner) -> None:
        self.k = kernel
        self.runner = runner

    # -- the commands -----------------------------------------------------------------------------

    async def generate(self, actor: Actor, place: Place, command: Generate) -> Reply:
        params = {
            "seconds": command.seconds,
            "width": command.width,
            "height": command.height,
            "seed": _seed(command.seed),
            "cameos": list(command.cameos),
        }
        cost = self.k.settings.quota.cost(command.seconds, command.width, command.height)
        return await self._admit(actor, place, "generate", command.prompt, lambda db: (params, cost), [command.prompt])

    async def remix(self, actor: Actor, place: Place, command: Remix) -> Reply:
        policy = self.k.settings.quota
        seed = command.seed

        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            source = source_clip(db, command.clip_id, actor)
            self._check_length(source.seconds)  # a remix of a long stitch is made again at its length
            params = {
                "sources": [source.id],
                "seconds": source.seconds,
                "width": source.width,
                "height": source.height,
                # The source's seed by default: a remix changes what was asked, not the dice.
                "seed": seed if seed is not None else (source.seed or 0),
            }
            return params, policy.cost(source.seconds, source.width, source.height)

        return await self._admit(actor, place, "remix", command.prompt, plan, [command.prompt])

    async def extend(self, actor: Actor, place: Place, command: Extend) -> Reply:
        policy = self.k.settings.quota
        prompts: list[str] = [command.prompt] if command.prompt else []

        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            source = source_clip(db, command.clip_id, actor)
            # The extended clip plays its source and then the new seconds: a chain of extensions is capped as a whole.
            self._check_length(source.seconds + command.seconds)
            params = {
                "sources": [source.id],
                "seconds": command.seconds,
                "width": source.width,
                "height": source.height,
                "seed": source.seed or 0,
            }
            return params, policy.cost(command.seconds, source.width, source.height)

        return await self._admit(actor, place, "extend", command.prompt, plan, prompts)

    async def stitch(self, actor: Actor, place: Place, command: Stitch) -> Reply:
        policy = self.k.settings.quota

        def plan(db: sqlite_utils.Database) -> tuple[dict[str, Any], int]:
            sources = [source_clip(db, clip_id, actor) for clip_id in command.clip_ids]
            seconds = sum(s.seconds for s in sources)
            self._check_length(seconds)
            width, height = sources[0].width, sources[0].height
            params = {
                "sources": [s.id for s in sources],
                "seconds": seconds,
                "width": width,
                "height": height,
                "seed": 0,
            }
            # Priced like any clip of its length and size: every source is decoded and the whole is encoded again,
            # and a flat price let chained stitches grow to minutes of video for a few credits.
            return params, policy.cost(seconds, width, height)

        sources = await self.k.db.read(lambda db: [source_clip(db, c, actor) for c in command.clip_ids])
        prompt = " + ".join(s.prompt for s in sources)[: self.k.settings.limits.max_prompt_chars]
        return await self._admit(actor, place, "stitch", prompt, plan, [s.prompt for s in sources])

    async def reroll(self, actor: Actor, place: Place, command: Reroll) -> Reply:
        def load(db: sqlite_utils.Database) -> tuple[ClipRecord, Any]:
            clip = source_clip(db, command.clip_id, actor)
            return clip, jobstore.get_job(db, clip.job_id) if clip.job_id else None

        clip, job = await self.k.db.read(load)
        if job is None:
            return await self.generate(actor, place, Generate(clip.prompt, clip.seconds, clip.width, clip.height, None))
        params = dict(job.params)
        params["seed"] = secrets.randbelow(2**31)
        cost = job.cost
        return await self._admit(actor, place, job.kind, job.prompt, lambda db: (params, cost), [job.prompt])

    # -- the one path every job takes -------------------------------------------------------------

    def _check_memory(self, db: sqlite_utils.Database, kind: str, params: dict[str, Any]) -> None:
        """Refuse a job whose frames would not fit in what one job may take (SORABOX_JOB_MEMORY_MB)."""
        found = [jobstore.get_clip(db, clip_id) for clip_id in params.get("sources", [])]
        sources = [(c.seconds, c.width, c.height) for c in found if c is not None]
        # An extension's clip plays its source and then the new seconds.
        seconds = float(params["seconds"]) + (sources[0][0] if kind == "extend" and sources else 0.0)
        needed = job_memory_bytes(seconds, int(params["width"]), int(params["height"]), sources)
        check_job_memory(needed, self.k.settings.job_memory_bytes)

    def _check_length(self, seconds: float) -> None:
        limit = self.k.settings.limits.max_seconds
        if seconds > limit + 1e-6:
            raise ClipTooLong(round(seconds, 2), limit)

    def _moderate(self, texts: list[str], place: Place) -> tuple[str, str] | None:
        community = f"{place.platform}:{place.guild_id or place.channel_id}"
        for text in texts:
            refusal = self.k.moderation.check(text, community)
            if refusal is not None:
                return refusal.category, refusal.term
        return None

    async def _admit(
        self, actor: Actor, place: Place, kind: str, prompt: str, plan: Plan, moderate: list[str]
    ) -> Reply:
        k = self.k
        refusal = self._moderate(moderate, place)
        if refusal is not None:
            category, term = refusal
            await k.db.write(
                lambda db: jobstore.audit(
                    db,
                    "refusal",
                    k.now(),
                    user_id=jobstore.user_for(db, actor, k.now()),
                    category=category,
                    term=term,
                    platform=place.platform,
                    prompt=prompt[:200],
                )
            )
            raise Refused(category)
        settings = k.settings

        def admit(db: sqlite_utils.Database) -> tuple[str, str, int | None]:
            now = k.now()
            user_id = jobstore.user_for(db, actor, now)
            if place.request_key and (made := jobstore.job_for_request(db, place.request_key)) is not None:
                return made.id, made.user_id, None  # this request was admitted before: a replay, not a new job
            params, cost = plan(db)
            for extension in k.extensions:
                params.update(
                    extension.check_admission(
                        db, user_id=user_id, actor=actor, place=place, kind=kind, prompt=prompt, params=params
                    )
                )
            self._check_memory(db, kind, params)
            if jobstore.count_active(db, user_id) >= settings.max_jobs_per_user:
                raise TooManyJobs(settings.max_jobs_per_user)
            if jobstore.count_queued(db) >= settings.max_queue:
                raise QueueFull(settings.max_queue)
            status = quotas.status(db, settings.quota, user_id, actor, place, now)
            if cost > status.remaining:
                raise QuotaExceeded(max(0, status.remaining), cost, status.resets_at)
            job_id = jobstore.insert_job(
                db,
                user_id=user_id,
                kind=kind,
                prompt=prompt,
                params=params,
                actor=actor,
                place=place,
                cost=cost,
                period=settings.quota.period(now),
                now=now,
            )
            return job_id, user_id, status.remaining - cost

        try:
            job_id, user_id, left = await k.db.write(admit)
        except SoraboxError as exc:
            # The refusal rolled admission back, so it is counted in a write of its own.
            if (reason := counters.admission_refusal(exc)) is not None:
                await k.db.write(partial(counters.bump, name=counters.REFUSALS, label=reason))
            raise
        if left is None:
            return await self._admitted_before(job_id)
        position, estimate = self.runner.enqueue(job_id, user_id, place, actor.user_id)
        return Reply(
            f"queued `{job_id}` — position {position}, about {duration(estimate)}. {left} credits left today.",
            job_id=job_id,
            position=position,
            estimate_seconds=estimate,
            data={"credits_left": left},
        )

    async def _admitted_before(self, job_id: str) -> Reply:
        """The answer to a request that already made a job: that job's ticket again, charging nothing more."""
        job = await self.k.db.read(lambda db: jobstore.get_job(db, job_id))
        assert job is not None
        data = {"admitted_before": True}
        if job.state != "queued" or job_id not in self.runner.order():
            return Reply(f"`{job_id}` is {job.state}.", job_id=job_id, data=data)
        position = self.runner.order().index(job_id) + 1
        estimate = self.runner.estimate(position)
        return Reply(
            f"queued `{job_id}` — position {position}, about {duration(estimate)}.",
            job_id=job_id,
            position=position,
            estimate_seconds=estimate,
            data=data,
        )


def _seed(seed: int | None) -> int:
    return seed if seed is not None else secrets.randbelow(2**31)


def source_clip(db: sqlite_utils.Database, clip_id: str, actor: Actor) -> ClipRecord:
    """A clip a new job of `actor`'s starts from; UnknownClip when there is none, it was deleted, or it is someone
    else's private clip."""
    return visibility.clip_for(db, clip_id, actor)
