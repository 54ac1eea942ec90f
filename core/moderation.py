"""The content policy: named categories of terms, applied to every text that becomes a prompt.

Operators edit the lists without code: a `moderation.toml` in the data folder adds terms to a
category or new categories (`[categories] my_category = ["term", ...]`), and per-community additions
are keyed by platform and guild (`[communities."discord:1234"] extra = ["term"]`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class ModerationPolicy:
    categories: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    communities: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> ModerationPolicy:
        """The defaults, extended by the operator's file when it exists."""
        categories = {k: tuple(v) for k, v in DEFAULT_CATEGORIES.items()}
        communities: dict[str, tuple[str, ...]] = {}
        if path is not None and path.exists():
            data = tomllib.loads(path.read_text())
            for name, terms in data.get("categories", {}).items():
                categories[name] = tuple(categories.get(name, ())) + tuple(str(t).lower() for t in terms)
            for key, table in data.get("communities", {}).items():
                communities[key] = tuple(str(t).lower() for t in table.get("extra", ()))
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


@functools.lru_cache(maxsize=256)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    # A term starts at a word boundary, so "kid" does not match "skid"; it may be a stem ("mutilat").
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in terms) + ")")
