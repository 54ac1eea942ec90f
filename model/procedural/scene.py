"""The scene spec: a plain, versioned, JSON-serialisable description of one procedural world."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from model.procedural.figures.spec import FigureSpec

SCENE_VERSION = 1


class SceneVersionError(ValueError):
    """A stored scene was written by a newer (or unknown) version of this backend."""


@dataclass
class BodySpec:
    """One movable object (or a standing figure). Sizes are half extents in metres; spheres use size[0]."""

    id: str
    kind: str  # ball, basketball, football, tennis_ball, cube, box, crate, bottle, domino, can, figure
    shape: str  # sphere | box | cylinder | figure
    size: tuple[float, float, float]  # cylinders: (radius, half height, radius)
    material: str
    color: tuple[float, float, float]
    color_name: str
    position: tuple[float, float]  # (x, y) of the centre; the world is simulated in the x-y plane
    velocity: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0  # rotation about the z axis (radians)
    spin: float = 0.0  # angular velocity about z (rad/s)
    z: float = 0.0  # depth; bodies collide only with bodies whose depth ranges overlap
    static: bool = False
    label: str = ""  # the cameo handle a figure stands for
    # A cylinder's axis in its own frame: "y" stands it up (it tips over in the picture plane), "z" lays it
    # across the view (its side view is a disc, so it rolls). Other shapes ignore it.
    axis: str = "y"
    contents: str = ""  # a liquid inside ("water"): it spills when the vessel tips (model/procedural/figures/)


@dataclass
class FixtureSpec:
    """A static part of the world. Geometry is explicit so remix and extend never re-derive it.

    boxes: (cx, cy, cz, hx, hy, hz, angle) each; circles: (cx, cy, radius) each (a hoop's rim in cross-section).
    """

    kind: str  # floor, ramp, wall, backboard, stairs, table
    material: str
    color: tuple[float, float, float]
    boxes: list[tuple[float, float, float, float, float, float, float]] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class EnvironmentSpec:
    setting: str = "outdoor"  # indoor | outdoor
    time: str = "day"  # day | sunset | night
    rain: float = 0.0  # 0 none .. 1 downpour
    wind: float = 0.0  # m/s, positive blows towards +x
    place: str = ""  # the set: gym | kitchen | living_room | street | beach | pool | "" (a plain ground); sets.py
    snow: float = 0.0  # 0 none .. 1 heavy


@dataclass
class CameraSpec:
    move: str = "static"  # static | follow (turns to follow) | track (travels along) | pan | orbit
    framing: str = "medium"  # medium | close | wide
    # Filled in once the scene is framed; kept so remixes and extensions see the same shot.
    target: tuple[float, float, float] | None = None
    distance: float | None = None
    elevation: float = 0.21  # radians above the horizontal
    fov: float = 0.70  # vertical field of view, radians
    # A tracking shot's target per frame (empty: the camera aims at `target` throughout); see director.py.
    path: list[tuple[float, float, float]] = field(default_factory=list)
    follow: bool = True  # the director may move closer and track the subject; "static camera" turns that off


@dataclass
class SpeechSpec:
    speaker: str  # a BodySpec id
    text: str
    start: float = 0.4  # seconds into the clip


@dataclass
class SceneSpec:
    objects: list[BodySpec] = field(default_factory=list)
    fixtures: list[FixtureSpec] = field(default_factory=list)
    environment: EnvironmentSpec = field(default_factory=EnvironmentSpec)
    camera: CameraSpec = field(default_factory=CameraSpec)
    pace: float = 1.0  # simulated seconds per played second (0.25 = slow motion)
    speech: list[SpeechSpec] = field(default_factory=list)
    seed: int = 0
    version: int = SCENE_VERSION
    figures: list[FigureSpec] = field(default_factory=list)  # articulated people and animals (figures/)

    def floor(self) -> FixtureSpec:
        for fixture in self.fixtures:
            if fixture.kind == "floor":
                return fixture
        raise ValueError("a scene always has a floor")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        version = data.get("version")
        if version != SCENE_VERSION:
            raise SceneVersionError(f"scene version {version!r} is not supported (this backend reads {SCENE_VERSION})")
        return cls(
            objects=[_body(o) for o in data["objects"]],
            fixtures=[_fixture(f) for f in data["fixtures"]],
            environment=EnvironmentSpec(**data["environment"]),
            camera=_camera(data["camera"]),
            pace=float(data["pace"]),
            speech=[SpeechSpec(**s) for s in data.get("speech", [])],
            seed=int(data.get("seed", 0)),
            version=SCENE_VERSION,
            figures=[FigureSpec.from_dict(f) for f in data.get("figures", [])],
        )


def _t(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _body(data: dict[str, Any]) -> BodySpec:
    fields = dict(data)
    for key in ("size", "color", "position", "velocity"):
        fields[key] = _t(fields[key])
    return BodySpec(**fields)


def _fixture(data: dict[str, Any]) -> FixtureSpec:
    return FixtureSpec(
        kind=data["kind"],
        material=data["material"],
        color=_t(data["color"]),  # type: ignore[arg-type]
        boxes=[_t(b) for b in data.get("boxes", [])],  # type: ignore[misc]
        circles=[_t(c) for c in data.get("circles", [])],  # type: ignore[misc]
    )


def _camera(data: dict[str, Any]) -> CameraSpec:
    fields = dict(data)
    if fields.get("target") is not None:
        fields["target"] = _t(fields["target"])
    fields["path"] = [_t(p) for p in fields.get("path", [])]
    return CameraSpec(**fields)
