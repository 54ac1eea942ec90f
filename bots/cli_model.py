"""`sorabox model ...`: operator tools for the GPU model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.settings import Settings, SettingsError, write_config_value


def cmd_tiny_ltx2(args: argparse.Namespace, settings: Settings) -> int:
    from model.ltx2.tiny import write_tiny_ltx2  # here, not at the top: model.ltx2 loads torch (~1 s)

    folder = Path(args.directory).expanduser().resolve()
    try:
        # model.ltx2 imports diffusers and transformers only when a model is built, so this is where a missing
        # [ltx2] extra shows.
        write_tiny_ltx2(folder, seed=args.seed)
    except ImportError as exc:
        sys.stderr.write(f"sorabox: the ltx2 backend needs the [ltx2] extra: {exc}\n")
        return 2
    sys.stdout.write(f"wrote a tiny random LTX-2 model to {folder} (a dry run: its clips are noise)\n")
    configured = settings.model_dir
    if configured is not None and configured.expanduser().resolve() != folder:
        # The operator chose a model already; a dry run must not quietly replace it.
        sys.stdout.write(f"--backend ltx2 still loads {configured}; `sorabox model use {folder}` switches\n")
        return 0
    return _use(folder, settings)


def cmd_use(args: argparse.Namespace, settings: Settings) -> int:
    # The folder checks are plain file tests: they need no [ltx2] extra (imported here: model.ltx2 loads torch).
    from model.ltx2.folder import ModelFolderError, check_model_folder

    folder = Path(args.directory).expanduser().resolve()
    try:
        checked = check_model_folder(folder)
    except ModelFolderError as exc:
        sys.stderr.write(f"sorabox: {exc}\n")
        return 2
    if checked.is_tiny:
        sys.stdout.write(f"note: {folder} is the tiny random model of `sorabox model tiny-ltx2`: its clips are noise\n")
    return _use(folder, settings)


def _use(folder: Path, settings: Settings) -> int:
    """Record `folder` as the model `--backend ltx2` loads, in the sorabox.toml the settings came from."""
    try:
        write_config_value(settings.config_path, "model_dir", str(folder))
    except (SettingsError, OSError) as exc:
        sys.stderr.write(f"sorabox: {exc}\n")
        return 2
    sys.stdout.write(f"{settings.config_path}: model_dir = {folder} (what --backend ltx2 loads)\n")
    overriding = os.environ.get("SORABOX_MODEL_DIR")
    if overriding and Path(overriding).expanduser().resolve() != folder:
        sys.stdout.write(f"note: SORABOX_MODEL_DIR={overriding} in this environment overrides it\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    model = sub.add_parser("model", help="tools for the GPU model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    tiny = model_sub.add_parser(
        "tiny-ltx2",
        help="write a tiny random LTX-2 folder (a dry run, and for tests); "
        "it becomes the model --backend ltx2 loads unless one is configured",
    )
    tiny.add_argument("directory")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=cmd_tiny_ltx2)
    use = model_sub.add_parser(
        "use", help="check an LTX-2 folder and record it as model_dir in sorabox.toml (what --backend ltx2 loads)"
    )
    use.add_argument("directory")
    use.set_defaults(func=cmd_use)
