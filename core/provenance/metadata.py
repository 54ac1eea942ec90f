"""What a clip's file says about where it came from."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from core.records import JobRecord, iso
from model.generator import Clip


def clip_meta(clip: Clip) -> dict[str, Any]:
    return {
        "width": clip.width,
        "height": clip.height,
        "fps": clip.fps,
        "seconds": round(clip.seconds, 3),
        **{k: v for k, v in clip.metadata.items() if k not in {"width", "height", "fps", "seconds"}},
    }


def provenance(job: JobRecord, backend: str, now: datetime, model: str | None = None) -> dict[str, str]:
    """What the MP4's metadata says about where the clip came from.

    `model` is the backend's own name for what made the clip (the weights folder for ltx2, the scene
    format for procedural); the backend's name stands in when it reports none.
    """
    return {
        "comment": json.dumps(
            {
                "generator": "sorabox",
                "job": job.id,
                "backend": backend,
                "model": model or backend,
                "prompt_sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
                "created": iso(now),
            },
            sort_keys=True,
        ),
        "encoder": "sorabox",
    }
