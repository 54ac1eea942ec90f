"""The plain-text answers the core gives: the same words on every platform."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.records import JobRecord, JobSummary

# A caption names at most this many unused words, and at most this many of the generator's notes.
NOTE_WORDS = 8
NOTE_COUNT = 3
DETAILS_CHARS = 600  # Telegram captions stop at 1024 characters


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


def caption(job: JobRecord, credits_left: int, notes: str = "") -> str:
    """The prompt, a line of `notes` if any, then the author and credits line (always last: adapters split it off)."""
    verb = {"generate": "", "remix": "remix: ", "extend": "extended: ", "stitch": "stitched: "}.get(job.kind, "")
    middle = f"\n{notes}" if notes else ""
    return f"{verb}{job.prompt}{middle}\n— {job.requester.display_name} · {max(0, credits_left)} credits left today"


def clip_notes(metadata: Mapping[str, Any]) -> str:
    """One line telling everyone who sees the clip what the generator left out of the prompt: the words it did not
    use and its notes ("no object understood; showing a plain scene with a ball"). Empty when it followed it all."""
    parts = [str(note) for note in metadata.get("notes") or []][:NOTE_COUNT]
    unused = [str(word) for word in metadata.get("unused_words") or []]
    if unused:
        shown = ", ".join(unused[:NOTE_WORDS]) + (", …" if len(unused) > NOTE_WORDS else "")
        parts.insert(0, f"not used: {shown}")
    line = short("ℹ️ " + "; ".join(parts), 300) if parts else ""
    details = str(metadata.get("details") or "")  # the expanded prompt a model was given (model/ltx2/prompt_enhancer)
    return "\n".join(x for x in (line, f"details: {short(details, DETAILS_CHARS)}" if details else "") if x)


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
