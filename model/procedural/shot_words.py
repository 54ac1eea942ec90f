"""Words the prompt grammar leaves to the director and the set: tracking, from above, and the place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from model.procedural.director import ABOVE_ELEVATION
from model.procedural.scene import SceneSpec

TRACKING = re.compile(r"\b(tracking|tracks|follow(?:ing)? (?:shot|cam|camera)|camera follows)\b", re.I)
STILL = re.compile(r"\b((static|still|fixed|locked[- ]off|steady) (camera|shot|cam)|tripod)\b", re.I)
ABOVE = re.compile(r"\b(from above|overhead|top[- ]down|bird'?s[- ]eye|aerial|from the top)\b", re.I)
# Place words and the setting each implies; "pool" is also a fixture (the water), which the layout adds.
PLACES: dict[str, tuple[str, str]] = {
    "gym": ("gym", "indoor"), "gymnasium": ("gym", "indoor"), "sports hall": ("gym", "indoor"),
    "kitchen": ("kitchen", "indoor"), "living room": ("living_room", "indoor"), "lounge": ("living_room", "indoor"),
    "sitting room": ("living_room", "indoor"), "street": ("street", "outdoor"), "road": ("street", "outdoor"),
    "sidewalk": ("street", "outdoor"), "alley": ("street", "outdoor"), "beach": ("beach", "outdoor"),
    "seaside": ("beach", "outdoor"), "shore": ("beach", "outdoor"), "poolside": ("pool", "outdoor"),
    "swimming pool": ("pool", "outdoor"), "pool": ("pool", "outdoor"),
}  # fmt: skip
_PLACE_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, PLACES), key=len, reverse=True)) + r")\b", re.I)


@dataclass
class ShotWords:
    """What was found: the camera follows, looks from above, and the place named (or "")."""

    tracking: bool = False
    still: bool = False
    above: bool = False
    place: str = ""
    setting: str = ""
    words: list[str] = field(default_factory=list)  # the words used, to drop from the grammar's unused list


def read_shot_words(prompt: str) -> ShotWords:
    found = ShotWords()
    for m in TRACKING.finditer(prompt):
        found.tracking = True
        found.words += m.group(0).lower().split()
    for m in STILL.finditer(prompt):
        found.still = True
        found.words += m.group(0).lower().split()
    for m in ABOVE.finditer(prompt):
        found.above = True
        found.words += m.group(0).lower().split()
    place = _PLACE_RE.search(prompt)
    if place:
        found.place, found.setting = PLACES[place.group(0).lower()]
        found.words += place.group(0).lower().split()
    return found


def default_place(scene: SceneSpec) -> str:
    """A fitting set when none is named: a gym for a hoop indoors, a kitchen for a table, a street outdoors."""
    kinds = {f.kind for f in scene.fixtures}
    indoor = scene.environment.setting == "indoor"
    if "pool" in kinds:
        return "pool"
    if "backboard" in kinds:
        return "gym" if indoor else "street"
    if indoor:
        return "kitchen" if "table" in kinds else "living_room"
    return ""


def apply_shot_words(scene: SceneSpec, words: ShotWords) -> bool:
    """Set the camera and place the words ask for; True when the camera must be re-aimed."""
    cam, env = scene.camera, scene.environment
    reframe = False
    if words.tracking and cam.move != "track":
        cam.move, reframe = "track", True
    if words.still and (cam.follow or cam.move != "static"):
        cam.move, cam.follow, reframe = "static", False, True
    if words.above and cam.elevation != ABOVE_ELEVATION:
        cam.elevation, reframe = ABOVE_ELEVATION, True
    if words.place:
        env.place = words.place
        if not env.rain or words.setting == "outdoor":
            env.setting = words.setting
    elif not env.place:
        env.place = default_place(scene)
    return reframe
