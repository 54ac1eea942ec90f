"""HMAC signatures for cookies and media links, with a key kept in the data folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from core.settings import SettingsError

KEY_BYTES = 32  # HMAC-SHA256's block is 64 bytes; 32 random bytes is its full security level


def load_key(path: Path) -> bytes:
    """The service's signing key, created (readable by its owner only) on first use.

    A key file shorter than KEY_BYTES is refused, never used: with an empty key anyone could forge media links and
    CSRF tokens. The file is written whole or not at all, so a crash cannot leave such a file behind.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return _create_key(path)
    if len(key) < KEY_BYTES:
        raise SettingsError(
            f"{path} holds {len(key)} bytes, too short to sign with (at least {KEY_BYTES}); delete it and sorabox "
            "makes a new one (everyone signed in to the console signs in again)"
        )
    return key


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link appears whole and never replaces a file: when two processes start at once, one key wins and
        # the other reads it.
        os.link(temporary, path)
    except FileExistsError:
        return load_key(path)
    finally:
        os.unlink(temporary)
    return key


class Signer:
    """Signs short strings; each use has its own purpose string so a signature for one is no good for another."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def signature(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.signature(purpose, value), signature)

    def seal(self, purpose: str, value: str) -> str:
        """`value.signature`, for a cookie."""
        return f"{value}.{self.signature(purpose, value)}"

    def unseal(self, purpose: str, sealed: str | None) -> str | None:
        """The value of a sealed string, or None when it is missing or its signature is wrong."""
        if not sealed or "." not in sealed:
            return None
        value, _, signature = sealed.rpartition(".")
        return value if self.verify(purpose, value, signature) else None
