"""The likeness checks on their own: what they keep from a real reference video, and how it is stored."""

from __future__ import annotations

import numpy as np
import pytest

from model.likeness import LikenessChecker, face_from_png, face_png, voice_from_wav, voice_wav
from tests.cameos.reference import needs_espeak, speaking_astronaut


@pytest.fixture(scope="module")
def checker() -> LikenessChecker:
    return LikenessChecker()


@needs_espeak
def test_the_kept_face_crop_is_itself_a_face_and_the_kept_voice_is_the_speech(checker: LikenessChecker) -> None:
    likeness = checker.check(speaking_astronaut(4.0))
    assert likeness.checks["frames_with_face"] == likeness.checks["frames_sampled"] == 12
    # The crop is square, and the same detector finds one face filling most of it.
    assert likeness.face.shape == (256, 256, 3)
    boxes = checker.faces(likeness.face)
    assert len(boxes) == 1 and boxes[0][2] > 256 * 0.5
    # The voice is the voiced part of the speech: about as long as the VAD measured, and not silence.
    seconds = likeness.voice.size / likeness.sample_rate
    assert abs(seconds - likeness.checks["speech_seconds"]) < 0.2 and 1.0 < seconds < 4.0
    assert float(np.sqrt(np.mean(likeness.voice**2))) > 0.02


def test_face_and_voice_survive_storage_as_png_and_wav() -> None:
    rng = np.random.default_rng(3)
    face = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(face_from_png(face_png(face)), face)
    voice = (0.5 * np.sin(np.arange(16_000) / 7)).astype(np.float32)
    restored, rate = voice_from_wav(voice_wav(voice, 16_000))
    assert rate == 16_000 and np.max(np.abs(restored - voice)) < 1 / 32767 * 1.01
