"""A file written to the media store by a job that a crash cut off before its clip was recorded is removed at start."""

from __future__ import annotations

from pathlib import Path

from core.events import JobDone
from storage.media_store import MediaStore
from tests.support import actor, place, running_core, wait_for


async def test_a_start_removes_media_no_row_refers_to_and_keeps_every_clip_file(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), "sora a ball bounces --seconds 1 --size 160x96")
        assert reply.ok, reply.text
        await wait_for(events, lambda e: isinstance(e, JobDone), seconds=60)
        kept = [p.name for p in core.media.files()]
    assert len(kept) == 1
    # What a SIGKILL between the runner's media.put and its clip row leaves behind: a file nothing points to.
    orphan = MediaStore(tmp_path / "media").put(b"not recorded as any clip")

    async with running_core(tmp_path) as core:
        names = [p.name for p in core.media.files()]
    assert names == kept
    assert not MediaStore(tmp_path / "media").path(orphan).exists()
