"""Nouns the world has no model for, mapped to the nearest shape it has: an apple is a small ball, a book a flat
box, a mug a can, a rabbit a small cat. The caption says what each became, so nothing is silently a ball.

A curated table, not an embedding model: what matters here is physical likeness (size, shape, how it rolls or
stands), which sentence embeddings do not encode ('sofa' lands next to 'couch', not next to 'box'), and a table
costs nothing to load, is deterministic across library versions, and reads as what it decides.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StandIn:
    """What an unknown noun becomes: an object kind the world draws, with its material and scale if they matter."""

    kind: str
    material: str | None = None
    scale: float = 1.0
    shape_word: str = ""  # how the caption names it: "a small ball"


def _s(kind: str, words: str, material: str | None = None, scale: float = 1.0, says: str = "") -> dict[str, StandIn]:
    stand_in = StandIn(kind, material, scale, says or kind.replace("_", " "))
    return {w: stand_in for w in words.split()}


STAND_INS: dict[str, StandIn] = {
    # round things roll and bounce
    **_s("ball", "apple egg tomato peach plum lemon lime coconut snowball globe pebble acorn cherry grape", None,
         0.8, "small ball"),
    **_s("ball", "watermelon pumpkin melon boulder", "stone", 2.0, "big ball"),
    **_s("ball", "balloon bubble", "plastic", 1.6, "light ball"),
    **_s("ball", "volleyball dodgeball beachball kickball", "rubber", 1.9, "ball"),
    **_s("ball", "baseball softball cricket yarn", "leather", 0.7, "small ball"),
    **_s("ball", "golf puffball", "plastic", 0.45, "tiny ball"),
    **_s("ball", "bowling", "plastic", 2.0, "heavy ball"),
    # flat or boxy things slide and topple
    **_s("box", "book books notebook phone smartphone tablet laptop wallet envelope letter card magazine", None, 0.6,
         "flat box"),
    **_s("box", "suitcase bag backpack present gift parcel toaster microwave oven tv television drawer pillow "
         "cushion mattress fridge"),
    **_s("cube", "brick bricks tofu sugar cheese", None, 0.8, "cube"),
    **_s("box", "chair stool cabinet dresser", "wood", 1.6, "wooden box"),
    **_s("box", "car cars taxi van jeep suv", "metal", 4.0, "car-sized box"),
    **_s("box", "truck bus tractor train tram", "metal", 6.0, "truck-sized box"),
    **_s("box", "skateboard surfboard board plank sled snowboard", "wood", 1.2, "board"),
    **_s("box", "toy lego", "plastic", 0.6, "toy block"),
    **_s("box", "sandcastle", "stone", 1.5, "sand block"),
    # upright round things stand, tip and roll on their side
    **_s("can", "cup mug jar tumbler beaker pot bucket barrel log candle tube pipe thermos", None, 1.0, "cylinder"),
    **_s("can", "coin coins plate plates puck disc frisbee lid pancake pizza record", None, 0.9, "disc"),
    **_s("bottle", "vase teapot kettle jug flask carafe decanter", "glass", 1.0, "bottle"),
    **_s("domino", "pin pins skittle skittles"),
}  # fmt: skip


def stand_in_for(word: str) -> tuple[str, StandIn] | None:
    """The stand-in for a noun (or its singular), with the base word the table knew it by."""
    w = word.lower()
    for base in (w, w[:-1] if w.endswith("s") else "", w[:-2] if w.endswith("es") else ""):
        if base and base in STAND_INS:
            return base, STAND_INS[base]
    return None


def caption_note(word: str, stand_in: StandIn) -> str:
    return f"no model for '{word}': shown as a {stand_in.shape_word}"
