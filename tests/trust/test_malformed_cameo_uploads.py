"""Malformed reference videos for a cameo: each gets a short, clear refusal, nothing is kept and nothing is charged."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from skimage import data as skimage_data

from model.likeness import LikenessChecker
from tests.cameos.helpers import cameo_core, dm, person
from tests.cameos.reference import speaking_astronaut

PYTHON_LEAKS = ("Traceback", "Error(", "KeyError", "TypeError", "NoneType", 'File "', "av.error")


def _audio_only_mp4() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48_000)
        stream.layout = "mono"
        samples = (0.1 * np.sin(np.arange(48_000) / 20)).astype(np.float32)[None, :]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 48_000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _png() -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", skimage_data.astronaut())
    assert ok
    return encoded.tobytes()


@pytest.fixture(scope="module")
def real_video() -> bytes:
    return speaking_astronaut(2.0)


MALFORMED = {
    "truncated": lambda good: good[: len(good) // 3],
    "header only": lambda good: good[:64],
    "no video track": lambda good: _audio_only_mp4(),
    "a picture renamed .mp4": lambda good: _png(),
    "random bytes": lambda good: np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
    "an MP4 head on garbage": lambda good: good[:32] + b"\xff" * 40_000,
    "empty": lambda good: b"",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_reference_video_is_refused_clearly_and_nothing_is_kept(
    tmp_path: Path, real_video: bytes, kind: str
) -> None:
    upload = MALFORMED[kind](real_video)
    ana = person("ana")
    async with cameo_core(tmp_path, checker=LikenessChecker()) as rig:
        credits_before = (await rig.core.quota_status(ana, dm(ana))).remaining
        media_before = sorted(p.name for p in rig.media.root.rglob("*") if p.is_file())

        reply = await rig.cameos.create(ana, dm(ana), "ana", upload)

        assert not reply.ok
        assert reply.text.startswith("I can't make cameo @ana from that video"), reply.text
        assert len(reply.text) <= 300 and not any(leak in reply.text for leak in PYTHON_LEAKS), reply.text
        assert await rig.db.read(lambda db: db.execute("select count(*) from cameos").fetchone()[0]) == 0
        assert sorted(p.name for p in rig.media.root.rglob("*") if p.is_file()) == media_before
        assert (await rig.core.quota_status(ana, dm(ana))).remaining == credits_before
