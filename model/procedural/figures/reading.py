"""Reading a prompt for people, animals, what they do, water and weather, and nouns the world has no model for.

It runs after the grammar (model/procedural/prompt.py) and edits its parse: a person who does something becomes
an articulated figure (no longer a standing one), "a glass of water" becomes a glass (not a pool), an unknown noun
becomes its stand-in shape with a note. Every word it places is taken off the parse's unused words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from model.procedural.colors import CSS_COLORS
from model.procedural.figures.words import (
    ANIMALS,
    BODY_PLAN_SCALE,
    PEOPLE,
    PHRASES,
    PRONOUNS,
    STAND_IN_ANIMALS,
    VERBS,
)
from model.procedural.prompt import ACTIONS, NUMBERS, ObjectGroup, ParsedPrompt
from model.procedural.stand_ins import caption_note, stand_in_for

_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)
SUPPORTS = {"sofa": "sofa", "couch": "sofa", "settee": "sofa", "bed": "sofa", "armchair": "sofa", "mat": "mat",
            "mats": "mat", "trampoline": "mat", "carpet": "mat", "rug": "mat", "box": "box", "crate": "box",
            "table": "table", "desk": "table", "fence": "box", "wall": "wall", "chair": "sofa",
            "bench": "table"}  # fmt: skip
WATERS = {"sea": "sea", "ocean": "sea", "waves": "sea", "surf": "sea", "lake": "sea", "pond": "sea", "river": "sea",
          "bay": "sea", "pool": "pool", "water": "pool", "puddle": "pool"}  # fmt: skip
SCENERY = frozenset({"field", "fields", "meadow", "lawn", "grass", "grassy", "park", "countryside", "farm", "forest",
                     "jungle", "hills", "hill", "mountain", "mountains", "city", "village", "town", "square", "market",
                     "track", "road", "trail"})  # fmt: skip
PLACES = {"beach": "beach", "shore": "beach", "sand": "beach", "seaside": "beach", "coast": "beach"}
SNOW = {"snow": 1.0, "snows": 1.0, "snowing": 1.0, "snowy": 0.7, "snowfall": 1.0, "blizzard": 1.0, "snowflakes": 0.6,
        "flurries": 0.4}  # fmt: skip
VESSELS = {"glass": ("glass", "glass", 1.0), "cup": ("can", "plastic", 1.1), "mug": ("can", "plastic", 1.2),
           "bottle": ("bottle", "glass", 1.0), "jar": ("can", "glass", 1.4),
           "bucket": ("can", "metal", 3.0)}  # fmt: skip
LIQUIDS = frozenset({"water", "milk", "juice", "coffee", "tea", "wine", "beer", "soda", "lemonade"})
CLOTHES = frozenset({"shirt", "t-shirt", "dress", "jacket", "coat", "hoodie", "top", "sweater", "jersey", "suit",
                     "uniform", "leotard", "swimsuit", "raincoat", "outfit", "clothes"})  # fmt: skip


@dataclass
class FigureRequest:
    kind: str  # a rig kind
    word: str
    scale: float = 1.0
    verbs: list[str] = field(default_factory=list)
    color: str | None = None
    onto: str | None = None  # a support it ends on: sofa, mat, box, table
    into: str | None = None  # water it goes into: sea, pool
    count: int = 1


@dataclass
class Reading:
    """What this pass understood beyond the grammar."""

    figures: list[FigureRequest] = field(default_factory=list)
    supports: list[str] = field(default_factory=list)  # sofa, mat
    water: str | None = None  # sea or pool
    beach: bool = False
    snow: float | None = None
    liquids: dict[int, str] = field(default_factory=dict)  # index into parsed.groups -> liquid in that vessel
    held: int | None = None  # index into parsed.groups of what the first figure throws
    used: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _words(text: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return [w[:-2] if w.endswith("'s") else w for w in words]


def read_prompt(text: str, parsed: ParsedPrompt) -> Reading:
    """Read `text` for figures, water, weather and stand-ins, and edit `parsed` to match (in place)."""
    words = _words(text.split('"')[0] if text.count('"') >= 2 else text)
    reading = Reading()
    i = 0
    current: FigureRequest | None = None
    pending_color: str | None = None
    pending_count = 1
    while i < len(words):
        w = words[i]
        phrase3, phrase2 = " ".join(words[i : i + 3]), " ".join(words[i : i + 2])
        if phrase3 in PHRASES or phrase2 in PHRASES:
            phrase = phrase3 if phrase3 in PHRASES else phrase2
            if current is not None and PHRASES[phrase] not in current.verbs[-1:]:
                current.verbs.append(PHRASES[phrase])
                reading.used.update(phrase.split())
            i += len(phrase.split())
            continue
        if w in SNOW and (w != "snow" or i + 1 == len(words) or words[i + 1] not in PEOPLE | ANIMALS):
            # Before colours: "snow" is also a CSS colour, but "a bear walks through the snow" is weather.
            reading.snow = max(reading.snow or 0.0, SNOW[w])
            reading.used.add(w)
        elif w in CSS_COLORS:
            pending_color = w
        elif w in NUMBERS and NUMBERS[w] > 1:
            pending_count = NUMBERS[w]
        elif w in PEOPLE or w in ANIMALS:
            kind = PEOPLE.get(w) or ANIMALS[w]
            current = FigureRequest(kind, w, BODY_PLAN_SCALE.get(w, 1.0), color=pending_color, count=pending_count)
            if w in STAND_IN_ANIMALS:
                reading.notes.append(f"no model for '{w}': shown as a {kind}'s body, scaled")
            reading.figures.append(current)
            reading.used.add(w)
            pending_color, pending_count = None, 1
        elif w in PRONOUNS and current is None:
            current = FigureRequest("adult", w)
            reading.figures.append(current)
            reading.used.add(w)
        elif w in VERBS and current is not None and not (w in {"waves", "wave"} and _is_sea_wave(words, i)):
            if VERBS[w] not in current.verbs[-1:]:
                current.verbs.append(VERBS[w])
            reading.used.add(w)
        elif w in CLOTHES and current is not None:
            if pending_color is not None:
                current.color = pending_color
                pending_color = None
            reading.used.add(w)
        elif w in SUPPORTS and current is not None and i > 0 and words[i - 1] in {"onto", "on", "the", "a", "over"}:
            current.onto = SUPPORTS[w]
            if SUPPORTS[w] in {"sofa", "mat"}:
                reading.supports.append(SUPPORTS[w])
                reading.used.add(w)
        elif w in SUPPORTS and SUPPORTS[w] in {"sofa", "mat"}:
            reading.supports.append(SUPPORTS[w])
            reading.used.add(w)
        elif w in WATERS and not _is_liquid(words, i) and (w not in {"waves", "wave"} or _is_sea_wave(words, i)):
            reading.water = reading.water if reading.water == "sea" else WATERS[w]
            if current is not None and w != "puddle":
                current.into = WATERS[w]
            reading.used.add(w)
        elif w in SCENERY and w in parsed.unused_words:
            parsed.setting = parsed.setting or "outdoor"  # out of doors, on the open ground
            reading.used.add(w)
        elif w in PLACES:
            reading.beach = True
            reading.used.add(w)
        i += 1
    _vessels(words, parsed, reading)
    _figures_replace_standing(parsed, reading)
    _stand_ins(words, parsed, reading)
    if reading.water == "sea" or reading.beach:
        # The sea replaces the grammar's pool: one body of water, stretching away from the shore.
        parsed.fixtures = [f for f in parsed.fixtures if f.kind != "pool"]
        parsed.setting = parsed.setting or "outdoor"
    parsed.unused_words = [w for w in parsed.unused_words if w not in reading.used]
    return reading


def _is_sea_wave(words: list[str], i: int) -> bool:
    """'waves crash on the beach' is the sea; 'a man waves' is a greeting."""
    return i == 0 or words[i - 1] in {"the", "big", "huge", "small", "ocean", "sea", "crashing", "of", "on", "over",
                                      "in", "into", "through", "and", "with"}  # fmt: skip


def _is_liquid(words: list[str], i: int) -> bool:
    return i >= 2 and words[i - 1] == "of" and words[i - 2] in VESSELS


def _vessels(words: list[str], parsed: ParsedPrompt, reading: Reading) -> None:
    """'a glass of water': a glass (with water to spill), not a glass-made ball and a pool."""
    for i, w in enumerate(words):
        if w not in VESSELS or i + 2 >= len(words) or words[i + 1] != "of" or words[i + 2] not in LIQUIDS:
            continue
        kind, mat, scale = VESSELS[w]
        action = _action_after(words, i + 3)
        group = ObjectGroup(kind=kind, material=mat, scale=scale, action=action)
        if mat == "glass":
            group.color = "lightcyan"
        parsed.groups.insert(0, group)
        reading.liquids[0] = words[i + 2]
        reading.liquids = {k + (1 if k else 0): v for k, v in reading.liquids.items()}
        if words[i + 2] == "water":
            parsed.fixtures = [f for f in parsed.fixtures if f.kind != "pool"]
            parsed.notes = [n for n in parsed.notes if "pool" not in n]
        reading.used.update({w, words[i + 2]})
        # The grammar read 'glass' as a material waiting for a noun: it is the noun here.
        for g in parsed.groups[1:]:
            if g.material == "glass" and w == "glass" and g.kind != kind:
                g.material = None
        parsed.loose.pop("material", None)
        break


def _action_after(words: list[str], start: int) -> str | None:
    """The grammar's action named first after `start` ("is knocked off", "falls"), if any."""
    for j in range(start, len(words)):
        for n in (3, 2, 1):
            phrase = " ".join(words[j : j + n])
            if phrase in ACTIONS:
                return ACTIONS[phrase]
    return None


