"""Test helpers shared across the suite: a small real generator and a core wired to real SQLite."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.events import Event
from core.execution.local import LocalExecutor
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.service import Sorabox
from core.settings import Settings
from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from storage.database import Database
from storage.media_store import MediaStore

if TYPE_CHECKING:
    from core.cameos.service import Cameos


class ToneGenerator:
    """A deterministic generator for tests of everything around generation.

    Frames are a flat colour from the prompt's hash with a moving bar; the sound is a tone. It makes
    real frames and audio quickly, reports `steps` progress steps and honours cancel between them.
    `gate`, when given, is waited on before each step, so a test can hold a job mid-way.
    """

    name = "tone"

    def __init__(self, steps: int = 4, step_seconds: float = 0.0, gate: threading.Event | None = None) -> None:
        self.steps = steps
        self.step_seconds = step_seconds
        self.gate = gate
        self.calls: list[GenerationRequest] = []

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        self.calls.append(request)
        for step in range(1, self.steps + 1):
            if self.gate is not None:
                while not self.gate.wait(0.02):
                    cancel.raise_if_cancelled()
            cancel.raise_if_cancelled()
            if self.step_seconds:
                time.sleep(self.step_seconds)
            progress(step, self.steps)
        width, height = request.width - request.width % 2, request.height - request.height % 2
        count = max(1, round(min(request.seconds, 2.0) * request.fps))
        seed = abs(hash((request.prompt, request.seed))) % 255
        frames = np.full((count, height, width, 3), seed, np.uint8)
        for t in range(count):
            frames[t, :, (t * 4) % width] = 255
        rate = 48_000
        samples = int(count / request.fps * rate)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
        return Clip(frames, np.stack([tone, tone]), request.fps, rate, state={"prompt": request.prompt})


def actor(name: str = "ana", platform: str = "test", **kwargs: object) -> Actor:
    return Actor(platform=platform, user_id=f"id-{name}", display_name=name.capitalize(), **kwargs)  # type: ignore[arg-type]


def place(channel: str = "chan", platform: str = "test", guild: str | None = "guild") -> Place:
    return Place(platform=platform, channel_id=channel, guild_id=guild)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    env = {"SORABOX_DATA_DIR": str(data_dir), "SORABOX_CONFIG": str(data_dir / "none.toml")}
    env.update({f"SORABOX_{k.upper()}": str(v) for k, v in overrides.items()})
    return Settings.from_env(env)


@asynccontextmanager
async def running_core(
    data_dir: Path,
    generator: object | None = None,
    workers: int = 1,
    *,
    executor: object | None = None,
    setup: Callable[[Sorabox], None] | None = None,
    features: Callable[[Settings, str], tuple[Cameos | None, list[JobExtension]]] | None = None,
    **overrides: object,
) -> AsyncIterator[Sorabox]:
    """A started core over a real SQLite file and media folder; stopped and closed afterwards.

    `executor` replaces the local worker (a Ray executor); `features(settings, backend)` builds the cameo service
    and extensions passed to the core, as bots/composition.py does; `setup` runs before the start.
    """
    settings = make_settings(data_dir, **overrides)
    executor = executor or LocalExecutor(generator or ToneGenerator(), workers=workers)  # type: ignore[arg-type]
    cameos, extensions = features(settings, executor.backend) if features else (None, [])  # type: ignore[attr-defined]
    db = Database(settings.database_path)
    core = Sorabox(
        db=db,
        media=MediaStore(settings.media_dir),
        executor=executor,  # type: ignore[arg-type]
        settings=settings,
        extensions=extensions,
        cameos=cameos,
    )
    if setup is not None:
        setup(core)
    await core.start()
    try:
        yield core
    finally:
        await core.stop()
        await core.executor.close()
        db.close()


async def wait_for(
    subscription: AsyncIterator[Event], predicate: Callable[[Event], bool], seconds: float = 20.0
) -> Event:
    """The first event matching `predicate`; fails the test after `seconds`."""

    async def scan() -> Event:
        async for event in subscription:
            if predicate(event):
                return event
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(scan(), seconds)


class SlowToneGenerator(ToneGenerator):
    """Ten half-second steps: slow enough for a test to kill the process mid-job."""

    def __init__(self) -> None:
        super().__init__(steps=10, step_seconds=0.5)
