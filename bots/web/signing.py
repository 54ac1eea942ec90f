"""HMAC signatures for cookies and media links, with a key kept in the data folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_key(path: Path) -> bytes:
    """The service's signing key, created (readable by its owner only) on first use."""
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL: when two processes start at once, one key wins and the other reads it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
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
