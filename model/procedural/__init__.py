"""The default backend: a procedural physics world with sound made from its own events."""

from model.procedural.generator import ProceduralGenerator, ProceduralSettings

__all__ = ["ProceduralGenerator", "ProceduralSettings"]
