"""The content policy: named categories of terms, applied to every text that becomes a prompt.

Operators edit the lists without code: a `moderation.toml` in the data folder adds terms to a
category or new categories (`[categories] my_category = ["term", ...]`), and per-community additions
are keyed by platform and guild (`[communities."discord:1234"] extra = ["term"]`). The running service
picks up an edited file at the next request (`ModerationFile`); a broken edit keeps the lists it had.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.settings import SettingsError

log = logging.getLogger(__name__)

# Deliberately short: a starting point the operator extends, not a claim of completeness.
DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "sexual content": ("nude", "naked", "porn", "nsfw", "explicit sex", "sexual"),
    "minors": ("child", "children", "kid", "kids", "minor", "minors", "underage", "toddler", "schoolgirl", "schoolboy"),
    "graphic violence": ("gore", "beheading", "dismember", "mutilat", "torture"),
    "public figures": (
        "joe biden",
        "donald trump",
        "barack obama",
        "vladimir putin",
        "xi jinping",
        "taylor swift",
        "elon musk",
        "pope francis",
    ),
    "hate": ("nazi", "white power", "ethnic cleansing"),
    "self-harm": ("suicide", "self-harm", "self harm"),
}


@dataclass(frozen=True)
class Refusal:
    category: str
    term: str


class ContentPolicy(Protocol):
    """What the core asks of a policy: the first rule a text breaks, for a community (`platform:guild`)."""

    def check(self, text: str, community: str | None = None) -> Refusal | None: ...


@dataclass(frozen=True)
class ModerationPolicy:
    categories: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    communities: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> ModerationPolicy:
        """The defaults, extended by the operator's file when it exists; SettingsError names what is wrong in it."""
        categories = {k: tuple(v) for k, v in DEFAULT_CATEGORIES.items()}
        communities: dict[str, tuple[str, ...]] = {}
        if path is None or not path.exists():
            return cls(categories, communities)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path} cannot be read as TOML: {exc}") from exc
        for name, terms in _table(data, "categories", path).items():
            categories[name] = tuple(categories.get(name, ())) + _terms(terms, f"[categories] {name}", path)
        for key, table in _table(data, "communities", path).items():
            if not isinstance(table, dict):
                raise SettingsError(f'{path}: [communities."{key}"] must be a table with extra = [...]')
            communities[key] = _terms(table.get("extra", []), f'[communities."{key}"] extra', path)
        return cls(categories, communities)

    def check(self, text: str, community: str | None = None) -> Refusal | None:
        """The first category the text falls in, or None when it is allowed."""
        lowered = text.lower()
        for category, terms in self.categories.items():
            found = _pattern(terms).search(lowered)
            if found:
                return Refusal(category, found.group(1))
        extra = self.communities.get(community or "", ())
        if extra and (found := _pattern(extra).search(lowered)):
            return Refusal("community rules", found.group(1))
        return None


class ModerationFile:
    """The policy in an operator's `moderation.toml`, re-read when the file changes, so an edit applies to the
    next request without a restart. Checking costs one stat() of the file; an edit that does not parse keeps
    the previous lists and says why in the log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._file_stamp()
        self._policy = ModerationPolicy.load(path)  # at start-up a broken file stops the service: SettingsError

    def check(self, text: str, community: str | None = None) -> Refusal | None:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._policy = ModerationPolicy.load(self.path)
                log.info("moderation: reloaded %s", self.path)
            except SettingsError as exc:
                log.warning("moderation: kept the previous lists: %s", exc)
        return self._policy.check(text, community)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [{name}] must be a table")
    return table


def _terms(value: object, where: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise SettingsError(f'{path}: {where} must be a list of words, like ["spoilers"]')
    return tuple(t.strip().lower() for t in value)


@functools.lru_cache(maxsize=256)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    # A term starts at a word boundary, so "kid" does not match "skid"; it may be a stem ("mutilat").
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in terms) + ")")
