"""The `sorabox` command line: generate a clip, serve the bots and the console, inspect jobs and quotas."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bots.logs import configure_logging
from core.commands import ASPECTS, Limits, _seconds, _size
from core.errors import BadCommand
from core.identity import Actor, Place
from core.settings import Settings, SettingsError
from model.generator import CancelToken, GenerationError, GenerationRequest

Handler = Callable[[argparse.Namespace, Settings], int]


class ProgressBar:
    """A one-line progress bar on a terminal stream; plain lines when it is not a terminal."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last = -1

    def __call__(self, step: int, total: int, stage: str = "generating") -> None:
        total = max(total, 1)
        filled = round(self.width * step / total)
        percent = round(100 * step / total)
        if self.tty:
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r{stage:<10} {bar} {step}/{total}")
            self.stream.flush()
        elif percent // 25 != self._last:
            self._last = percent // 25
            self.stream.write(f"{stage}: {step}/{total}\n")

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _settings(args: argparse.Namespace) -> Settings:
    environ = dict(os.environ)
    if getattr(args, "backend", None):
        environ["SORABOX_BACKEND"] = args.backend
    if getattr(args, "data_dir", None):
        environ["SORABOX_DATA_DIR"] = str(args.data_dir)
    return Settings.from_env(environ, cli_config_path(getattr(args, "config", None), environ))


def cli_config_path(flag: str | None, environ: Mapping[str, str]) -> Path:
    """`--config`, else `SORABOX_CONFIG`, else `./sorabox.toml`: only the command line looks in the working folder."""
    if flag:
        return Path(flag)
    if environ.get("SORABOX_CONFIG"):
        return Path(environ["SORABOX_CONFIG"])
    return Path("sorabox.toml")


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from model.media import encode_mp4
    from model.registry import create_generator

    limits = Limits()
    try:
        options: dict[str, str] = {}
        if args.size:
            options["size"] = args.size
        if args.aspect:
            options["aspect"] = args.aspect
        width, height = _size(options, limits)
        seconds = _seconds(str(args.seconds) if args.seconds is not None else None, limits.default_seconds, limits)
    except BadCommand as exc:
        sys.stderr.write(f"sorabox: {exc}\n")
        return 2
    started = time.perf_counter()
    bar = ProgressBar(sys.stderr)
    try:
        generator = create_generator(settings.backend, settings.environ, settings.model_dir)
        request = GenerationRequest("generate", args.prompt, width, height, seconds, args.seed)
        clip = generator.generate(request, bar, CancelToken())
        bar(1, 1, "encoding")
        data = encode_mp4(clip)
    except GenerationError as exc:
        bar.done()
        sys.stderr.write(f"sorabox: {exc}\n")
        return 1
    bar.done()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.part")
    tmp.write_bytes(data)
    tmp.replace(output)
    elapsed = time.perf_counter() - started
    sys.stdout.write(
        f"wrote {output} ({clip.seconds:.1f} s, {clip.width}x{clip.height}, {len(data) / 1e6:.1f} MB, "
        f"backend {generator.name}) in {elapsed:.1f} s\n"
    )
    unused = clip.metadata.get("unused_words")
    if unused:
        sys.stdout.write(f"words not used: {', '.join(map(str, unused))}\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bots.serve import serve

    if args.port is not None:
        environ = {**settings.environ, "SORABOX_WEB_PORT": str(args.port)}
        settings = dataclasses.replace(settings, web_port=args.port, environ=environ)
    return serve(settings)


def _with_core(settings: Settings, work: Callable[..., object]) -> int:
    from bots.composition import NoExecutor, build_core

    async def main() -> int:
        parts = build_core(settings, executor=NoExecutor())  # type: ignore[arg-type]
        try:
            result = await work(parts.core)  # type: ignore[misc]
        finally:
            await parts.close()
        return int(result or 0)

    return asyncio.run(main())


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: object) -> int:
        jobs = await core.queue_snapshot()  # type: ignore[attr-defined]
        if not jobs:
            sys.stdout.write("no jobs waiting or running\n")
        for job in jobs:
            sys.stdout.write(f"{job.id}  {job.state:<8}  {job.requester:<16.16}  {job.prompt[:60]}\n")
        return 0

    return _with_core(settings, work)


