"""What one job will cost in memory, estimated before it is admitted, so no single command can exhaust the process.

A clip's frames are held whole: the generator's output, each decoded source (a remix, an extension, a stitch), and the
joined or encoded copy. The estimate counts every frame of the output and of its sources at 3 bytes a pixel, times
the working copies a job holds at its peak (tests/trust/test_job_memory.py measures a real stitch against it).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import JobTooBig

BYTES_PER_PIXEL = 3  # RGB, uint8
FRAMES_PER_SECOND = 24.0  # the generators' rate; a source is decoded at its own, no more than this budget assumes
# The output as made, a copy while it is joined or watermarked, and the frames handed to the encoder.
WORKING_COPIES = 3


def job_memory_bytes(seconds: float, width: int, height: int, sources: Sequence[tuple[float, int, int]] = ()) -> int:
    """Peak bytes of frames a job holds: its output plus its decoded sources ((seconds, width, height) each)."""

    def frames_bytes(s: float, w: int, h: int) -> int:
        return int(s * FRAMES_PER_SECOND + 1) * w * h * BYTES_PER_PIXEL

    return WORKING_COPIES * frames_bytes(seconds, width, height) + sum(frames_bytes(*source) for source in sources)


def check_job_memory(needed: int, limit: int) -> None:
    if needed > limit:
        raise JobTooBig(needed, limit)
