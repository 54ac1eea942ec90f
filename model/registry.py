"""Backends by name: `procedural` (the default), `ltx2`, or `package.module:Class` for your own."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from model.generator import GenerationError, Generator

BACKENDS = ("procedural", "ltx2")


def create_generator(name: str, environ: Mapping[str, str], model_dir: Path | None = None) -> Generator:
    """Build the named backend. Raises GenerationError with a message an operator can act on."""
    if name == "procedural":
        from model.procedural import ProceduralGenerator

        return ProceduralGenerator(device=environ.get("SORABOX_DEVICE") or None)
    if name == "ltx2":
        try:
            from model.ltx2 import LTX2Generator, LTX2Options
        except ImportError as exc:
            raise GenerationError(
                f"the ltx2 backend needs the [ltx2] extra (pip install 'sorabox[ltx2]'): {exc}"
            ) from exc
        if model_dir is None:
            raise GenerationError("the ltx2 backend needs SORABOX_MODEL_DIR: the folder holding the LTX-2 weights")
        return LTX2Generator(model_dir, LTX2Options.from_env(environ))
    if ":" in name:
        module_name, _, class_name = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise GenerationError(f"cannot load backend {name!r}: {exc}") from exc
        generator: Generator = factory()
        return generator
    raise GenerationError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or module:Class")
