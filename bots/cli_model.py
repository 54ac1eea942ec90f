"""`sorabox model ...`: operator tools for the GPU model."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from core.settings import Settings, SettingsError, write_config_value


def cmd_tiny_ltx2(args: argparse.Namespace, settings: Settings) -> int:
    from model.ltx2.tiny import write_tiny_ltx2  # here, not at the top: model.ltx2 loads torch (~1 s)

    folder = Path(args.directory).expanduser().resolve()
    try:
        # model.ltx2 imports diffusers and transformers only when a model is built, so this is where a missing
        # [ltx2] extra shows.
        write_tiny_ltx2(folder, seed=args.seed, version=args.version, distilled=args.distilled)
    except ImportError as exc:
        sys.stderr.write(f"sorabox: the ltx2 backend needs the [ltx2] extra: {exc}\n")
        return 2
    shape = f"LTX-{args.version}{' distilled' if args.distilled else ''}"
    sys.stdout.write(f"wrote a tiny random {shape} model to {folder} (a dry run: its clips are noise)\n")
    if args.use:
        return _use(folder, settings)
    # A dry run never changes what `serve` runs by itself (issue 21): say how to make it the model.
    configured = settings.model_dir
    if configured is not None:
        sys.stdout.write(f"--backend ltx2 still loads {configured}\n")
    sys.stdout.write(f"to use it: {_use_command(folder, settings)}\n")
    return 0


def _use_command(folder: Path, settings: Settings) -> str:
    """The exact command that records `folder` as the model, for the sorabox.toml these settings came from."""
    config = settings.config_path
    # Named only when it came from --config: ./sorabox.toml and SORABOX_CONFIG are found again by the same command.
    implied = {Path("sorabox.toml"), Path(os.environ.get("SORABOX_CONFIG") or "sorabox.toml")}
    flag = f" --config {shlex.quote(str(config))}" if config is not None and config not in implied else ""
    return f"sorabox{flag} model use {shlex.quote(str(folder))}"


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
    config = settings.config_path or Path("sorabox.toml")  # the CLI always names one; this is for callers that don't
    try:
        write_config_value(config, "model_dir", str(folder))
    except (SettingsError, OSError) as exc:
        sys.stderr.write(f"sorabox: {exc}\n")
        return 2
    sys.stdout.write(f"{config}: model_dir = {folder} (what --backend ltx2 loads)\n")
    overriding = os.environ.get("SORABOX_MODEL_DIR")
    if overriding and Path(overriding).expanduser().resolve() != folder:
        sys.stdout.write(f"note: SORABOX_MODEL_DIR={overriding} in this environment overrides it\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    model = sub.add_parser("model", help="tools for the GPU model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    tiny = model_sub.add_parser(
        "tiny-ltx2",
        help="write a tiny random LTX-2 folder (a dry run, and for tests); --use also makes it the model "
        "--backend ltx2 loads",
    )
    tiny.add_argument("directory")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.add_argument("--version", choices=("2.0", "2.3"), default="2.0", help="which model's shape (default 2.0)")
    tiny.add_argument("--distilled", action="store_true", help="mark it a distilled checkpoint (8 steps, no CFG)")
    tiny.add_argument("--use", action="store_true", help="record it as model_dir in sorabox.toml")
    tiny.set_defaults(func=cmd_tiny_ltx2)
    use = model_sub.add_parser(
        "use", help="check an LTX-2 folder and record it as model_dir in sorabox.toml (what --backend ltx2 loads)"
    )
    use.add_argument("directory")
    use.set_defaults(func=cmd_use)
