"""Text the adapter shows on Discord: progress lines, captions, thread names, all within Discord's limits."""

from __future__ import annotations

import re

from core.events import JobCancelled, JobDone, JobEvent, JobFailed, JobProgress, JobQueued, JobStarted
from core.texts import duration, short

MAX_CONTENT = 2000  # characters in one message
MAX_THREAD_NAME = 100
BAR_CELLS = 12


def fit(text: str, limit: int = MAX_CONTENT) -> str:
    """`text` cut to Discord's message length, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar(step: int, total: int) -> str:
    filled = 0 if total <= 0 else round(BAR_CELLS * min(step, total) / total)
    return "█" * filled + "░" * (BAR_CELLS - filled)


def thread_name(prompt: str) -> str:
    """A thread named after the prompt: one line, 1 to 100 characters."""
    name = " ".join(prompt.split())
    return short(name, MAX_THREAD_NAME) if name else "sora clip"


def status(event: JobEvent, prompt: str) -> str:
    """The deferred response's text for the latest event of a job."""
    head = f"`{event.job_id}` {short(prompt, 80)}" if prompt else f"`{event.job_id}`"
    if isinstance(event, JobQueued):
        return f"{head}\nqueued — position {event.position}, about {duration(event.estimate_seconds)}"
    if isinstance(event, JobStarted):
        return f"{head}\n{bar(0, 1)} starting — about {duration(event.estimate_seconds)}"
    if isinstance(event, JobProgress):
        if event.stage == "encoding":
            return f"{head}\n{bar(1, 1)} encoding…"
        return (
            f"{head}\n{bar(event.step, event.total)} step {event.step}/{event.total}"
            f" · about {duration(event.eta_seconds)} left"
        )
    if isinstance(event, JobDone):
        return f"{head}\ndone: clip `{event.clip_id}` is being posted"
    if isinstance(event, JobFailed):
        return f"{head}\nfailed: {event.reason}"
    if isinstance(event, JobCancelled):
        return f"{head}\ncancelled: {event.reason}"
    return head


def is_final(event: JobEvent) -> bool:
    return isinstance(event, JobDone | JobFailed | JobCancelled)


# The core's texts name commands as typed (`cameo allow @friend`, `delete k3f9x2ab`); on Discord each of these
# is a slash command of the same name, so a slash in front is what people type here.
_TYPED_COMMAND = re.compile(r"`(?=(?:cameo|delete|forgetme|sora|remix|extend|stitch|tree|quota|jobs|cancel|help)\b)")


def slash_commands(text: str) -> str:
    """The core's text with the commands it quotes written as Discord slash commands."""
    return _TYPED_COMMAND.sub("`/", text)


def refusal(text: str) -> str:
    return fit(f"⚠️ {text}")


def clip_message(caption: str, clip_id: str, link: str | None, too_large: bool) -> str:
    """The result message: the core's caption, the clip id people can remix by, and a link when no upload fit."""
    lines = [caption, f"clip `{clip_id}`"]
    if link:
        lines.append(f"too large to upload here; watch it at {link}")
    elif too_large:
        lines.append("too large to upload here, and the service has no public address configured")
    tail = "\n" + "\n".join(lines[1:])
    # The caption holds the user's prompt: cut it, never the id or the link.
    return fit(caption, MAX_CONTENT - len(tail)) + tail
