"""Remix: edit a stored scene by a prompt, changing only what the prompt asks for."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

from model.procedural.colors import CSS_COLORS, color_rgb
from model.procedural.layout import KINDS, fixture_spec, place_groups, start_motion
from model.procedural.materials import MATERIALS, material
from model.procedural.prompt import FixtureRequest, ObjectGroup, parse_prompt
from model.procedural.scene import BodySpec, SceneSpec, SpeechSpec


@dataclass
class EditResult:
    scene: SceneSpec
    changes: list[str] = field(default_factory=list)
    unused_words: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reframe: bool = False  # the camera must be re-aimed (objects added or framing changed)


def _recolor(obj: object, color: str | None, mat: str | None) -> list[str]:
    changes = []
    if color and color in CSS_COLORS:
        obj.color, obj.color_name = color_rgb(color), color  # type: ignore[attr-defined]
        changes.append(f"{obj.id}: colour {color}")  # type: ignore[attr-defined]
    if mat and mat in MATERIALS:
        obj.material = mat  # type: ignore[attr-defined]
        if not color and obj.color_name in MATERIALS:  # type: ignore[attr-defined]
            obj.color, obj.color_name = material(mat).color, mat  # type: ignore[attr-defined]
        changes.append(f"{obj.id}: material {mat}")  # type: ignore[attr-defined]
    return changes


def _is_kind(obj: BodySpec, kind: str) -> bool:
    """Whether a remix noun names this object ("ball" also names a basketball or a tennis ball)."""
    return obj.kind == kind or (kind == "ball" and obj.shape == "sphere") or (kind == "figure" and obj.kind == "robot")


def apply_edit(source: SceneSpec, prompt: str, seed: int) -> EditResult:
    """A copy of `source` with the prompt's edits applied; untouched objects keep their initial conditions."""
    scene = copy.deepcopy(source)
    parsed = parse_prompt(prompt)
    result = EditResult(scene, unused_words=parsed.unused_words, notes=list(parsed.notes))
    rng = random.Random(seed)
    env = scene.environment
    for attr in ("setting", "time", "rain", "wind"):
        value = getattr(parsed, attr)
        if value is not None and getattr(env, attr) != value:
            setattr(env, attr, value)
            result.changes.append(f"{attr}: {value}")
    if env.rain and env.setting == "indoor":
        env.setting = "outdoor"
        result.notes.append("rain is only drawn outdoors; moved the scene outside")
    if parsed.camera and parsed.camera != scene.camera.move:
        scene.camera.move = parsed.camera
        result.changes.append(f"camera: {parsed.camera}")
    if parsed.framing and parsed.framing != scene.camera.framing:
        scene.camera.framing = parsed.framing
        result.changes.append(f"framing: {parsed.framing}")
        result.reframe = True
    if parsed.pace is not None and parsed.pace != scene.pace:
        scene.pace = parsed.pace
        result.changes.append(f"pace: {parsed.pace}")
    # Removals: "remove the cube", "without the wall".
    for what, kind in parsed.negated:
        if what == "object":
            before = len(scene.objects)
            scene.objects = [o for o in scene.objects if not _is_kind(o, kind)]
            if len(scene.objects) != before:
                result.changes.append(f"removed {kind}")
                result.reframe = True
        elif what == "fixture" and kind != "floor":
            scene.fixtures = [f for f in scene.fixtures if f.kind != kind]
            result.changes.append(f"removed {kind}")
    # Edits of objects already there, or additions.
    new_groups: list[ObjectGroup] = []
    for group in parsed.groups:
        matching = [o for o in scene.objects if _is_kind(o, group.kind)]
        if matching and not parsed.adds:
            for obj in matching:
                result.changes.extend(_recolor(obj, group.color, group.material))
            if group.action:
                movable = [o for o in matching if o.shape != "figure"]
                for obj in movable:
                    obj.velocity, obj.spin, obj.angle = (0.0, 0.0), 0.0, 0.0
                    start_motion(scene, group, obj, movable, rng, {f.kind for f in scene.fixtures})
                result.changes.append(f"{group.kind}: {group.action}")
        else:
            new_groups.append(group)
    for request in parsed.fixtures:
        existing = next((f for f in scene.fixtures if f.kind == request.kind), None)
        if existing is None:
            scene.fixtures.append(fixture_spec(request, env.setting))
            result.changes.append(f"added {request.kind}")
            result.reframe = True
        elif request.material or request.color:
            fresh = fixture_spec(FixtureRequest(request.kind, request.material or existing.material,
                                                request.color), env.setting)  # fmt: skip
            existing.material, existing.color = fresh.material, fresh.color
            result.changes.append(f"{request.kind}: {request.material or request.color}")
    if new_groups:
        place_groups(scene, new_groups, rng, start_index=len(scene.objects))
        result.changes.append("added " + ", ".join(f"{g.count} {g.kind}" for g in new_groups))
        result.reframe = True
    # "make it blue", "make them metal": adjectives with no noun apply to every movable object.
    if parsed.loose:
        targets = [o for o in scene.objects if o.shape != "figure"] or scene.objects
        for obj in targets:
            result.changes.extend(_recolor(obj, parsed.loose.get("color"), parsed.loose.get("material")))
    if parsed.speech:
        figures = [o for o in scene.objects if KINDS[o.kind].shape == "figure"]
        if not figures:
            place_groups(scene, [ObjectGroup(kind="figure")], rng, start_index=len(scene.objects))
            figures = [o for o in scene.objects if o.shape == "figure"]
            result.reframe = True
        scene.speech = [SpeechSpec(figures[min(i, len(figures) - 1)].id, line, 0.4 + 2.0 * i)
                        for i, line in enumerate(parsed.speech)]  # fmt: skip
        result.changes.append("speech")
    if not result.changes:
        result.notes.append("nothing in the remix prompt changed the scene")
    return result
