"""Who may put whose cameo into a clip: the rules, applied at admission, before generation and before encoding.

Visibility levels nest: `me` (the owner only) < `approved` (people the owner allowed) < `community`
(approved people, and anyone asking in the one community the owner chose) < `everyone`. A revoked
cameo is usable by nobody, its owner included, until the owner opens it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from core.errors import SoraboxError
from core.identity import Place
from core.jobs.moderation import Refusal
from storage import cameos as cameo_rows

VISIBILITY = ("me", "approved", "community", "everyone")
HANDLE_PATTERN = re.compile(r"^[a-z0-9_]{2,32}$")


class CameoError(SoraboxError):
    """A cameo command that cannot be done (bad handle, taken handle, not the owner)."""


class UnknownCameo(CameoError):
    """No cameo has that handle."""

    def __init__(self, handle: str) -> None:
        super().__init__(f"there is no cameo called @{handle}")
        self.handle = handle


class ConsentRefused(SoraboxError):
    """A cameo's owner has not allowed this person to use it (here, now)."""

    def __init__(self, handle: str, reason: str) -> None:
        super().__init__(f"@{handle} can't be used: {reason}")
        self.handle = handle
        self.reason = reason


class PreferenceRefused(SoraboxError):
    """The prompt touches a topic the cameo's owner ruled out in their preferences; costs no credits."""

    def __init__(self, handle: str, term: str) -> None:
        super().__init__(
            f"this prompt was refused by the content policy (cameo preferences: @{handle} asks for no '{term}')"
        )
        self.handle = handle
        self.term = term
        self.category = "cameo preferences"


@dataclass(frozen=True)
class Cameo:
    id: str
    owner_user_id: str
    handle: str
    display_name: str
    preferences: str
    visibility: str
    community: Place | None
    face_sha256: str | None
    voice_sha256: str | None
    reference_sha256: str | None
    voice_sample_rate: int
    created_at: str
    revoked_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Cameo:
        community = row.get("community")
        return cls(
            id=str(row["id"]),
            owner_user_id=str(row["owner_user_id"]),
            handle=str(row["handle"]),
            display_name=str(row.get("display_name") or row["handle"]),
            preferences=str(row.get("preferences") or ""),
            visibility=str(row["visibility"]),
            community=Place.from_json(str(community)) if community else None,
            face_sha256=_opt(row.get("face_sha256")),
            voice_sha256=_opt(row.get("voice_sha256")),
            reference_sha256=_opt(row.get("reference_sha256")),
            voice_sample_rate=int(row.get("voice_sample_rate") or 16_000),  # type: ignore[call-overload]
            created_at=str(row["created_at"]),
            revoked_at=_opt(row.get("revoked_at")),
        )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def normalise_handle(word: str) -> str:
    """`@Ana_B` -> `ana_b`; raises CameoError naming the rule when it is not a valid handle."""
    handle = word.strip().lstrip("@").lower()
    if not HANDLE_PATTERN.match(handle):
        raise CameoError(f"`{word[:40]}` is not a valid cameo handle: use 2–32 letters, digits or _")
    return handle


def community_key(place: Place) -> str:
    """The community a place belongs to: a Discord guild / Telegram group, or the chat itself."""
    return f"{place.platform}:{place.guild_id or place.channel_id}"


def get_cameo(db: sqlite_utils.Database, handle: str) -> Cameo | None:
    row = cameo_rows.by_handle(db, handle.lower())
    return None if row is None else Cameo.from_row(row)


def get_cameo_by_id(db: sqlite_utils.Database, cameo_id: str) -> Cameo | None:
    row = cameo_rows.by_id(db, cameo_id)
    return None if row is None else Cameo.from_row(row)


def cameos_of(db: sqlite_utils.Database, owner_user_id: str) -> list[Cameo]:
    return [Cameo.from_row(r) for r in cameo_rows.of_owner(db, owner_user_id)]


def is_approved(db: sqlite_utils.Database, cameo_id: str, user_id: str) -> bool:
    return cameo_rows.is_approved(db, cameo_id, user_id)


def refusal_reason(db: sqlite_utils.Database, cameo: Cameo, user_id: str, place: Place) -> str | None:
    """Why `user_id` may not use `cameo` in `place` right now, or None when they may."""
    if cameo.revoked_at is not None:
        return "its owner has turned it off"
    if user_id == cameo.owner_user_id:
        return None
    if cameo.visibility == "everyone":
        return None
    if cameo.visibility in ("approved", "community") and is_approved(db, cameo.id, user_id):
        return None
    if (
        cameo.visibility == "community"
        and cameo.community is not None
        and community_key(cameo.community) == community_key(place)
    ):
        return None
    if cameo.visibility == "community":
        return "its owner allows it only in their community and for people they approved"
    if cameo.visibility == "approved":
        return "its owner has not approved you"
    return "its owner keeps it to themselves"


# -- preferences --------------------------------------------------------------------------------------

