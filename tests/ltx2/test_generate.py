"""Text to video with sound through the real diffusers LTX-2 pipeline, on the tiny random checkpoint."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

import torch

from model.generator import CancelToken, Clip, GenerationCancelled, GenerationError, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options
from model.media import encode_mp4, probe
from tests.ltx2.conftest import HEIGHT, SECONDS, WIDTH

pytestmark = pytest.mark.ltx2


def _request(prompt: str = "a drummer plays a fast fill", **kwargs: object) -> GenerationRequest:
    fields: dict[str, object] = {"width": WIDTH, "height": HEIGHT, "seconds": SECONDS, "seed": 7, **kwargs}
    return GenerationRequest(kind="generate", prompt=prompt, **fields)  # type: ignore[arg-type]


def _quiet(step: int, total: int, stage: str = "generating") -> None:
    pass


def test_text_to_video_encodes_to_an_mp4_whose_sound_lasts_as_long_as_the_picture(tiny_generator: LTX2Generator):
    clip = tiny_generator.generate(_request(), _quiet, CancelToken())

    info = probe(encode_mp4(clip))
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.frame_count == clip.frames.shape[0] == 25  # 1 s at 24 fps is 24 frames -> the nearest 8k+1
    assert abs(info.audio_seconds - info.seconds) <= 2 / info.fps
    assert clip.audio.shape == (2, round(25 / 24 * clip.sample_rate))
    assert np.abs(clip.audio).max() > 0  # the vocoder made sound, not padding


def test_sizes_are_rounded_to_the_models_grid_and_the_metadata_says_so(tiny_generator: LTX2Generator):
    clip = tiny_generator.generate(_request(width=100, height=70, seconds=0.5), _quiet, CancelToken())

    assert (clip.width, clip.height) == (96, 64)
    assert (clip.frames.shape[0] - 1) % 8 == 0
    assert clip.metadata["width"] == 96 and clip.metadata["frames"] == clip.frames.shape[0]
    assert any("100x70 -> 96x64" in note for note in clip.metadata["adjusted"])
    assert any("voice cloning" in item for item in clip.metadata["not_supported"])


def test_the_seed_decides_the_clip(tiny_generator: LTX2Generator):
    first = tiny_generator.generate(_request(seed=11), _quiet, CancelToken())
    again = tiny_generator.generate(_request(seed=11), _quiet, CancelToken())
    other = tiny_generator.generate(_request(seed=12), _quiet, CancelToken())

    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert not np.array_equal(first.frames, other.frames)
    assert first.state["seed"] == 11


def test_progress_is_reported_once_per_denoising_step(tiny_generator: LTX2Generator):
    events: list[tuple[int, int, str]] = []

    tiny_generator.generate(
        _request(), lambda step, total, stage="generating": events.append((step, total, stage)), CancelToken()
    )

    assert events == [(1, 4, "generating"), (2, 4, "generating"), (3, 4, "generating"), (4, 4, "generating")]


def test_cancel_stops_between_steps_and_the_generator_keeps_working(tiny_generator: LTX2Generator):
    token = CancelToken()
    steps: list[int] = []

    def cancel_after_two(step: int, total: int, stage: str = "generating") -> None:
        steps.append(step)
        if step == 2:
            token.cancel("user cancelled")

    with pytest.raises(GenerationCancelled, match="user cancelled"):
        tiny_generator.generate(_request(), cancel_after_two, token)
    assert steps == [1, 2]

    clip = tiny_generator.generate(_request(), _quiet, CancelToken())
    assert clip.frames.shape[0] == 25


def test_a_cancel_before_the_start_runs_nothing(tiny_generator: LTX2Generator):
    token = CancelToken()
    token.cancel("shutdown")
    steps: list[int] = []

    with pytest.raises(GenerationCancelled):
        tiny_generator.generate(_request(), lambda step, total, stage="": steps.append(step), token)
    assert steps == []


def test_running_out_of_gpu_memory_fails_the_job_clearly_and_the_worker_stays_healthy(tiny_generator: LTX2Generator):
    def out_of_memory_at_step_two(step: int, total: int, stage: str = "generating") -> None:
        if step == 2:
            # What the CUDA caching allocator raises when an allocation cannot be served.
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(GenerationError, match="ran out of memory") as caught:
        tiny_generator.generate(_request(), out_of_memory_at_step_two, CancelToken())
    assert caught.value.__traceback__ is not None
    assert "96x64" in str(caught.value)

    clip = tiny_generator.generate(_request(), _quiet, CancelToken())
    assert isinstance(clip, Clip)


def test_distilled_checkpoints_run_eight_steps_without_guidance(tiny_ltx2_dir: Path):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(distilled=True))
    totals: list[int] = []

    def record(step: int, total: int, stage: str = "generating") -> None:
        if stage == "generating":
            totals.append(total)

    clip = generator.generate(_request(), record, CancelToken())

    assert totals == [8] * 8
    assert clip.metadata["steps"] == 8 and clip.metadata["guidance"] == 1.0 and clip.metadata["distilled"]


def test_loading_and_generating_never_open_a_socket(tiny_ltx2_dir: Path, monkeypatch: pytest.MonkeyPatch):
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"network access attempted: {address!r}")

    # Stricter than the suite's guard: loopback is refused too, so a local proxy or hub mirror would be caught.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    attempts.clear()

    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=2))
    clip = generator.generate(_request(), _quiet, CancelToken())

    assert clip.frames.shape[0] == 25
    assert attempts == []
