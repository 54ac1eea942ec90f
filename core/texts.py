"""The plain-text answers the core gives: the same words on every platform."""

from __future__ import annotations

from core.records import JobRecord, JobSummary


def summary(job: JobRecord, order: list[str]) -> JobSummary:
    position = order.index(job.id) + 1 if job.id in order else 0
    return JobSummary(
        job.id,
        job.kind,
        job.prompt,
        job.state,
        position,
        job.created_at,
        job.clip_id,
        job.error,
        job.requester.display_name,
    )


def render_jobs(jobs: list[JobSummary]) -> str:
    if not jobs:
        return "you have no jobs yet; try `sora a red ball bounces on a wooden floor`"
    lines = []
    for job in jobs:
        where = f" (position {job.position})" if job.state == "queued" and job.position else ""
        result = f" → clip `{job.clip_id}`" if job.clip_id else ""
        lines.append(f"`{job.id}` {job.state}{where}: {short(job.prompt, 50)}{result}")
    return "\n".join(lines)


def caption(job: JobRecord, credits_left: int) -> str:
    verb = {"generate": "", "remix": "remix: ", "extend": "extended: ", "stitch": "stitched: "}.get(job.kind, "")
    return f"{verb}{job.prompt}\n— {job.requester.display_name} · {max(0, credits_left)} credits left today"


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
