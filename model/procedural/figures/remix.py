"""Remix across the figures: "make it a dog", "now he catches it", "make it snow" change what was asked and
keep the rest (the grammar's own remix, model/procedural/edit.py, handles colours, rain, objects)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from model.procedural.figures.reading import SNOW
from model.procedural.figures.staging import catch
from model.procedural.figures.verbs import Motion
from model.procedural.figures.words import ANIMALS, BODY_PLAN_SCALE, PEOPLE, PRONOUNS, VERBS
from model.procedural.scene import SceneSpec

_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)
# What a body's action becomes when it is turned into an animal or a person ("make it a dog": the ball's drop
# becomes the dog's jump).
_ACTION_VERB = {"drop": "jump", "throw": "jump", "roll": "run", "slide": "run", "collide": "run", "off": "jump",
                "topple": "fall"}  # fmt: skip


@dataclass
class FigureEdit:
    kind: str | None = None  # "make it a dog": the figure (or the first object) becomes this
    word: str = ""
    verbs: list[str] = field(default_factory=list)  # "now he catches it"
    snow: float | None = None
    used: set[str] = field(default_factory=set)


def read_remix(prompt: str) -> FigureEdit:
    words = [w.lower() for w in _WORD.findall(prompt)]
    edit = FigureEdit()
    for i, w in enumerate(words):
        if w in PEOPLE or w in ANIMALS:
            edit.kind, edit.word = PEOPLE.get(w) or ANIMALS[w], w
            edit.used.add(w)
        elif w in VERBS and (edit.kind is not None or any(p in PRONOUNS for p in words[:i])):
            if w in {"waves", "wave"} and i > 0 and words[i - 1] in {"the", "big", "huge"}:
                continue
            edit.verbs.append(VERBS[w])
            edit.used.add(w)
        elif w in PRONOUNS:
            edit.used.add(w)
        elif w in SNOW:
            edit.snow = SNOW[w]
            edit.used.add(w)
    return edit


def without_words(prompt: str, words: set[str]) -> str:
    """The prompt less the words this remix took (so the grammar does not read "snow" as a colour)."""
    if not words:
        return prompt
    return _WORD.sub(lambda m: "" if m.group(0).lower() in words else m.group(0), prompt)


def apply_figure_edit(scene: SceneSpec, edit: FigureEdit) -> list[str]:
    """Apply to `scene` in place; the changes, for the clip's notes."""
    changes: list[str] = []
    if edit.snow:
        scene.environment.snow = edit.snow
        scene.environment.setting = "outdoor"
        changes.append(f"snow: {edit.snow:g}")
    fig = scene.figures[0] if scene.figures else None
    if edit.kind is not None:
        if fig is not None and (fig.kind != edit.kind or fig.word != edit.word):
            fig.kind, fig.word, fig.scale = edit.kind, edit.word, BODY_PLAN_SCALE.get(edit.word, 1.0)
            changes.append(f"{fig.id}: now a {edit.word}")
        elif fig is None:
            changes.extend(_object_becomes_figure(scene, edit))
            fig = scene.figures[0] if scene.figures else None
    if edit.verbs and fig is not None:
        verb = edit.verbs[0]
        ready = verb in {"catch", "throw", "kick", "wave", "backflip"}  # these start from a moment's stillness
        fig.script = [Motion("stand", seconds=0.4), Motion(verb)] if ready else [Motion(verb)]
        changes.append(f"{fig.id}: {verb}")
        held = fig.holds or fig.catches
        if verb == "catch" and held:
            catch(scene, fig, held)
    return changes


def _object_becomes_figure(scene: SceneSpec, edit: FigureEdit) -> list[str]:
    """No figure yet: the first moving object becomes the person or animal, doing what the object did."""
    from model.procedural.figures.spec import FigureSpec

    body = next((o for o in scene.objects if not o.static and o.shape != "figure"), None)
    if body is None or edit.kind is None:
        return []
    scene.objects.remove(body)
    verb = _ACTION_VERB["roll" if abs(body.velocity[0]) > 0.5 else "drop"]
    scene.figures.append(FigureSpec(id=f"{edit.kind}-fig00", kind=edit.kind, word=edit.word, x=body.position[0] - 0.3,
                                    script=[Motion(verb)], scale=BODY_PLAN_SCALE.get(edit.word, 1.0),
                                    z=body.z))  # fmt: skip
    return [f"{body.id}: now a {edit.word}"]