# A clause that rules a topic out: "nothing political", "no alcohol", "never violent", "avoid sports".
_FORBID = re.compile(r"^(?:nothing|no|never|not|avoid|without|don'?t show|do not show)\s+(?:any\s+)?(.+)$")
# Words that a ruled-out topic also covers; the operator's moderation.toml can add categories on top.
TOPIC_TERMS: dict[str, tuple[str, ...]] = {
    "politic": ("politic", "election", "president", "senator", "campaign", "parliament", "protest", "vote"),
    "alcohol": ("alcohol", "beer", "wine", "vodka", "whisky", "whiskey", "drunk", "cocktail"),
    "violen": ("violen", "fight", "punch", "gun", "weapon", "blood", "kill"),
    "religio": ("religio", "church", "mosque", "temple", "prayer", "priest"),
    "smok": ("smok", "cigar", "vape"),
    "sport": ("sport", "football", "soccer", "basketball", "tennis"),
}
_SUFFIXES = ("ically", "ical", "ics", "ity", "ence", "ent", "ing", "al", "ly", "s")


def _clauses(preferences: str) -> list[str]:
    return [c.strip() for c in re.split(r"[.;,\n]|\band\b", preferences.lower()) if c.strip()]


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def forbidden_terms(preferences: str) -> tuple[str, ...]:
    """The word stems a cameo's preferences rule out, with the words each ruled-out topic covers."""
    terms: dict[str, None] = {}
    for clause in _clauses(preferences):
        match = _FORBID.match(clause)
        if not match:
            continue
        for word in re.findall(r"[a-z]{3,}", match.group(1)):
            stem = _stem(word)
            terms.setdefault(stem, None)
            for topic, covered in TOPIC_TERMS.items():
                if stem.startswith(topic) or topic.startswith(stem):
                    for term in covered:
                        terms.setdefault(term, None)
    return tuple(terms)


def wishes(preferences: str) -> str:
    """The clauses that describe how to show the person ("always wearing a hat"), not what to avoid."""
    return "; ".join(c for c in _clauses(preferences) if not _FORBID.match(c))


def check_preferences(prompt: str, cameo: Cameo) -> Refusal | None:
    lowered = prompt.lower()
    for term in forbidden_terms(cameo.preferences):
        if re.search(r"(?<![a-z0-9])" + re.escape(term), lowered):
            return Refusal("cameo preferences", term)
    return None


# -- the cameos a job uses ----------------------------------------------------------------------------


def inherited_cameo_ids(db: sqlite_utils.Database, source_clip_ids: Iterable[str]) -> list[str]:
    """Cameos that appear in the clips a remix, extend or stitch starts from: they appear in the result too."""
    ids: dict[str, None] = {}
    for clip_id in source_clip_ids:
        for cameo_id in cameo_rows.cameo_ids_in_clip(db, clip_id):
            ids.setdefault(cameo_id, None)
    return list(ids)


def job_cameos(db: sqlite_utils.Database, handles: Iterable[str], source_clip_ids: Iterable[str]) -> list[Cameo]:
    """Every cameo a job would show: the ones named in its prompt, then the ones its sources show."""
    found: dict[str, Cameo] = {}
    for handle in handles:
        cameo = get_cameo(db, handle)
        if cameo is None:
            raise UnknownCameo(handle)
        found.setdefault(cameo.id, cameo)
    for cameo_id in inherited_cameo_ids(db, source_clip_ids):
        if cameo_id not in found:
            cameo = get_cameo_by_id(db, cameo_id)
            if cameo is None:
                raise ConsentRefused("someone", "a cameo in the source clip was deleted by its owner")
            found[cameo_id] = cameo
    return list(found.values())


def check_consent(db: sqlite_utils.Database, cameo_ids: Iterable[str], user_id: str, place: Place) -> list[Cameo]:
    """Re-check a job's cameos by id; raises ConsentRefused for the first one that is no longer allowed."""
    cameos = []
    for cameo_id in cameo_ids:
        cameo = get_cameo_by_id(db, cameo_id)
        if cameo is None:
            raise ConsentRefused("a cameo", "its owner deleted it")
        reason = refusal_reason(db, cameo, user_id, place)
        if reason is not None:
            raise ConsentRefused(cameo.handle, reason)
        cameos.append(cameo)
    return cameos


def describe(cameo: Cameo, approved: list[str]) -> str:
    who = {
        "me": "only you",
        "approved": "you and the people you approved",
        "community": "you, the people you approved, and members of "
        + (community_key(cameo.community) if cameo.community else "(no community chosen)"),
        "everyone": "everyone",
    }[cameo.visibility]
    lines = [f"@{cameo.handle} ({cameo.display_name})"]
    lines.append("  turned off: nobody can use it" if cameo.revoked_at else f"  who may use it: {who}")
    lines.append("  approved: " + (", ".join(approved) if approved else "nobody yet"))
    lines.append("  preferences: " + (cameo.preferences or "none"))
    return "\n".join(lines)


def to_json_place(place: Place | None) -> str | None:
    return None if place is None else json.dumps(place.as_dict())
