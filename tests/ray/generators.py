"""Backends for the Ray tests, loaded on replicas by name (`tests.ray.generators:SlowTone`)."""

from __future__ import annotations

from model.generator import CancelToken, Clip, GenerationRequest, ProgressCallback
from tests.support import ToneGenerator


class SlowTone(ToneGenerator):
    """The test tone generator with steps slow enough to watch, cancel, and kill a replica in the middle of."""

    name = "slow-tone"

    def __init__(self) -> None:
        super().__init__(steps=10, step_seconds=0.15)


class NodeTone(ToneGenerator):
    """The test tone, slow enough to power a node off mid-job, naming in its clip the Ray node that made it.

    The name travels as the clip's `model`, which the service writes into the MP4's provenance comment.
    """

    name = "node-tone"

    def __init__(self) -> None:
        super().__init__(steps=12, step_seconds=0.25)

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        import ray

        clip = super().generate(request, progress, cancel)
        made_by = {"model": f"{self.name} on {ray.util.get_node_ip_address()}"}
        return Clip(clip.frames, clip.audio, clip.fps, clip.sample_rate, clip.state, made_by)
