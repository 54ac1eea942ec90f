"""The Discord adapter's settings, read from the `SORABOX_DISCORD_*` variables passed in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.settings import SettingsError, read_public_url

PREFIX = "SORABOX_DISCORD_"
# Discord's default per-file upload limit when no interaction told us the real one.
DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class DiscordSettings:
    """Everything the adapter needs besides the core.

    api_base replaces `https://discord.com/api/v10` (a proxy or a test server), gateway_url replaces
    `wss://gateway.discord.gg/`; None keeps Discord's own.
    """

    token: str
    guild_ids: tuple[int, ...] = ()  # sync commands to these servers at once; empty: global sync
    api_base: str | None = None
    gateway_url: str | None = None
    public_url: str = ""  # the service's web base, for links to clips too large to upload
    # Progress edits of one deferred response at most this often (the interaction webhook allows ~5 per 2 s).
    progress_interval_seconds: float = 1.0
    # Once an interaction token is gone, progress goes to one ordinary message, edited at most this often.
    fallback_interval_seconds: float = 5.0
    # A job with progress but no watch (admitted before a restart) gets its own status message after this long;
    # the wait lets the interaction that has just admitted a job claim it first.
    orphan_grace_seconds: float = 2.0
    # Pending deliveries are looked for this often even without a DeliveriesPending event.
    delivery_poll_seconds: float = 5.0
    # A post that failed because Discord was unreachable is tried again after this long.
    delivery_retry_seconds: float = 15.0
    # discord.py waits this long after READY for the servers' GUILD_CREATEs before it calls itself ready.
    guild_ready_timeout: float = 2.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DiscordSettings | None:
        """None when SORABOX_DISCORD_TOKEN is unset or empty (the adapter is off)."""
        token = environ.get(PREFIX + "TOKEN", "").strip()
        if not token:
            return None
        guild_ids = []
        for part in re.split(r"[,\s]+", environ.get(PREFIX + "GUILD_IDS", "").strip()):
            if not part:
                continue
            if not part.isdigit():
                raise SettingsError(f"{PREFIX}GUILD_IDS must be server ids separated by commas, got {part!r}")
            guild_ids.append(int(part))
        api_base = environ.get(PREFIX + "API_BASE", "").strip().rstrip("/") or None
        gateway_url = environ.get(PREFIX + "GATEWAY_URL", "").strip() or None
        for name, url in (("API_BASE", api_base), ("GATEWAY_URL", gateway_url)):
            if url is not None and not re.match(r"^(https?|wss?)://", url):
                raise SettingsError(f"{PREFIX}{name} must be an http(s) or ws(s) URL, got {url!r}")
        return cls(
            token=token,
            guild_ids=tuple(guild_ids),
            api_base=api_base,
            gateway_url=gateway_url,
            public_url=read_public_url(environ),
        )
