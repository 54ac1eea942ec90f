"""`sorabox admin ...`: operator commands for accounts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.settings import Settings


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from bots.composition import NoExecutor, build_core
    from bots.web import admin_link

    async def main() -> str:
        parts = build_core(settings, executor=NoExecutor())  # type: ignore[arg-type]
        try:
            link: str = await admin_link(parts.core, settings, args.name)
            return link
        finally:
            await parts.close()

    sys.stdout.write(f"one-time sign-in link for {args.name}: {asyncio.run(main())}\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    admin = sub.add_parser("admin", help="accounts and sign-in links")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    link = admin_sub.add_parser("link", help="print a one-time sign-in link for an admin account")
    link.add_argument("name")
    link.set_defaults(func=cmd_link)
