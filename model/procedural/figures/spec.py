"""A figure as the scene stores it: who (rig kind), where, and the script of verbs it performs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.procedural.figures.verbs import Motion


@dataclass
class FigureSpec:
    """An articulated person or animal. `holds`: a body it carries until the script's release (a thrown ball)."""

    id: str
    kind: str  # adult, child, cat, dog, bird, horse
    word: str  # what the prompt called it: "gymnast", "puppy"
    x: float
    script: list[Motion] = field(default_factory=list)
    scale: float = 1.0
    z: float = 0.0
    facing: float = 1.0  # +1 faces +x (right on screen), -1 left
    ground: float = 0.0  # height of the support it starts on
    color: tuple[float, float, float] | None = None
    color_name: str = ""
    holds: str = ""
    catches: str = ""  # a body it catches: free until the catch, then in the hands
    label: str = ""  # a cameo handle: its face goes on the head

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FigureSpec:
        fields = dict(data)
        fields["script"] = [Motion(**m) for m in fields.get("script", [])]
        if fields.get("color") is not None:
            fields["color"] = tuple(float(c) for c in fields["color"])
        return cls(**fields)
