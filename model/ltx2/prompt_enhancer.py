"""A prompt enhancer that needs no download: a chat user's short prompt, expanded by a fixed template.

LTX models are trained on long, concrete captions (subject, action, setting, camera, light, sound); a chat prompt is
a few words. The procedural grammar's parser already reads those words into objects, actions, fixtures, camera, time
of day and weather, so the template fills each slot from what it understood and a neutral default where it did not.
Deterministic: the same prompt always gives the same text. The user's own words always come first, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model.procedural.prompt import parse_prompt

LONG_ENOUGH_WORDS = 40  # a prompt this long is already a caption: leave it as written

_COUNTS = {1: "a", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_NOUNS = {
    "figure": ("person", "people"), "robot": ("robot", "robots"), "tennis_ball": ("tennis ball", "tennis balls"),
    "box": ("box", "boxes"), "domino": ("domino", "dominoes"),
}  # fmt: skip
_ACTIONS = {
    "drop": "falls and bounces, each impact visibly squashing and rebounding",
    "roll": "rolls across the surface, spinning and slowing naturally",
    "slide": "slides across the surface and skids to a stop",
    "throw": "is thrown through the air in a clear arc",
    "topple": "tips, topples over and comes to rest",
    "collide": "collide with each other and scatter",
    "off": "goes over the edge and drops out of frame",
    "stand": "stands still while the scene moves around it",
    "bank": "bounces off the surface and rebounds",
}
_CAMERAS = {
    "pan": "The camera pans smoothly to follow the action",
    "orbit": "The camera slowly orbits the subject",
    "static": "The camera is locked off on a tripod",
}
_FRAMINGS = {"close": " in a close-up", "wide": " in a wide shot"}
_LIGHTS = {
    "day": "Bright natural daylight with crisp shadows",
    "night": "Dim night lighting with soft practical lights and deep shadows",
    "sunset": "Warm, low golden sunset light with long shadows",
}
_SOUNDS = {
    "drop": "a clear impact sound on every bounce, in sync with each contact",
    "bank": "a clear impact sound on every bounce, in sync with each contact",
    "collide": "sharp impact sounds exactly when they hit",
    "topple": "a thud as it lands",
    "roll": "a continuous rolling sound",
    "slide": "a scraping slide",
    "throw": "a whoosh through the air",
}


@dataclass(frozen=True)
class EnhancedPrompt:
    """The text given to the model, and the slots it was built from (empty `details` when left as written)."""

    original: str
    text: str
    details: str

    @property
    def changed(self) -> bool:
        return self.text != self.original


def enhance_prompt(prompt: str) -> EnhancedPrompt:
    """Expand `prompt` with subject, action, setting, camera, light and sound sentences; never raises."""
    original = " ".join(prompt.split())
    if not original or len(original.split()) >= LONG_ENOUGH_WORDS:
        return EnhancedPrompt(original, original, "")
    parsed = parse_prompt(original)
    groups = list(getattr(parsed, "groups", []) or [])
    fixtures = list(getattr(parsed, "fixtures", []) or [])
    sentences = [
        f"The shot shows {_subject(groups)}{_where(fixtures, parsed)}.",
        _action(groups, getattr(parsed, "pace", None)),
        _camera(getattr(parsed, "camera", None), getattr(parsed, "framing", None)),
        f"{_LIGHTS.get(str(getattr(parsed, 'time', '')), 'Soft, natural lighting with gentle shadows')}; "
        "realistic colours and textures.",
        f"Sound: {_sound(groups, parsed)}.",
    ]
    details = " ".join(sentences)
    return EnhancedPrompt(original, f"{original.rstrip('.')}. {details}", details)


def _noun(group: Any) -> str:
    kind = str(getattr(group, "kind", "object"))
    singular, plural = _NOUNS.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    count = int(getattr(group, "count", 1) or 1)
    words = [_COUNTS.get(count, str(count))]
    scale = float(getattr(group, "scale", 1.0) or 1.0)
    if scale >= 1.5:
        words.append("large")
    elif scale <= 0.7:
        words.append("small")
    for attribute in ("color", "material"):
        value = getattr(group, attribute, None)
        if value:
            words.append(str(value))
    words.append(singular if count == 1 else plural)
    if words[0] == "a" and words[1][:1] in "aeiou":
        words[0] = "an"
    return " ".join(words)


def _subject(groups: list[Any]) -> str:
    if not groups:
        return "the subject the prompt names, clearly visible and in focus"
    names = [_noun(group) for group in groups[:3]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _where(fixtures: list[Any], parsed: Any) -> str:
    parts = []
    if fixtures:
        fixture = fixtures[0]
        material = getattr(fixture, "material", None)
        parts.append(f" near a {material + ' ' if material else ''}{getattr(fixture, 'kind', 'surface')}")
    setting = getattr(parsed, "setting", None)
    parts.append({"indoor": " indoors", "outdoor": " outdoors"}.get(str(setting), " in a realistic, coherent setting"))
    if getattr(parsed, "rain", None):
        parts.append(", in the rain")
    if getattr(parsed, "wind", None):
        parts.append(", in gusty wind")
    return "".join(parts)


def _action(groups: list[Any], pace: Any) -> str:
    actions = [(group, getattr(group, "action", None)) for group in groups if getattr(group, "action", None)]
    actions.sort(key=lambda pair: pair[1] == "stand")  # the thing that moves is the action to describe
    if actions:
        group, action = actions[0]
        # Actions the grammar learns later than this table get a plain verb.
        verb = _ACTIONS.get(str(action), "moves as the prompt describes")
        many = int(getattr(group, "count", 1) or 1) > 1
        name = _noun(group).split(" ", 1)[1]
        sentence = f"Each of the {name} {verb}" if many and action != "collide" else f"The {name} {verb}"
    else:
        sentence = "The subject moves naturally and continuously through the whole clip"
    if pace is not None and float(pace) < 1.0:
        sentence += ", in slow motion"
    return sentence + "."


def _camera(camera: Any, framing: Any) -> str:
    return (
        _CAMERAS.get(str(camera), "A steady camera frames the subject at eye level")
        + _FRAMINGS.get(str(framing), "")
        + "."
    )


def _sound(groups: list[Any], parsed: Any) -> str:
    sounds = []
    for line in list(getattr(parsed, "speech", []) or [])[:2]:
        sounds.append(f'a clear voice says "{line}"')
    for group in groups:
        sound = _SOUNDS.get(str(getattr(group, "action", "")))
        if sound and sound not in sounds:
            sounds.append(sound)
    if getattr(parsed, "rain", None):
        sounds.append("the patter of rain")
    if getattr(parsed, "wind", None):
        sounds.append("wind gusting")
    sounds.append("ambient sound that matches the setting")
    return ", ".join(sounds)
