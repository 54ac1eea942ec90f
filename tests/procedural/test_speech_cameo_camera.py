"""Speech through espeak-ng, cameo faces and voices, camera moves, weather."""

from __future__ import annotations

import numpy as np
import pytest

from model.generator import CameoRef, CancelToken, GenerationRequest, no_progress
from model.procedural import ProceduralGenerator
from model.procedural.speech import SKIPPED, espeak_available, voice_pitch

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (Debian: espeak-ng)")


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _band_rms(audio: np.ndarray, rate: int, start: float, end: float, low: float, high: float) -> float:
    seg = audio[:, int(start * rate) : int(end * rate)].mean(axis=0)
    spec = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(seg.size, 1 / rate)
    return float(np.sqrt(spec[(freqs >= low) & (freqs <= high)].sum() / seg.size))


@needs_espeak
def test_quoted_line_is_spoken_and_the_mouth_moves_with_it(generator: ProceduralGenerator) -> None:
    request = GenerationRequest("generate", 'a robot says "hello there, how are you"', width=160, height=90,
                                seconds=3.0)  # fmt: skip
    clip = generator.generate(request, no_progress, CancelToken())
    assert clip.metadata["speech"] == "espeak-ng"
    speech = _band_rms(clip.audio, clip.sample_rate, 0.5, 1.5, 200, 4000)
    quiet = _band_rms(clip.audio, clip.sample_rate, 2.6, 3.0, 200, 4000)
    assert speech > 8 * quiet
    frames = clip.frames
    moving = [k for k in range(frames.shape[0]) if np.any(frames[k] != frames[0])]
    assert moving and min(moving) >= int(0.4 * 24)  # the mouth opens once the line starts
    assert np.array_equal(frames[-1], frames[0])  # and only the mouth moved: it is closed again at the end


def test_without_espeak_the_clip_says_speech_was_skipped(
    generator: ProceduralGenerator, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    request = GenerationRequest("generate", 'a person says "hi"', width=64, height=36, seconds=0.5)
    clip = generator.generate(request, no_progress, CancelToken())
    assert clip.metadata["speech"] == SKIPPED
    assert clip.frames.shape == (12, 36, 64, 3)


def _face() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    image = skimage_data.astronaut()
    return np.ascontiguousarray(image[30:230, 140:320])  # the face, roughly


def test_cameo_face_and_voice_are_carried_by_the_figure(generator: ProceduralGenerator) -> None:
    rate = 16_000
    t = np.arange(rate) / rate
    voice = (0.5 * np.sin(2 * np.pi * 220 * t) * np.minimum(1, 10 * t)).astype(np.float32)
    cameo = CameoRef("alice", "Alice", face=_face(), voice=voice, voice_sample_rate=rate)
    base = dict(width=320, height=180, seconds=2.0)
    plain = generator.generate(GenerationRequest("generate", "@alice waves", **base), no_progress, CancelToken())
    with_cameo = generator.generate(GenerationRequest("generate", "@alice waves", cameos=(cameo,), **base),
                                    no_progress, CancelToken())  # fmt: skip
    assert with_cameo.metadata["speech"] == "cameo voice clip"
    changed = np.any(plain.frames[0] != with_cameo.frames[0], axis=-1)
    assert 0 < changed.sum() < plain.frames[0].shape[0] * plain.frames[0].shape[1] // 10  # only the face changed
    tone = _band_rms(with_cameo.audio, with_cameo.sample_rate, 0.6, 1.3, 200, 240)
    assert tone > 10 * _band_rms(plain.audio, plain.sample_rate, 0.6, 1.3, 200, 240)


def test_voice_pitch_follows_the_voice() -> None:
    rate = 16_000
    t = np.arange(rate) / rate
    low = voice_pitch(np.sin(2 * np.pi * 100 * t).astype(np.float32), rate)
    high = voice_pitch(np.sin(2 * np.pi * 250 * t).astype(np.float32), rate)
    assert low is not None and high is not None and low < 50 < high
    assert voice_pitch(np.zeros(rate, np.float32), rate) is None


@pytest.mark.parametrize("move", ["orbit", "pan"])
def test_camera_moves_change_the_view_over_the_clip(generator: ProceduralGenerator, move: str) -> None:
    request = GenerationRequest("generate", f"a wooden crate on a table, {move}", width=96, height=54, seconds=1.0)
    clip = generator.generate(request, no_progress, CancelToken())
    first, last = clip.frames[0].astype(int), clip.frames[-1].astype(int)
    assert np.abs(first - last).mean() > 3


def test_static_camera_keeps_the_background_still(generator: ProceduralGenerator) -> None:
    request = GenerationRequest("generate", "a wooden crate on a table", width=96, height=54, seconds=2.5)
    clip = generator.generate(request, no_progress, CancelToken())
    # The crate tumbles onto the table and settles; after that nothing in the frame moves.
    assert np.array_equal(clip.frames[-1], clip.frames[-2])


def test_rain_and_wind_are_seen_and_heard(generator: ProceduralGenerator) -> None:
    base = dict(width=160, height=90, seconds=1.0)
    dry = generator.generate(GenerationRequest("generate", "a ball at night", **base), no_progress, CancelToken())
    wet = generator.generate(GenerationRequest("generate", "a ball at night in the rain, windy", **base),
                             no_progress, CancelToken())  # fmt: skip
    streaks = (wet.frames.astype(int) - dry.frames.astype(int)).max(axis=-1) > 8
    assert streaks.mean() > 0.01  # rain streaks over at least 1% of the picture
    assert not np.array_equal(wet.frames[5], wet.frames[6])  # the rain falls
    assert _band_rms(wet.audio, 48_000, 0.5, 1.0, 2000, 10000) > 5 * _band_rms(dry.audio, 48_000, 0.5, 1.0, 2000,
                                                                               10000)  # fmt: skip
