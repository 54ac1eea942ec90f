"""Backends for the Ray tests, loaded on replicas by name (`tests.ray.generators:SlowTone`)."""

from __future__ import annotations

from tests.support import ToneGenerator


class SlowTone(ToneGenerator):
    """The test tone generator with steps slow enough to watch, cancel, and kill a replica in the middle of."""

    name = "slow-tone"

    def __init__(self) -> None:
        super().__init__(steps=10, step_seconds=0.15)
