"""What every part of the service shares: the database, the media store, the executor, the settings, the event bus,
the content policy, the job extensions and the clock.

One object, built once by `Sorabox` and handed to admission, the runner, the outbox, the clip library and admin, so a
change made through the facade (a test's clock, the operator's moderation file) reaches all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.events import EventBus
from core.execution.local import Executor
from core.extensions import JobExtension
from core.jobs.moderation import ContentPolicy, ModerationPolicy
from core.settings import Settings
from storage.database import Database
from storage.media_store import MediaStore


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Kernel:
    db: Database
    media: MediaStore
    executor: Executor
    settings: Settings
    bus: EventBus = field(default_factory=EventBus)
    moderation: ContentPolicy = field(default_factory=ModerationPolicy)
    # Called in this order at each moment of a job (see core/extensions.py).
    extensions: list[JobExtension] = field(default_factory=list)
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()
