"""The process's log output: one handler on the root logger, with every configured secret masked wherever it appears.

httpx logs each request URL at INFO, and a Telegram Bot API URL carries the bot token (`/bot<TOKEN>/getUpdates`);
a traceback can carry it too. Masking the formatted line, not just the message, covers arguments and tracebacks alike.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

MASK = "***"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Variables whose values are credentials. A name ending in _FILE or _PATH names where a secret lives, not the secret.
_SECRET_NAME = re.compile(r"^SORABOX_\w*(TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY)$")
# Shapes of credentials that may reach a log without being configured here (a token pasted into a prompt, say).
_TOKEN_SHAPES = (
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}"),  # a Telegram bot token
    re.compile(r"\b[\w-]{24,}\.[\w-]{6}\.[\w-]{27,}"),  # a Discord bot token
)
# Libraries that log every HTTP request at INFO: useful while debugging, noise (and URLs) otherwise.
_CHATTY_LOGGERS = ("httpx", "httpcore", "urllib3")
_SHORTEST_SECRET = 6  # masking shorter values would blank ordinary words


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The configured credentials, longest first (so a secret that contains another is masked whole)."""
    values = {v.strip() for k, v in environ.items() if _SECRET_NAME.match(k) and len(v.strip()) >= _SHORTEST_SECRET}
    return sorted(values, key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    for shape in _TOKEN_SHAPES:
        text = shape.sub(MASK, text)
    return text


class SecretMaskingFormatter(logging.Formatter):
    """Formats a record as usual, then masks the secrets in the whole line (message, arguments and traceback)."""

    def __init__(self, secrets: Iterable[str], fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record), self.secrets)


def configure_logging(
    environ: Mapping[str, str], verbose: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Send the process's logs to `stream` (stderr by default) through the masking formatter; returns the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(SecretMaskingFormatter(secrets_in(environ)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, SecretMaskingFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler
