"""Fitting a clip to a platform's upload limit: the MP4 as it is, a smaller re-encode, or None (post a link)."""

from __future__ import annotations

from pathlib import Path

from model.media import DoesNotFit, decode_clip, fit_to_bytes


def fit_upload(path: Path, limit: int) -> bytes | None:
    """The clip's MP4 if it fits `limit` bytes, else a smaller re-encode, else None. Blocking: run it in a thread."""
    if path.stat().st_size <= limit:
        return path.read_bytes()
    try:
        return fit_to_bytes(decode_clip(path), limit)
    except DoesNotFit:
        return None
