"""The composition root: builds storage, the generator, the executor, the features and the core from one Settings.

Everything the core needs is built here and passed in when the core is built: no attribute is set on it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core.execution.local import Availability, Executor, LocalExecutor
from core.extensions import JobExtension
from core.jobs.moderation import ModerationFile
from core.service import Sorabox
from core.settings import Settings
from model.registry import create_generator
from storage.database import Database
from storage.media_store import MediaStore


@dataclass
class Parts:
    db: Database
    core: Sorabox

    async def close(self) -> None:
        await self.core.executor.close()
        await self.db.aclose()


def build_executor(settings: Settings) -> Executor:
    """The local worker, or the Ray cluster when SORABOX_EXECUTOR=ray."""
    if settings.executor == "ray":
        from core.execution.ray import RayExecutor  # the [ray] extra

        return RayExecutor.from_settings(settings)
    generator = create_generator(settings.backend, settings.environ, settings.model_dir)
    return LocalExecutor(generator, workers=settings.generation_workers)


def build_core(
    settings: Settings,
    executor: Executor | None = None,
    extensions: list[JobExtension] | None = None,
    *,
    features: bool = False,
) -> Parts:
    """The core over the settings' database and media folder. With `features` (what `sorabox serve` runs): the cameo
    commands and consent checks, the watermark and, when configured, C2PA signing."""
    # The generator first: a backend that cannot load should fail before anything is opened.
    executor = executor or build_executor(settings)
    all_extensions = list(extensions or [])
    cameos = None
    if features:
        from core.cameos.service import cameo_features  # OpenCV and the voice detector load with it

        cameos, provenance = cameo_features(settings, executor.backend)
        all_extensions.extend(provenance)
    db = Database(settings.database_path)
    core = Sorabox(
        db=db,
        media=MediaStore(settings.media_dir),
        executor=executor,
        settings=settings,
        moderation=ModerationFile(settings.data_dir / "moderation.toml"),
        extensions=all_extensions,
        cameos=cameos,
    )
    return Parts(db, core)


class NoExecutor:
    """For CLI commands that read the database and never generate."""

    capacity = 0
    backend = "none"

    @property
    def availability(self) -> Availability:
        return Availability("none", False, datetime.now(UTC), 0, "this command does not generate")

    async def run(self, *args: object) -> object:
        raise RuntimeError("this command does not generate")

    async def close(self) -> None:
        return None