def _figures_replace_standing(parsed: ParsedPrompt, reading: Reading) -> None:
    """A person who does something is articulated: the grammar's standing figure for them goes. What the first
    figure throws is held in its hand until the throw."""
    movers = [f for f in reading.figures if f.verbs or f.kind not in {"adult"} or f.word not in _GRAMMAR_PEOPLE]
    standing = [g for g in parsed.groups if g.kind == "figure" and not g.label]
    for fig in movers:
        if fig.kind in {"adult", "child"} and standing:
            g = standing.pop(0)
            fig.color = fig.color or g.color
            parsed.groups.remove(g)
    for fig in reading.figures:
        if "throw" in fig.verbs or "kick" in fig.verbs:
            thrown = next((k for k, g in enumerate(parsed.groups) if g.action == "throw" and g.kind != "figure"), None)
            if thrown is None:
                thrown = next((k for k, g in enumerate(parsed.groups) if g.kind != "figure"), None)
            reading.held = thrown if "throw" in fig.verbs else None
            if thrown is not None:
                parsed.groups[thrown].action = "throw"
            break
    reading.figures = [f for f in reading.figures if f in movers or f.kind != "adult"]


_GRAMMAR_PEOPLE = frozenset({"person", "people", "man", "men", "woman", "women", "figure", "figures", "guy", "girl",
                             "boy", "someone", "character"})  # fmt: skip


def _stand_ins(words: list[str], parsed: ParsedPrompt, reading: Reading) -> None:
    """Unknown nouns become the nearest shape the world has, and the caption says what each became."""
    known = set(reading.used)
    for w in list(parsed.unused_words):
        found = stand_in_for(w)
        if w in known or found is None or len(parsed.groups) >= 12:
            continue
        stand_in = found[1]
        action = _action_after(words, words.index(w) + 1) if w in words else None
        parsed.groups.append(ObjectGroup(kind=stand_in.kind, material=stand_in.material, scale=stand_in.scale,
                                         action=action))  # fmt: skip
        reading.notes.append(caption_note(w, stand_in))
        reading.used.add(w)
