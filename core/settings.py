"""One settings object, read from `SORABOX_*` environment variables and an optional `sorabox.toml`.

The environment is passed in (never read from `os.environ` here), so tests need no monkeypatching.
In `sorabox.toml`, a key `data_dir = "/srv/sorabox"` means `SORABOX_DATA_DIR`; tables flatten with
underscores (`[telegram] token = "..."` means `SORABOX_TELEGRAM_TOKEN`). The environment wins.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.commands import Limits
from core.jobs.output_check import OutputCheckPolicy
from core.jobs.quotas import QuotaPolicy

PREFIX = "SORABOX_"


class SettingsError(Exception):
    """A setting has a value we cannot use; the message names the variable."""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}".upper().replace("-", "_")
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}_"))
        elif isinstance(value, bool):
            flat[PREFIX + name] = "1" if value else "0"
        elif isinstance(value, list):
            flat[PREFIX + name] = ",".join(str(v) for v in value)
        else:
            flat[PREFIX + name] = str(value)
    return flat


def config_path(environ: Mapping[str, str], toml_path: Path | None = None) -> Path | None:
    """The `sorabox.toml` in use: the one given, else `SORABOX_CONFIG`, else none.

    Only the command line falls back to `./sorabox.toml` (it passes that path in): a library or a test that builds
    settings never reads a file from whatever directory it happens to run in.
    """
    if toml_path is not None:
        return toml_path
    named = environ.get("SORABOX_CONFIG", "")
    return Path(named) if named else None


def merged_environment(environ: Mapping[str, str], toml_path: Path | None = None) -> dict[str, str]:
    """The environment with `sorabox.toml` values filled in underneath it."""
    path = config_path(environ, toml_path)
    merged: dict[str, str] = {}
    if path is not None and path.exists():
        try:
            merged.update(_flatten(tomllib.loads(path.read_text())))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    merged.update(environ)
    return merged


_TABLE_HEADER = re.compile(r"^\s*\[")


def write_config_value(path: Path, key: str, value: str) -> None:
    """Set the top-level `key = "value"` in a `sorabox.toml` (created if missing), keeping everything else as the
    operator wrote it, comments included. The file is replaced atomically and only if the result reads back."""
    lines = path.read_text().splitlines() if path.exists() else []
    entry = f"{key} = {json.dumps(value)}"  # a JSON string is a valid TOML basic string
    top_level_end = next((i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)), len(lines))
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    existing = next((i for i in range(top_level_end) if assignment.match(lines[i])), None)
    if existing is not None:
        lines[existing] = entry
    else:
        # A key written below a [table] header would belong to that table: go above the first header, and above
        # the blank lines and comments that lead into it.
        at = top_level_end
        if at < len(lines):
            while at > 0 and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
                at -= 1
        lines.insert(at, entry)
    text = "\n".join(lines) + "\n"
    try:
        written = tomllib.loads(text).get(key)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} could not be edited ({exc}); add the line {entry} yourself") from exc
    if written != value:
        raise SettingsError(f"{path} could not be edited; add the line {entry} at its top yourself")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number from the variable `name` (a full name, so the code names every variable it reads)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0, above: bool = False) -> float:
    """A number from the variable `name` (a full name, prefix included): at least `minimum`, or more than it
    when `above`. Refused with a message naming the variable."""
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum or (above and value == minimum):
        bound = "more than" if above else "at least"
        raise SettingsError(f"{name} must be {bound} {minimum:g}, got {raw!r}")
    return value


def read_public_url(env: Mapping[str, str]) -> str:
    """SORABOX_PUBLIC_URL, the base URL people and platforms reach the service's web routes at, without a trailing
    slash. The one place it is read: `Settings.public_url`, and adapter settings built from the same environment."""
    return env.get("SORABOX_PUBLIC_URL", "").strip().rstrip("/")


# The largest cameo reference video accepted, in bytes (model.likeness.LikenessPolicy's default).
CAMEO_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Every setting of the core, parsed once from the environment (and `sorabox.toml`) by `from_env`.

    Adapters parse their own variables from `environ` once, at the composition root (bots/serve.py). Every
    `SORABOX_*` variable is listed in docs/CONFIGURATION.md; tests/core/test_configuration_table.py keeps the two equal.
    """

    data_dir: Path = Path("data")
    backend: str = "procedural"
    model_dir: Path | None = None
    executor: str = "local"  # local | ray
    ray_address: str = "auto"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_url: str = ""  # how chat platforms reach the media route; default http://host:port
    generation_workers: int = 1
    max_jobs_per_user: int = 3
    max_queue: int = 200
    quota: QuotaPolicy = field(default_factory=QuotaPolicy)
    limits: Limits = field(default_factory=Limits)
    # The nudity check on generated frames (core/jobs/output_check.py): SORABOX_OUTPUT_CHECK*.
    output_check: OutputCheckPolicy = field(default_factory=OutputCheckPolicy)
    # The name in the watermark, the C2PA manifest and cameo consent texts.
    service_name: str = "sorabox"
    cameo_max_bytes: int = CAMEO_MAX_BYTES
    # The most memory one job may take (core/jobs/resources.py estimates it at admission): SORABOX_JOB_MEMORY_MB.
    job_memory_bytes: int = 6 * 2**30
    # Seconds a clip's generation takes before any has been measured; queue estimates start here.
    initial_estimate_seconds: float = 10.0
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    config_path: Path | None = None  # the sorabox.toml read (it may not exist); None: no file was named

    @property
    def database_path(self) -> Path:
        return self.data_dir / "sorabox.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], toml_path: Path | None = None) -> Settings:
        env = merged_environment(environ, toml_path)
        model_dir = env.get("SORABOX_MODEL_DIR")
        executor = env.get("SORABOX_EXECUTOR", "local")
        if executor not in {"local", "ray"}:
            raise SettingsError(f"SORABOX_EXECUTOR must be local or ray, got {executor!r}")
        limits = Limits(
            max_prompt_chars=_int(env, "SORABOX_MAX_PROMPT_CHARS", Limits.max_prompt_chars),
            max_seconds=float(_int(env, "SORABOX_MAX_SECONDS", int(Limits.max_seconds))),
        )
        return cls(
            data_dir=Path(env.get("SORABOX_DATA_DIR", "data")),
            backend=env.get("SORABOX_BACKEND", "procedural"),
            model_dir=Path(model_dir) if model_dir else None,
            executor=executor,
            ray_address=env.get("SORABOX_RAY_ADDRESS", "auto"),
            web_host=env.get("SORABOX_WEB_HOST", "127.0.0.1"),
            web_port=_int(env, "SORABOX_WEB_PORT", 8080),
            public_url=read_public_url(env),
            generation_workers=_int(env, "SORABOX_GENERATION_WORKERS", 1),
            max_jobs_per_user=_int(env, "SORABOX_MAX_JOBS_PER_USER", 3),
            max_queue=_int(env, "SORABOX_MAX_QUEUE", 200),
            quota=QuotaPolicy(
                daily_credits=_int(env, "SORABOX_DAILY_CREDITS", QuotaPolicy.daily_credits),
                reset_hour_utc=_int(env, "SORABOX_QUOTA_RESET_HOUR_UTC", 0),
                chat_admin_max_credits=_int(env, "SORABOX_CHAT_ADMIN_MAX_CREDITS", QuotaPolicy.chat_admin_max_credits),
            ),
            limits=limits,
            output_check=OutputCheckPolicy.from_environ(env),
            service_name=env.get("SORABOX_SERVICE_NAME", "sorabox"),
            cameo_max_bytes=_int(env, "SORABOX_CAMEO_MAX_BYTES", CAMEO_MAX_BYTES),
            job_memory_bytes=_int(env, "SORABOX_JOB_MEMORY_MB", 6 * 1024) * 2**20,
            environ=env,
            config_path=config_path(environ, toml_path),
        )
