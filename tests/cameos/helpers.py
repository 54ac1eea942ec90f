"""A core with cameos installed, over real SQLite and a real media folder, and people to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.cameos.service import Cameos, cameo_features
from core.extensions import JobExtension
from core.identity import Actor, Place
from core.service import Sorabox
from core.settings import Settings
from model.likeness import Likeness, LikenessChecker
from storage.database import Database
from storage.media_store import MediaStore
from tests.support import ToneGenerator, running_core


@dataclass
class Rig:
    core: Sorabox
    cameos: Cameos
    db: Database
    media: MediaStore
    generator: ToneGenerator


@asynccontextmanager
async def cameo_core(
    data_dir: Path,
    generator: ToneGenerator | None = None,
    checker: LikenessChecker | None = None,
    provenance: bool = True,
    **overrides: object,
) -> AsyncIterator[Rig]:
    generator = generator or ToneGenerator()

    def features(settings: Settings, backend: str) -> tuple[Cameos, list[JobExtension]]:
        return cameo_features(settings, backend, checker=checker, provenance=provenance)

    async with running_core(data_dir, generator, features=features, **overrides) as core:
        assert core.cameos is not None
        yield Rig(core, core.cameos, core.db, core.media, generator)


def person(name: str, platform: str = "test", **kwargs: object) -> Actor:
    return Actor(platform=platform, user_id=f"id-{name}", display_name=name.capitalize(), **kwargs)  # type: ignore[arg-type]


def dm(who: Actor) -> Place:
    """The person's private chat with the bot."""
    return Place(platform=who.platform, channel_id=f"dm-{who.user_id}", is_private=True)


GROUP = Place(platform="test", channel_id="group-chan", guild_id="group")
OTHER_GROUP = Place(platform="test", channel_id="other-chan", guild_id="other")


def synthetic_likeness(seed: int = 0) -> Likeness:
    """A stand-in for a checked video, for tests about rules rather than checks (no decoding, no VAD)."""
    rng = np.random.default_rng(seed)
    face = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    voice = (0.1 * np.sin(np.arange(8000) / (10 + seed))).astype(np.float32)
    return Likeness(face, voice, 16_000, {"synthetic": True})
