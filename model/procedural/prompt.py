"""A readable grammar of words and phrases that turns a prompt into a scene description.

Parsing is two passes: a greedy longest-phrase match turns words into typed tokens (colour, material,
object, action, ...), then a small left-to-right pass attaches adjectives and actions to objects.
Every word is either used, a filler word, or reported back in `unused_words`: nothing is silently dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from model.procedural.colors import COLOR_PREFIXES, CSS_COLORS
from model.procedural.materials import MATERIAL_SYNONYMS

MAX_PROMPT_CHARS = 2_000
MAX_SPEECH_CHARS = 240
MAX_OBJECTS = 12

OBJECTS: dict[str, str] = {
    "ball": "ball", "balls": "ball", "sphere": "ball", "spheres": "ball", "orb": "ball", "orbs": "ball",
    "marble": "ball", "marbles": "ball",
    "basketball": "basketball", "basketballs": "basketball",
    "football": "football", "footballs": "football", "soccer ball": "football", "soccer balls": "football",
    "soccerball": "football",
    "tennis ball": "tennis_ball", "tennis balls": "tennis_ball", "tennisball": "tennis_ball",
    "cube": "cube", "cubes": "cube", "block": "cube", "blocks": "cube", "dice": "cube", "die": "cube",
    "box": "box", "boxes": "box", "package": "box", "parcel": "box",
    "crate": "crate", "crates": "crate",
    "rock": "rock", "rocks": "rock", "pebble": "rock", "pebbles": "rock", "boulder": "rock", "stone ball": "rock",
    "log": "log", "logs": "log", "plank": "plank", "planks": "plank",
    "bottle": "bottle", "bottles": "bottle",
    "domino": "domino", "dominoes": "domino", "dominos": "domino",
    "can": "can", "cans": "can", "tin can": "can", "soda can": "can", "tin cans": "can", "soda cans": "can",
    "drinking glass": "glass", "drinking glasses": "glass", "wine glass": "glass", "wine glasses": "glass",
    "wineglass": "glass", "wineglasses": "glass", "tumbler": "glass", "tumblers": "glass", "glasses": "glass",
    "person": "figure", "people": "figure", "man": "figure", "men": "figure", "woman": "figure",
    "women": "figure", "figure": "figure", "figures": "figure", "guy": "figure", "girl": "figure", "boy": "figure",
    "someone": "figure", "character": "figure", "robot": "robot", "robots": "robot",
}  # fmt: skip
PLURALS = frozenset(
    {"balls", "spheres", "orbs", "marbles", "basketballs", "footballs", "soccer balls", "tennis balls", "cubes",
     "blocks", "dice", "boxes", "crates",
     "rocks", "pebbles", "logs", "planks", "bottles", "dominoes", "dominos", "cans", "tin cans", "soda cans",
     "drinking glasses", "wine glasses", "wineglasses", "tumblers", "glasses",
     "people", "men", "women", "figures", "robots"}
)  # fmt: skip

NUMBERS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "both": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "several": 3, "few": 3, "some": 3, "many": 6, "lots": 6, "dozen": 12, "half": 0,
}  # fmt: skip
SIZES: dict[str, float] = {
    "tiny": 0.4, "little": 0.6, "small": 0.7, "medium": 1.0, "big": 1.5, "large": 1.5, "huge": 2.2,
    "giant": 2.6, "enormous": 2.6, "massive": 2.4,
}  # fmt: skip
# Kinds that throw things in the active voice ("a robot throws a cube"); anything else is thrown ("is thrown at").
THROWERS = {"figure", "robot"}
ACTIONS: dict[str, str] = {
    "drop": "drop", "drops": "drop", "dropped": "drop", "dropping": "drop",
    "fall": "drop", "falls": "drop", "falling": "drop", "fell": "drop", "falls down": "drop",
    "bounce": "drop", "bounces": "drop", "bouncing": "drop", "bounced": "drop",
    "roll": "roll", "rolls": "roll", "rolling": "roll", "rolled": "roll", "rolls down": "roll",
    "slide": "slide", "slides": "slide", "sliding": "slide", "slid": "slide", "skids": "slide", "glides": "slide",
    "collide": "collide", "collides": "collide", "colliding": "collide", "collided": "collide",
    "crash": "collide", "crashes": "collide", "hits": "collide",
    # Smashing into something is a collision; smashing on its own is breaking (BREAKS).
    "smash into": "collide", "smashes into": "collide", "smashed into": "collide", "smashing into": "collide",
    "smash against": "collide", "smashes against": "collide", "smashed against": "collide",
    "hit": "collide", "bump": "collide", "bumps": "collide",
    "topple": "topple", "topples": "topple", "toppling": "topple", "toppled": "topple",
    "tips over": "topple", "tip over": "topple", "falls over": "topple", "fall over": "topple",
    "knocked over": "topple", "knocks over": "topple", "tumble": "topple", "tumbles": "topple",
    "thrown at": "throw", "is thrown at": "throw", "thrown": "throw", "throws": "throw", "throw": "throw",
    "tossed": "throw", "tosses": "throw", "shoots": "throw", "shot at": "throw", "flies": "throw",
    "stands": "stand", "standing": "stand", "waits": "stand", "watches": "stand",
    # Off a table: starts on its top and goes over the edge (a plain "falls" drops from above).
    "falls off": "off", "fall off": "off", "fell off": "off", "falling off": "off", "drops off": "off",
    "collapse": "collapse", "collapses": "collapse", "collapsing": "collapse", "collapsed": "collapse",
    "crumbles": "collapse", "knocked down": "collapse", "comes down": "collapse", "falls apart": "collapse",
    "float": "float", "floats": "float", "floating": "float", "bobs": "float", "bobbing": "float",
    "sink": "sink", "sinks": "sink", "sinking": "sink", "sank": "sink",
    "splash": "splash", "splashes": "splash", "splashing": "splash", "plunges": "splash", "dives": "splash",
    "bounces off": "bank", "bounce off": "bank", "bouncing off": "bank", "rebounds off": "bank",
    "rebounds": "bank", "banks off": "bank", "ricochets off": "bank",
    "rolls off": "off", "roll off": "off", "rolling off": "off", "slides off": "off", "slide off": "off",
    "sliding off": "off", "knocked off": "off", "knocks off": "off", "pushed off": "off", "tumbles off": "off",
    "topples off": "off",
}  # fmt: skip
FIXTURES: dict[str, str] = {
    "floor": "floor", "ground": "floor", "surface": "floor", "pavement": "floor", "road": "floor",
    "ramp": "ramp", "slope": "ramp", "incline": "ramp", "hill": "ramp",
    "wall": "wall", "walls": "wall",
    "backboard": "backboard", "hoop": "backboard", "hoops": "backboard", "basket": "backboard",
    "basketball hoop": "backboard", "net": "backboard", "rim": "backboard",
    "flight of stairs": "stairs", "flight of steps": "stairs",
    "pool": "pool", "swimming pool": "pool", "water": "pool", "pond": "pool", "lake": "pool", "tank": "pool",
    "stairs": "stairs", "staircase": "stairs", "steps": "stairs", "stair": "stairs", "stairway": "stairs",
    "table": "table", "desk": "table", "tables": "table", "bench": "table", "counter": "table",
    "countertop": "table", "worktop": "table", "kitchen counter": "table",
}  # fmt: skip
SETTINGS: dict[str, tuple[str, str]] = {
    "indoor": ("setting", "indoor"), "indoors": ("setting", "indoor"), "inside": ("setting", "indoor"),
    "room": ("setting", "indoor"), "kitchen": ("setting", "indoor"), "gym": ("setting", "indoor"),
    "hall": ("setting", "indoor"), "studio": ("setting", "indoor"), "warehouse": ("setting", "indoor"),
    "outdoor": ("setting", "outdoor"), "outdoors": ("setting", "outdoor"), "outside": ("setting", "outdoor"),
    "park": ("setting", "outdoor"), "street": ("setting", "outdoor"), "yard": ("setting", "outdoor"),
    "court": ("setting", "outdoor"), "garden": ("setting", "outdoor"), "playground": ("setting", "outdoor"),
    "day": ("time", "day"), "daytime": ("time", "day"), "morning": ("time", "day"), "noon": ("time", "day"),
    "afternoon": ("time", "day"), "sunny": ("time", "day"), "daylight": ("time", "day"),
    "night": ("time", "night"), "nighttime": ("time", "night"), "midnight": ("time", "night"),
    "dark": ("time", "night"), "moonlight": ("time", "night"), "moonlit": ("time", "night"),
    "sunset": ("time", "sunset"), "dusk": ("time", "sunset"), "dawn": ("time", "sunset"),
    "sunrise": ("time", "sunset"), "evening": ("time", "sunset"), "golden hour": ("time", "sunset"),
    "rain": ("rain", "1"), "rains": ("rain", "1"), "raining": ("rain", "1"), "rainy": ("rain", "1"),
    "storm": ("rain", "1"), "stormy": ("rain", "1"), "downpour": ("rain", "1"), "drizzle": ("rain", "0.4"),
    "wind": ("wind", "4"), "windy": ("wind", "4"), "breeze": ("wind", "2"), "breezy": ("wind", "2"),
    "gale": ("wind", "9"), "gusty": ("wind", "6"),
    "static": ("camera", "static"), "still": ("camera", "static"), "tripod": ("camera", "static"),
    "pan": ("camera", "pan"), "pans": ("camera", "pan"), "panning": ("camera", "pan"),
    "tracking": ("camera", "pan"), "orbit": ("camera", "orbit"), "orbits": ("camera", "orbit"),
    "orbiting": ("camera", "orbit"), "circling": ("camera", "orbit"), "circles": ("camera", "orbit"),
    "close-up": ("framing", "close"), "close up": ("framing", "close"), "closeup": ("framing", "close"),
    "close": ("framing", "close"), "macro": ("framing", "close"), "zoomed in": ("framing", "close"),
    "wide": ("framing", "wide"), "wide shot": ("framing", "wide"), "wide-angle": ("framing", "wide"),
    "wide angle": ("framing", "wide"), "establishing": ("framing", "wide"), "far": ("framing", "wide"),
    "slow motion": ("pace", "0.25"), "slow-motion": ("pace", "0.25"), "slowmo": ("pace", "0.25"),
    "slow-mo": ("pace", "0.25"), "slow mo": ("pace", "0.25"), "slowly": ("pace", "0.5"),
    "slow": ("pace", "0.5"), "real time": ("pace", "1"), "realtime": ("pace", "1"),
    "normal speed": ("pace", "1"),
}  # fmt: skip
# Verbs that ask for the subject to break; only a material that breaks (glass) can (layout.py says so otherwise).
BREAKS = frozenset({"break", "breaks", "breaking", "broke", "broken", "shatter", "shatters", "shattering",
                    "shattered", "smash", "smashes", "smashing", "smashed", "cracks"})  # fmt: skip
# The material word "glass" is also the noun for a drinking glass: "a glass falls", "the red glass", but not "a
# glass ball" (a material before its noun) or "made of glass". "A glass of water" is figures/reading.py's vessel.
GLASS_NOUN = "glass"
_BEFORE_A_NOUN = frozenset({"number", "color", "size", "material"})
_DETERMINERS = frozenset({"the", "this", "that", "another"})
# "a stack of boxes", "a tower of blocks": the objects are piled one on another.
ARRANGEMENTS = frozenset({"stack", "stacks", "tower", "towers", "pile", "piles", "pyramid", "heap", "stacked",
                          "piled"})  # fmt: skip
# "a row of dominoes", "dominoes fall in a long line": more than the three a bare plural gets.
ROWS = frozenset({"row", "rows", "line", "lines", "chain", "chains", "queue", "series", "sequence"})
ROW_COUNT = 8
SPEECH_VERBS = frozenset({"says", "say", "said", "saying", "speaks", "shouts", "yells", "whispers", "sings",
                          "asks", "announces", "tells", "exclaims", "replies"})  # fmt: skip
UNITS: dict[str, float] = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "cm": 0.01, "centimeters": 0.01,
    "centimetres": 0.01, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "mm": 0.001,
}  # fmt: skip
HEIGHT_WORDS: dict[str, float] = {"high": 2.5, "high up": 2.5, "height": 2.0, "sky": 4.0, "roof": 4.0,
                                  "low": 0.5, "ceiling": 3.0}  # fmt: skip
FILLER = frozenset(
    {"the", "on", "onto", "in", "into", "at", "of", "from", "to", "and", "with", "then", "it", "its", "is",
     "are", "was", "were", "be", "by", "off", "down", "up", "over", "across", "against", "each", "other",
     "another", "while", "as", "that", "this", "these", "those", "very", "made", "which", "who", "toward",
     "towards", "under", "near", "next", "beside", "scene", "shot", "video", "clip", "camera", "view", "along",
     "through", "after", "before", "they", "them", "their", "there", "here", "around", "upon", "a",
     "an", "again", "first", "finally", "slowly", "quickly", "fast", "just", "gently", "hard", "softly", "time",
     "motion", "where", "when", "out", "away", "about", "shows", "show", "showing", "back", "forth", "both",
     "one", "than", "so", "also", "lands", "landing", "land", "falls", "inside", "seen",
     "filmed", "for", "make", "makes", "let", "lets", "please", "now", "side", "left", "right", "top",
     "bottom", "middle", "center", "centre", "s", "rests", "resting", "sits", "sitting", "lying"}
)  # fmt: skip

_VOCAB: dict[str, tuple[str, str]] = {}
for _w, _v in OBJECTS.items():
    _VOCAB[_w] = ("object", _v)
for _w, _v in ACTIONS.items():
    _VOCAB[_w] = ("action", _v)
for _w, _v in FIXTURES.items():
    _VOCAB[_w] = ("fixture", _v)
for _w, (_k, _v) in SETTINGS.items():
    _VOCAB[_w] = (_k, _v)
for _w, _v in MATERIAL_SYNONYMS.items():
    _VOCAB.setdefault(_w, ("material", _v))
for _w, _s in SIZES.items():
    _VOCAB[_w] = ("size", str(_s))
for _w, _h in HEIGHT_WORDS.items():
    _VOCAB.setdefault(_w, ("height_word", str(_h)))
_VOCAB["tin"] = ("material", "metal")
_MAX_PHRASE = 3


@dataclass
class ObjectGroup:
    """One noun phrase: `count` objects of one kind with their adjectives and what they do."""

    kind: str
    count: int = 1
    color: str | None = None
    material: str | None = None
    scale: float = 1.0
    action: str | None = None
    height: float | None = None  # metres above the ground the object starts (its bottom)
    target: str | None = None  # what a thrown object is thrown at: a fixture kind or an object kind
    label: str = ""  # a cameo handle
    stacked: bool = False  # piled one on another ("a stack of boxes", "a tower of blocks")
    breaks: str = ""  # the word that asked for it to break ("shatters"); empty when none did
    counted: bool = False  # the prompt gave the number ("three balls"), so a "row" does not change it


@dataclass
class FixtureRequest:
    kind: str
    material: str | None = None
    color: str | None = None


@dataclass
class ParsedPrompt:
    """What the grammar understood; `unused_words` are the words it could not place."""

    groups: list[ObjectGroup] = field(default_factory=list)
    fixtures: list[FixtureRequest] = field(default_factory=list)
    setting: str | None = None
    time: str | None = None
    rain: float | None = None
    wind: float | None = None
    camera: str | None = None
    framing: str | None = None
    pace: float | None = None
    speech: list[str] = field(default_factory=list)
    unused_words: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    negated: list[tuple[str, str]] = field(default_factory=list)  # ("object", "ball"), ("fixture", "wall")
    loose: dict[str, str] = field(default_factory=dict)  # adjectives with no noun: "make it blue"
    adds: bool = False  # "add", "another", "more": remix adds objects instead of editing the ones there


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUOTE = re.compile(r"[\"“”«»]([^\"“”«»]{1,2000})[\"“”«»]")
_MARKUP = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"@[\w.\-]+|\d+(?:\.\d+)?|[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def clean_prompt(text: str) -> tuple[str, list[str]]:
    """Strip control characters and markup, cap the length; return the text and notes on what changed."""
    notes: list[str] = []
    text = unicodedata.normalize("NFKC", text)
    if len(text) > MAX_PROMPT_CHARS:
        notes.append(f"prompt cut to its first {MAX_PROMPT_CHARS} characters")
        text = text[:MAX_PROMPT_CHARS]
    stripped = _CONTROL.sub(" ", text)
    if stripped != text:
        notes.append("control characters removed")
    unmarked = _MARKUP.sub(" ", stripped)
    if unmarked != stripped:
        notes.append("markup removed")
    return unmarked, notes


def clean_speech(text: str) -> str:
    """Speech text safe to hand to a TTS engine: printable, single-spaced, bounded."""
    text = "".join(ch for ch in text if ch.isprintable())
    return " ".join(text.split())[:MAX_SPEECH_CHARS]


def _tokens(words: list[str]) -> list[tuple[str, str, str]]:
    """Greedy longest match of words against the vocabulary: (category, value, surface text)."""
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(words):
        matched = False
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n])
            joined = "".join(words[i : i + n])
            if n > 1 and words[i] in COLOR_PREFIXES and joined in CSS_COLORS:
                out.append(("color", joined, phrase))
            elif phrase in _VOCAB:
                cat, val = _VOCAB[phrase]
                out.append((cat, val, phrase))
            elif n == 1 and phrase in CSS_COLORS:
                out.append(("color", phrase, phrase))
            elif n == 1 and phrase in NUMBERS:
                out.append(("number", str(NUMBERS[phrase]), phrase))
            elif n == 1 and re.fullmatch(r"\d+(\.\d+)?", phrase):
                out.append(("number", phrase, phrase))
            elif n == 1 and phrase in UNITS:
                out.append(("unit", str(UNITS[phrase]), phrase))
            elif n == 1 and phrase.startswith("@") and len(phrase) > 1:
                out.append(("cameo", phrase[1:], phrase))
            elif n == 1 and phrase in BREAKS:
                out.append(("break", phrase, phrase))
            elif n == 1 and phrase in ARRANGEMENTS:
                out.append(("arrange", phrase, phrase))
            elif n == 1 and phrase in ROWS:
                out.append(("row", phrase, phrase))
            elif n == 1 and phrase in SPEECH_VERBS:
                out.append(("speak", phrase, phrase))
            elif n == 1 and phrase in {"add", "adds", "another", "more", "plus", "extra", "additional"}:
                out.append(("add", phrase, phrase))
            elif n == 1 and phrase in {"no", "without", "not", "never", "remove", "delete"}:
                out.append(("negate", phrase, phrase))
            elif n == 1 and phrase in FILLER:
                out.append(("filler", phrase, phrase))
            else:
                continue
            i += n
            matched = True
            break
        if not matched:
            out.append(("unknown", words[i], words[i]))
            i += 1
    return out


def _glass_is_the_noun(tokens: list[tuple[str, str, str]], idx: int) -> bool:
    """Whether the material word "glass" at `idx` names a drinking glass: it follows an article, number or adjective
    (or starts the prompt) and no noun follows it; "glass of ..." is left to figures/reading.py's vessels."""
    prev = tokens[idx - 1] if idx > 0 else None
    nxt = tokens[idx + 1] if idx + 1 < len(tokens) else None
    if nxt is not None and (nxt[0] in {"object", "fixture", "color", "material", "size", "cameo"} or nxt[2] == "of"):
        return False
    return prev is None or prev[0] in _BEFORE_A_NOUN or prev[2] in _DETERMINERS


