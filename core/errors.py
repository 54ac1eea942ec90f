"""What can go wrong with a request, as small named exceptions that carry what a caller needs.

Every message is short, plain and safe to show a user in a chat.
"""

from __future__ import annotations

from datetime import datetime


class SoraboxError(Exception):
    """A request the core refused; `str(error)` is the message for the user."""


class BadCommand(SoraboxError):
    """The command text or its options could not be understood."""


class UnknownClip(SoraboxError):
    """No clip has that id (or it was deleted)."""

    def __init__(self, clip_id: str) -> None:
        super().__init__(f"there is no clip `{clip_id}`")
        self.clip_id = clip_id


class UnknownJob(SoraboxError):
    """No job has that id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"there is no job `{job_id}`")
        self.job_id = job_id


class NotAllowed(SoraboxError):
    """The person may not do this (someone else's job or clip, an admin command)."""


class QuotaExceeded(SoraboxError):
    """Not enough credits left today."""

    def __init__(self, remaining: int, cost: int, resets_at: datetime) -> None:
        super().__init__(
            f"this needs {cost} credits and you have {remaining} left; credits reset at {resets_at:%H:%M} UTC"
        )
        self.remaining = remaining
        self.cost = cost
        self.resets_at = resets_at


class ClipTooLong(SoraboxError):
    """The clip a job would make is longer than the service allows (a long stitch or a chain of extensions)."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(f"a clip can be at most {limit:g} s long; this one would be {seconds:g} s")
        self.seconds = seconds
        self.limit = limit


class JobTooBig(SoraboxError):
    """The job would need more memory than one job may take on this service."""

    def __init__(self, needed: int, limit: int) -> None:
        super().__init__(
            f"this would need about {needed / 2**30:.1f} GB of memory and one job may use {limit / 2**30:.1f} GB; "
            "ask for fewer seconds or a smaller size"
        )
        self.needed = needed
        self.limit = limit


class QueueFull(SoraboxError):
    """The service's queue is at its bound."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the queue is full ({limit} jobs waiting); please try again in a few minutes")
        self.limit = limit


class TooManyJobs(SoraboxError):
    """This person already has as many jobs queued or running as allowed."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"you already have {cap} jobs waiting or running; wait for one to finish or cancel one")
        self.cap = cap


class Refused(SoraboxError):
    """Moderation refused the text; costs no credits."""

    def __init__(self, category: str, where: str = "prompt") -> None:
        super().__init__(f"this {where} was refused by the content policy ({category})")
        self.category = category
        self.where = where
