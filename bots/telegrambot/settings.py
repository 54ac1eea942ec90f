"""The Telegram adapter's settings, read from the (merged) environment that is passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.settings import SettingsError, env_float, read_public_url

CLOUD_BASE_URL = "https://api.telegram.org/bot"
CLOUD_BASE_FILE_URL = "https://api.telegram.org/file/bot"
MB = 1024 * 1024
# sendVideo through the cloud Bot API takes 50 MB; a self-hosted Bot API server takes 2000 MB.
CLOUD_UPLOAD_LIMIT = 50 * MB
SELF_HOSTED_UPLOAD_LIMIT = 2000 * MB


class TelegramSettingsError(SettingsError):
    """A SORABOX_TELEGRAM_* variable has a value the adapter cannot use; the message names it."""


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    try:
        return env_float(env, name, default, minimum)
    except SettingsError as exc:
        raise TelegramSettingsError(str(exc)) from None


@dataclass(frozen=True)
class TelegramSettings:
    """Everything the Telegram adapter needs besides the core."""

    token: str
    base_url: str = CLOUD_BASE_URL
    base_file_url: str = CLOUD_BASE_FILE_URL
    # Set: webhook mode (updates arrive on the service's aiohttp server); empty: long polling.
    webhook_url: str = ""
    webhook_secret: str = ""
    upload_limit_bytes: int = CLOUD_UPLOAD_LIMIT
    # Long-poll length: Telegram holds getUpdates open this long when nothing happens.
    poll_timeout_seconds: float = 30.0
    # Progress edits per chat are spaced at least this far apart: ~1 message/s per chat and 20/min per
    # group are Telegram's flood limits, and a clip delivery or a reply needs room in between.
    edit_interval_seconds: float = 3.0
    # `upload_video` shows for 5 s; repeat a little sooner so it does not flicker.
    chat_action_interval_seconds: float = 4.5
    # The outbox is polled this often besides the core's DeliveriesPending events (retries come due).
    outbox_poll_seconds: float = 5.0
    # First wait after a network error; doubles per attempt up to `retry_max_seconds`.
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    # Base of links to clips too big to upload (the service's media route), e.g. https://sora.example.org
    public_url: str = ""

    @property
    def webhook_path(self) -> str:
        """The path the service's web server must route to the adapter: the webhook URL's own path."""
        return urlsplit(self.webhook_url).path or "/telegram/webhook"

    @property
    def self_hosted(self) -> bool:
        return self.base_url != CLOUD_BASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str], public_url: str = "") -> TelegramSettings | None:
        """Settings from SORABOX_TELEGRAM_*; None when SORABOX_TELEGRAM_TOKEN is unset (adapter off)."""
        token = environ.get("SORABOX_TELEGRAM_TOKEN", "").strip()
        if not token:
            return None
        if ":" not in token:
            raise TelegramSettingsError(
                "SORABOX_TELEGRAM_TOKEN must look like 123456:ABC-DEF..., as @BotFather gives it"
            )
        base_url = environ.get("SORABOX_TELEGRAM_BASE_URL", "").strip() or CLOUD_BASE_URL
        file_url = environ.get("SORABOX_TELEGRAM_BASE_FILE_URL", "").strip()
        if not file_url:
            # A self-hosted server serves files under /file/bot<token>/ next to /bot<token>/.
            file_url = CLOUD_BASE_FILE_URL if base_url == CLOUD_BASE_URL else _file_url_beside(base_url)
        for name, url in (("SORABOX_TELEGRAM_BASE_URL", base_url), ("SORABOX_TELEGRAM_BASE_FILE_URL", file_url)):
            if urlsplit(url).scheme not in ("http", "https"):
                raise TelegramSettingsError(f"{name} must be an http(s) URL, got {url!r}")
        webhook_url = environ.get("SORABOX_TELEGRAM_WEBHOOK_URL", "").strip()
        if webhook_url and urlsplit(webhook_url).scheme not in ("http", "https"):
            raise TelegramSettingsError(f"SORABOX_TELEGRAM_WEBHOOK_URL must be an http(s) URL, got {webhook_url!r}")
        default_limit = CLOUD_UPLOAD_LIMIT if base_url == CLOUD_BASE_URL else SELF_HOSTED_UPLOAD_LIMIT
        limit_mb = _float(environ, "SORABOX_TELEGRAM_UPLOAD_LIMIT_MB", default_limit / MB, minimum=0.001)
        return cls(
            token=token,
            base_url=base_url,
            base_file_url=file_url,
            webhook_url=webhook_url,
            webhook_secret=environ.get("SORABOX_TELEGRAM_WEBHOOK_SECRET", "").strip(),
            upload_limit_bytes=int(limit_mb * MB),
            poll_timeout_seconds=_float(environ, "SORABOX_TELEGRAM_POLL_TIMEOUT", 30.0),
            edit_interval_seconds=_float(environ, "SORABOX_TELEGRAM_EDIT_INTERVAL", 3.0),
            chat_action_interval_seconds=_float(environ, "SORABOX_TELEGRAM_CHAT_ACTION_INTERVAL", 4.5, 0.1),
            outbox_poll_seconds=_float(environ, "SORABOX_TELEGRAM_OUTBOX_POLL", 5.0, 0.05),
            retry_base_seconds=_float(environ, "SORABOX_TELEGRAM_RETRY_BASE", 2.0, 0.01),
            public_url=(read_public_url(environ) or public_url).rstrip("/"),
        )


def _file_url_beside(base_url: str) -> str:
    """`http://host:8081/bot` -> `http://host:8081/file/bot` (the layout of telegram-bot-api)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    return f"{parts.scheme}://{parts.netloc}{head}/file/{last or 'bot'}"
