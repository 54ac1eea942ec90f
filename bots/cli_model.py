"""`sorabox model ...`: operator tools for the GPU model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.settings import Settings


def cmd_tiny_ltx2(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from model.ltx2.tiny import write_tiny_ltx2
    except ImportError as exc:
        sys.stderr.write(f"sorabox: the ltx2 backend needs the [ltx2] extra: {exc}\n")
        return 2
    write_tiny_ltx2(Path(args.directory), seed=args.seed)
    sys.stdout.write(f"wrote a tiny random LTX-2 model to {args.directory}\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    model = sub.add_parser("model", help="tools for the GPU model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    tiny = model_sub.add_parser("tiny-ltx2", help="write a tiny random LTX-2 folder (a dry run, and for tests)")
    tiny.add_argument("directory")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=cmd_tiny_ltx2)
