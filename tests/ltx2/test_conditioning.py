"""Remix, extend, cameo and stitch through LTX2ConditionPipeline, which shares the loaded modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

import torch

from model.generator import CameoRef, CancelToken, Clip, GenerationRequest, SourceClip
from model.ltx2 import LTX2Generator, LTX2Options
from model.media import decode_clip, encode_mp4, probe
from tests.ltx2.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.ltx2

FPS = 24.0


def _quiet(step: int, total: int, stage: str = "generating") -> None:
    pass


def _source_clip(frames: int = 25, invert: bool = False) -> Clip:
    """A clip that did not come from the model: a scrolling gradient and a 440 Hz tone, through a real MP4."""
    x = np.linspace(0, 255, WIDTH)[None, None, :, None]
    y = np.linspace(0, 255, HEIGHT)[None, :, None, None]
    t = np.arange(frames)[:, None, None, None]
    shape = (frames, HEIGHT, WIDTH, 1)
    picture = np.concatenate(
        [np.broadcast_to((x + 4 * t) % 256, shape), np.broadcast_to(y, shape), np.full(shape, 128.0)], axis=-1
    ).astype(np.uint8)
    if invert:
        picture = 255 - picture
    rate = 48_000
    tone = 0.5 * np.sin(2 * np.pi * (660 if invert else 440) * np.arange(round(frames / FPS * rate)) / rate)
    return decode_clip(encode_mp4(Clip(picture, np.stack([tone, tone]).astype(np.float32), FPS, rate)))


def _source(clip: Clip, clip_id: str = "src00001") -> SourceClip:
    return SourceClip(clip_id=clip_id, prompt="a gradient hums", backend="ltx2", state={}, clip=clip)


def _distance(a: Clip, b: Clip) -> tuple[float, float]:
    frames = float(np.abs(a.frames.astype(np.float64) - b.frames.astype(np.float64)).mean())
    n = min(a.audio.shape[1], b.audio.shape[1])
    return frames, float(np.abs(a.audio[:, :n] - b.audio[:, :n]).mean())


@pytest.fixture(scope="module")
def source() -> SourceClip:
    return _source(_source_clip())


def _remix(generator: LTX2Generator, source: SourceClip, strength: float) -> Clip:
    # The warm modules under other settings: only the strength differs.
    remixer = LTX2Generator.from_pipeline(generator.pipeline, LTX2Options(steps=8, remix_strength=strength))
    request = GenerationRequest(kind="remix", prompt="a cat plays a drum", seed=4, sources=(source,))
    return remixer.generate(request, _quiet, CancelToken())


def test_the_condition_pipeline_shares_the_loaded_modules_in_the_loaded_dtype(tiny_ltx2_dir: Path):
    generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(dtype="bfloat16"))
    generator.load()
    pipes = generator._pipes
    assert pipes is not None

    for name in ("transformer", "vae", "audio_vae", "text_encoder", "connectors", "vocoder"):
        assert getattr(pipes.condition, name) is getattr(pipes.text, name), name
    assert pipes.text.transformer.dtype == torch.bfloat16  # from_pipe did not widen the shared weights


def test_a_remix_keeps_more_of_its_source_the_lower_the_strength(tiny_generator: LTX2Generator, source: SourceClip):
    # With random weights the decoder cannot reproduce the source's pixels, so compare against a remix that barely
    # re-noises it: what survives of the source is what the strength leaves.
    nearly_source = _remix(tiny_generator, source, 0.05)
    light = _remix(tiny_generator, source, 0.3)
    heavy = _remix(tiny_generator, source, 0.9)
    fresh = tiny_generator.generate(
        GenerationRequest(
            kind="generate", prompt="a cat plays a drum", width=WIDTH, height=HEIGHT, seconds=1.0, seed=4
        ),
        _quiet,
        CancelToken(),
    )

    light_video, light_audio = _distance(light, nearly_source)
    heavy_video, heavy_audio = _distance(heavy, nearly_source)
    fresh_video, fresh_audio = _distance(fresh, nearly_source)
    assert light_video < heavy_video < fresh_video
    assert light_audio < heavy_audio <= fresh_audio
    assert light.frames.shape == source.clip.frames.shape  # a remix keeps the source's size and length
    assert "re-noised the source" in " ".join(light.metadata["adjusted"])


def test_a_remix_follows_its_source(tiny_generator: LTX2Generator, source: SourceClip):
    other = _source(_source_clip(invert=True), "src00002")

    first = _remix(tiny_generator, source, 0.6)
    second = _remix(tiny_generator, other, 0.6)

    assert _distance(first, second)[0] > 1.0
    assert first.state["sources"] == ["src00001"]


def test_an_extension_plays_the_untouched_source_then_continues_with_sound_throughout(
    tiny_generator: LTX2Generator, source: SourceClip
):
    request = GenerationRequest(
        kind="extend", prompt="the gradient keeps humming", seconds=1.0, seed=5, sources=(source,)
    )

    joined = tiny_generator.generate(request, _quiet, CancelToken())

    n_source = source.clip.frames.shape[0]
    np.testing.assert_array_equal(joined.frames[:n_source], source.clip.frames)
    added = joined.frames.shape[0] - n_source
    assert abs(added / FPS - 1.0) <= 1 / FPS
    assert joined.metadata["joined"] and joined.state["overlap_frames"] == 17
    info = probe(encode_mp4(joined))
    assert info.frame_count == joined.frames.shape[0]
    assert abs(info.audio_seconds - info.seconds) <= 2 / info.fps
    # Up to the overlap the sound is the source's own (resampled); the crossfade then hands over smoothly.
    rate = joined.sample_rate
    seam = round((n_source - 17) / FPS * rate)
    source_sound = source.clip.audio[:, :: source.clip.sample_rate // rate][:, :seam]
    assert np.abs(joined.audio[:, : seam - 1] - source_sound[:, : seam - 1]).max() < 0.05
    steps = np.abs(np.diff(joined.audio, axis=1))
    assert steps[:, seam - 50 : seam + 50].max() <= steps[:, : seam - 50].max() + 1e-3


def test_an_extension_depends_on_the_sources_last_frames(tiny_generator: LTX2Generator, source: SourceClip):
    other = _source(_source_clip(invert=True), "src00002")
    request = GenerationRequest(kind="extend", prompt="more", seconds=1.0, seed=5, sources=(source,))

    first = tiny_generator.generate(request, _quiet, CancelToken())
    second = tiny_generator.generate(
        GenerationRequest(kind="extend", prompt="more", seconds=1.0, seed=5, sources=(other,)), _quiet, CancelToken()
    )

    n = source.clip.frames.shape[0]
    assert np.abs(first.frames[n:].astype(int) - second.frames[n:].astype(int)).mean() > 1.0


def test_a_cameos_face_conditions_the_clip(tiny_generator: LTX2Generator):
    rng = np.random.default_rng(0)
    face_a = (rng.random((80, 60, 3)) * 255).astype(np.uint8)
    face_b = 255 - face_a

    def make(*cameos: CameoRef) -> Clip:
        request = GenerationRequest(
            kind="generate", prompt="a person sings", width=WIDTH, height=HEIGHT, seconds=1.0, seed=9, cameos=cameos
        )
        return tiny_generator.generate(request, _quiet, CancelToken())

    plain = make()
    with_a = make(CameoRef("ana", "Ana", face=face_a))
    again_a = make(CameoRef("ana", "Ana", face=face_a))
    with_b = make(CameoRef("bo", "Bo", face=face_b))

    np.testing.assert_array_equal(with_a.frames, again_a.frames)
    assert np.abs(with_a.frames[0].astype(int) - plain.frames[0].astype(int)).mean() > 1.0
    assert np.abs(with_a.frames[0].astype(int) - with_b.frames[0].astype(int)).mean() > 1.0
    assert with_a.state["cameos"] == ["ana"]
    assert any("cameo ana" in note for note in with_a.metadata["adjusted"])
    assert any("voice cloning" in item for item in with_a.metadata["not_supported"])


def test_a_cameo_without_a_face_image_is_said_in_the_metadata(tiny_generator: LTX2Generator):
    request = GenerationRequest(
        kind="generate",
        prompt="a person sings",
        width=WIDTH,
        height=HEIGHT,
        seconds=1.0,
        cameos=(CameoRef("cy", "Cy"),),
    )

    clip = tiny_generator.generate(request, _quiet, CancelToken())

    assert any("no face image" in note for note in clip.metadata["adjusted"])


def test_stitching_joins_clips_with_the_shared_crossfade(tiny_generator: LTX2Generator, source: SourceClip):
    pytest.importorskip("model.stitching")
    other = _source(_source_clip(invert=True), "src00002")
    request = GenerationRequest(kind="stitch", prompt="", sources=(source, other))

    clip = tiny_generator.generate(request, _quiet, CancelToken())

    expected = 2 * source.clip.seconds - tiny_generator.options.stitch_crossfade
    assert abs(clip.seconds - expected) <= 2 / FPS
    assert clip.state["sources"] == ["src00001", "src00002"]
    info = probe(encode_mp4(clip))
    assert abs(info.audio_seconds - info.seconds) <= 2 / info.fps
