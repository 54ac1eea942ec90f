"""A content-addressed media store: a file's name is the SHA-256 of its bytes, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class MediaStore:
    """Files under `root/ab/cd/<sha256><suffix>`; a reader never sees a half-written file."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str, suffix: str = ".mp4") -> Path:
        if not _SHA.match(sha256):
            raise ValueError(f"`sha256` must be 64 hex digits, got {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str = ".mp4") -> str:
        """Store bytes; returns their SHA-256. Storing the same bytes twice writes once."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha, suffix)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        # Temp file in the same folder, fsync, then rename: rename is atomic within one filesystem.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha256: str, suffix: str = ".mp4") -> bytes:
        return self.path(sha256, suffix).read_bytes()

    def exists(self, sha256: str, suffix: str = ".mp4") -> bool:
        return self.path(sha256, suffix).exists()

    def delete(self, sha256: str, suffix: str = ".mp4") -> bool:
        """Remove a file; returns whether it was there."""
        try:
            self.path(sha256, suffix).unlink()
        except FileNotFoundError:
            return False
        return True

    def remove_temporaries(self) -> int:
        """Delete temp files left by a crash mid-write; called at start-up."""
        count = 0
        for tmp in self.root.glob("*/*/.tmp-*"):
            tmp.unlink(missing_ok=True)
            count += 1
        return count

    def remove_unreferenced(self, referenced: set[str]) -> int:
        """Delete stored files no row refers to (a crash between writing a clip's file and recording the clip);
        called at start-up, before anything can be writing."""
        count = 0
        for path in self.files():
            if path.name.split(".", 1)[0] not in referenced:
                path.unlink(missing_ok=True)
                count += 1
        return count

    def files(self) -> list[Path]:
        return [p for p in self.root.glob("*/*/*") if p.is_file() and not p.name.startswith(".tmp-")]