def parse_prompt(text: str) -> ParsedPrompt:
    """Parse a prompt; never raises for any string."""
    text, notes = clean_prompt(text)
    result = ParsedPrompt(notes=notes)
    for match in _QUOTE.finditer(text):
        line = clean_speech(match.group(1))
        if line and len(result.speech) < 3:
            result.speech.append(line)
    text = _QUOTE.sub(" ", text)
    # Split "2m" into "2 m" so a number and its unit are two words.
    words = [w.lower() for w in _WORD.findall(re.sub(r"(\d)([a-zA-Z])", r"\1 \2", text))]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    tokens = _tokens(words)

    pending: dict[str, str] = {}
    last: ObjectGroup | None = None
    last_fixture: FixtureRequest | None = None
    negate = False
    after_from = False
    pending_number: float | None = None
    unused: list[str] = []
    for idx, (cat, val, surface) in enumerate(tokens):
        nxt = tokens[idx + 1] if idx + 1 < len(tokens) else None
        if cat == "negate":
            negate = True
            continue
        if cat == "add":
            result.adds = True
            continue
        negated, negate = (
            (negate, False) if cat not in {"filler", "color", "material", "size", "number"} else (False, negate)
        )
        if cat == "number":
            number = float(val)
            if nxt is not None and nxt[0] == "unit":
                pending_number = number
            else:
                pending["count"] = val
            continue
        if cat == "unit":
            if pending_number is not None:
                height = pending_number * float(val)
                if last is not None and (after_from or last.height is None):
                    last.height = height
                else:
                    pending["height"] = str(height)
                pending_number = None
            continue
        if cat == "filler":
            after_from = surface == "from" or (after_from and surface in {"a", "an", "the"})
            if surface == "from" and nxt is not None and nxt[0] == "number":
                after_from = True
            continue
        if cat == "material" and surface == GLASS_NOUN and _glass_is_the_noun(tokens, idx):
            cat, val = "object", "glass"
        if cat in {"color", "material", "size"}:
            attaches_forward = nxt is not None and nxt[0] in {"object", "fixture", "color", "material", "size", "cameo"}
            prev = tokens[idx - 1][2] if idx > 0 else ""
            if attaches_forward or cat == "size":
                pending[cat] = val
            elif cat == "material" and prev in {"on", "onto", "over", "across"}:
                floor = next((f for f in result.fixtures if f.kind == "floor"), None)
                if floor is None:
                    floor = FixtureRequest(kind="floor")
                    result.fixtures.append(floor)
                floor.material = val
            elif last is not None:
                setattr(last, cat, val)  # "a ball made of glass", "a ball that is red"
            else:
                pending[cat] = val
            continue
        if cat == "object":
            if negated:
                result.negated.append(("object", val))
                pending.clear()
                continue
            plural = surface in PLURALS
            given = int(float(pending.pop("count", "0")))
            count = given or ((ROW_COUNT if pending.pop("row", None) else 3) if plural else 1)
            group = ObjectGroup(kind=val, count=max(1, count), counted=bool(given))
            group.color = pending.pop("color", None)
            group.material = pending.pop("material", None)
            group.scale = float(pending.pop("size", "1"))
            if pending.pop("stacked", None):
                group.stacked = True
                if plural and group.count < 2:
                    group.count = 5  # "a tower of blocks": more than a few, or it is no tower
            if "height" in pending:
                group.height = float(pending.pop("height"))
            if val not in THROWERS and "breaks" in pending:
                group.breaks = pending.pop("breaks")
            if last is not None and last.action == "throw" and last.target is None:
                if last.kind in THROWERS:
                    # "a man throws a ball (at ...)": the ball is what flies; the thrower stays where they are.
                    group.action, last.action = "throw", "stand"
                else:
                    last.target = val  # "a ball is thrown at a robot"
            result.groups.append(group)
            last = group
            continue
        if cat == "row":
            before = tokens[idx - 1] if idx else None
            if before is not None and before[0] == "object" and last is not None and last.count == 1:
                last.count = ROW_COUNT  # "a domino chain": the "a" was the chain's
            elif last is not None and not last.counted and last.count > 1:
                last.count = max(last.count, ROW_COUNT)  # "dominoes fall in a long line"
            elif before is None or before[2] in {"a", "an"}:
                pending.pop("count", None)  # "a row of dominoes": the "a" is the row's, not one domino's
                pending["row"] = "1"
            continue
        if cat == "arrange":
            if last is not None and surface in {"stacked", "piled"}:
                last.stacked = True  # "boxes stacked on a table"
            else:
                pending["stacked"] = "1"
            continue
        if cat == "cameo":
            group = ObjectGroup(kind="figure", label=val)
            group.color = pending.pop("color", None)
            result.groups.append(group)
            last = group
            continue
        if cat == "fixture":
            if negated:
                result.negated.append(("fixture", val))
                continue
            existing = next((f for f in result.fixtures if f.kind == val), None)
            fixture = existing or FixtureRequest(kind=val)
            fixture.material = pending.pop("material", None) or fixture.material
            fixture.color = pending.pop("color", None) or fixture.color
            if existing is None:
                result.fixtures.append(fixture)
            last_fixture = fixture
            if last is not None and last.action == "throw" and last.target is None:
                last.target = val
            continue
        if cat == "action":
            if last is not None:
                last.action = last.action if (val == "drop" and last.action == "throw") else val
            else:
                pending["action"] = val
            continue
        if cat == "break":
            if negated:
                continue  # "it does not break": nothing to do, and nothing left unread
            if last is not None and last.kind not in THROWERS:
                last.breaks = surface
            else:
                pending["breaks"] = surface  # "a man breaks a glass", "breaks": whatever comes next, or all
            continue
        if cat == "height_word":
            if last is not None and last.height is None:
                last.height = float(val)
            continue
        if cat == "speak":
            if last is None or last.kind not in {"figure", "robot"}:
                group = ObjectGroup(kind="figure")
                result.groups.append(group)
                last = group
            continue
        if cat in {"setting", "time", "camera", "framing"}:
            setattr(result, cat, val)
            continue
        if cat in {"rain", "wind"}:
            setattr(result, cat, 0.0 if negated else float(val))
            continue
        if cat == "pace":
            result.pace = float(val)
            continue
        unused.append(surface)
    # Adjectives with no noun after them ("make it blue") are kept for the caller: remix applies them to the scene.
    for key in ("color", "material", "size"):
        if key in pending:
            result.loose[key] = pending.pop(key)
    _ = last_fixture
    if "action" in pending:
        for group in result.groups:
            group.action = group.action or pending["action"]
    if "breaks" in pending:
        breakers = [g for g in result.groups if g.kind not in THROWERS]
        for group in breakers:
            group.breaks = group.breaks or pending["breaks"]
        if result.groups and not breakers:
            result.notes.append(f"'{pending['breaks']}': there is nothing here to break")
    if any(g.action == "collide" for g in result.groups):
        # "a red ball and a blue ball collide": a collision takes both; the verb came after the last of them.
        for group in result.groups:
            if group.action is None and group.kind not in THROWERS:
                group.action = "collide"
    if result.speech and not any(g.kind in {"figure", "robot"} for g in result.groups):
        result.groups.append(ObjectGroup(kind="figure"))
    total = 0
    for group in result.groups:
        group.count = min(group.count, MAX_OBJECTS - total)
        total += group.count
    if any(g.count <= 0 for g in result.groups):
        result.notes.append(f"at most {MAX_OBJECTS} objects; the rest were left out")
        result.groups = [g for g in result.groups if g.count > 0]
    seen: set[str] = set()
    result.unused_words = [w for w in unused if not (w in seen or seen.add(w))][:50]  # type: ignore[func-returns-value]
    return result