def cmd_quota(args: argparse.Namespace, settings: Settings) -> int:
    who = Actor(platform=args.platform, user_id=args.user, display_name=args.user)
    where = Place(platform=args.platform, channel_id="", guild_id=args.guild)

    async def work(core: object) -> int:
        if args.grant is not None:
            granted = await core.grant_credits(who, args.grant, note=args.note or "")  # type: ignore[attr-defined]
            if not granted.ok:
                sys.stderr.write(f"sorabox: {granted.text}\n")
                return 2
            sys.stdout.write(f"{granted.text}\n")
        status = await core.quota_status(who, where)  # type: ignore[attr-defined]
        sys.stdout.write(
            f"{args.platform}:{args.user}: {status.remaining} of {status.allowance + status.granted} credits left; "
            f"used {status.used}; resets {status.resets_at:%Y-%m-%d %H:%M} UTC\n"
        )
        return 0

    return _with_core(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sorabox", description="Short AI video with sound, in your group chats.")
    parser.add_argument("--config", help="a sorabox.toml (default: ./sorabox.toml if present)")
    parser.add_argument("--data-dir", type=Path, help="where the database and media live (SORABOX_DATA_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="make one clip from a prompt and write it to a file")
    gen.add_argument("prompt")
    gen.add_argument("-o", "--output", default="clip.mp4", help="the MP4 to write (default clip.mp4)")
    gen.add_argument("--seconds", type=float, help="clip length, 1-20 s (default 5)")
    gen.add_argument("--size", help="WxH, e.g. 1280x720")
    gen.add_argument("--aspect", choices=sorted(ASPECTS), help="landscape, portrait or square")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--backend", help="procedural (default), ltx2, or module:Class")
    gen.set_defaults(func=cmd_generate)

    srv = sub.add_parser("serve", help="run the web console and every configured chat bot")
    srv.add_argument("--port", type=int, help="web console port (SORABOX_WEB_PORT; 0 picks a free one)")
    srv.add_argument("--backend", help="procedural (default), ltx2, or module:Class")
    srv.set_defaults(func=cmd_serve)

    jobs = sub.add_parser("jobs", help="list the jobs waiting and running")
    jobs.set_defaults(func=cmd_jobs)

    quota = sub.add_parser("quota", help="show a person's credits today, or grant them more")
    quota.add_argument("user", help="the person's id on the platform")
    quota.add_argument("--platform", default="web")
    quota.add_argument("--guild", help="the Discord server or Telegram group, for per-guild allowances")
    quota.add_argument("--grant", type=int, metavar="N", help="give them N extra credits for today")
    quota.add_argument("--note", help="why (kept in the audit log with the grant)")
    quota.set_defaults(func=cmd_quota)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Command groups that live beside their feature (model, admin, ray, doctor)."""
    import importlib
    import importlib.util

    found = []
    for module in ("bots.cli_model", "bots.cli_admin", "bots.cli_ray", "bots.cli_doctor"):
        if importlib.util.find_spec(module) is not None:
            found.append(importlib.import_module(module).register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        # After the settings, so the secrets of sorabox.toml are masked as well as those of the environment.
        configure_logging(settings.environ, verbose=args.verbose)
        handler: Handler = args.func
        return handler(args, settings)
    except (SettingsError, GenerationError) as exc:
        # A setting the service cannot use (a malformed token, a backend without its weights, a taken port): say which.
        _say_failure(f"sorabox: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


def _say_failure(line: str) -> None:
    """Write one line to stderr, falling back to the process's original stderr if the current one is closed."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.write(line.splitlines()[0] if line else line)
                stream.write("\n")
                stream.flush()
                return
        except (ValueError, OSError):  # closed or broken: try the next one
            continue


if __name__ == "__main__":
    raise SystemExit(main())
