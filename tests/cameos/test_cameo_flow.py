"""Cameos end to end through the core: real reference videos, consent, notices, revocation, deletion."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.events import ClipDeleted, JobCancelled, JobDone
from core.jobs import quotas
from core.records import Reply
from model.likeness import LikenessChecker
from tests.cameos.helpers import GROUP, OTHER_GROUP, Rig, cameo_core, dm, person, synthetic_likeness
from tests.cameos.reference import needs_espeak, silent_astronaut, speaking_astronaut, speaking_wall
from tests.support import ToneGenerator, wait_for

ANA, BO, CY = person("ana"), person("bo"), person("cy")
SHORT = "--seconds 1 --size 160x96"


@pytest.fixture(scope="module")
def checker() -> LikenessChecker:
    return LikenessChecker()


async def _rows(rig: Rig, sql: str, params: list[object] | None = None) -> list[dict[str, object]]:
    return await rig.db.read(lambda db: [dict(r) for r in db.query(sql, params or [])])


async def _remaining(rig: Rig, who: object) -> int:
    return (await rig.core.quota_status(who, GROUP)).remaining  # type: ignore[arg-type]


async def _finish(rig: Rig, reply: Reply) -> object:
    subscription = rig.core.bus.subscribe()
    try:
        job = await rig.core.job(reply.job_id)  # type: ignore[arg-type]
        if job.state in ("done", "failed", "cancelled"):
            return job
        return await wait_for(
            subscription, lambda e: getattr(e, "job_id", None) == reply.job_id and isinstance(e, JobDone | JobCancelled)
        )
    finally:
        subscription.close()


@needs_espeak
async def test_a_friend_makes_a_clip_with_the_owners_face_a_stranger_is_refused_and_revocation_cancels_a_waiting_job(
    tmp_path: Path, checker: LikenessChecker
) -> None:
    gate = threading.Event()
    gate.set()
    generator = ToneGenerator(gate=gate)
    async with cameo_core(tmp_path, generator, checker=checker) as rig:
        core = rig.core
        created = await rig.cameos.create(ANA, dm(ANA), "ana", speaking_astronaut())
        assert created.ok, created.text
        assert "not prove who you are" in created.text
        assert (await core.handle_text(ANA, dm(ANA), "cameo allow test:id-bo")).ok

        # The friend's clip: the generator receives the face found in the video and the recorded voice.
        subscription = core.bus.subscribe()
        reply = await core.handle_text(BO, GROUP, f"sora @ana waves at the camera {SHORT}")
        assert reply.ok, reply.text
        done = await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
        request = generator.calls[-1]
        assert [c.handle for c in request.cameos] == ["ana"]
        face, voice = request.cameos[0].face, request.cameos[0].voice
        assert face is not None and face.shape == (256, 256, 3)
        assert voice is not None and voice.size > 16_000 * 0.8 and float(np.abs(voice).max()) > 0.05
        first_clip = done.clip_id  # type: ignore[attr-defined]

        # The owner is told, in their private chat, with the clip and a Delete button.
        deliveries = await core.claim_deliveries("test")
        notice = next(d for d in deliveries if d.kind == "notice")
        assert notice.destination.channel_id == dm(ANA).channel_id and notice.destination.is_private
        assert notice.clip_id == first_clip and notice.payload["buttons"] == ["delete"]
        assert "Bo used your cameo @ana" in notice.text
        posted = next(d for d in deliveries if d.kind == "clip")
        await core.delivery_sent(posted.id, "message-1")
        await core.delivery_sent(notice.id, "message-2")

        # A stranger is refused, and it costs them nothing.
        before = await _remaining(rig, CY)
        refused = await core.handle_text(CY, GROUP, f"sora @ana dances {SHORT}")
        assert not refused.ok and refused.text == "@ana can't be used: its owner has not approved you"
        assert await _remaining(rig, CY) == before

        # The owner revokes while the friend's second clip waits behind another job: it is cancelled and refunded.
        gate.clear()
        blocker = await core.handle_text(ANA, GROUP, f"sora a red ball bounces {SHORT}")
        waiting = await core.handle_text(BO, GROUP, f"sora @ana juggles {SHORT}")
        assert blocker.ok and waiting.ok
        credits_while_waiting = await _remaining(rig, BO)
        assert (await core.handle_text(ANA, dm(ANA), "cameo revoke")).ok
        gate.set()
        cancelled = await wait_for(subscription, lambda e: isinstance(e, JobCancelled) and e.job_id == waiting.job_id)
        assert "@ana can't be used: its owner has turned it off" in cancelled.reason  # type: ignore[attr-defined]
        assert "refunded" in cancelled.reason  # type: ignore[attr-defined]
        assert await _remaining(rig, BO) == credits_while_waiting + (await core.job(waiting.job_id)).cost  # type: ignore[arg-type]
        assert await rig.db.read(quotas.unbalanced_jobs) == []

        # The owner deletes the friend's clip: the file goes and every posted message of it is taken down.
        listed = await core.handle_text(ANA, dm(ANA), "cameo clips")
        assert first_clip in listed.text
        path = core.media_path(await core.clip(first_clip))
        deleted = await core.handle_text(ANA, dm(ANA), f"delete {first_clip}")
        assert deleted.ok, deleted.text
        event = await wait_for(subscription, lambda e: isinstance(e, ClipDeleted) and e.clip_id == first_clip)
        assert {p.message_id for p in event.posts} == {"message-1", "message-2"}  # type: ignore[attr-defined]
        assert not path.exists()
        assert first_clip not in (await core.handle_text(ANA, dm(ANA), "cameo clips")).text
        kinds = [r["kind"] for r in await _rows(rig, "SELECT kind FROM audit_events ORDER BY id")]
        for kind in ("cameo_created", "cameo_allowed", "cameo_used", "cameo_refused", "cameo_revoked", "clip_deleted"):
            assert kind in kinds
        subscription.close()


@needs_espeak
async def test_a_blank_wall_or_a_silent_video_is_refused_with_the_reason_and_nothing_is_kept(
    tmp_path: Path, checker: LikenessChecker
) -> None:
    async with cameo_core(tmp_path, checker=checker) as rig:
        wall = await rig.cameos.create(ANA, dm(ANA), "ana", speaking_wall())
        assert not wall.ok
        assert "I could see a face in only 0 of 12 sampled frames" in wall.text
        silent = await rig.cameos.create(ANA, dm(ANA), "ana", silent_astronaut())
        assert not silent.ok
        assert "the video is silent" in silent.text
        short = await rig.cameos.create(ANA, dm(ANA), "ana", speaking_astronaut(seconds=2.0))
        assert not short.ok and "must be 3–15 s" in short.text
        junk = await rig.cameos.create(ANA, dm(ANA), "ana", b"not a video at all")
        assert not junk.ok and "not a video I can read" in junk.text
        assert await _rows(rig, "SELECT * FROM cameos") == []
        assert rig.media.files() == []
        refusals = await _rows(rig, "SELECT detail FROM audit_events WHERE kind = 'cameo_refused'")
        assert len(refusals) == 4


async def test_cameos_are_created_only_in_a_private_chat_and_handles_are_unique(tmp_path: Path) -> None:
    async with cameo_core(tmp_path, provenance=False) as rig:
        in_group = await rig.cameos.create_from_likeness(ANA, GROUP, "ana", synthetic_likeness())
        assert not in_group.ok and "private chat" in in_group.text
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        taken = await rig.cameos.create_from_likeness(BO, dm(BO), "@Ana", synthetic_likeness())
        assert not taken.ok and "taken" in taken.text
        public_figure = await rig.cameos.create_from_likeness(BO, dm(BO), "elon_musk", synthetic_likeness())
        assert not public_figure.ok and "public figures" in public_figure.text
        asks_for_video = await rig.core.handle_text(BO, dm(BO), "cameo create bo")
        assert not asks_for_video.ok and asks_for_video.data == {"needs_video": True, "handle": "bo"}


async def test_preferences_ride_along_with_the_prompt_and_their_forbidden_topics_are_refused_for_free(
    tmp_path: Path,
) -> None:
    generator = ToneGenerator()
    async with cameo_core(tmp_path, generator, provenance=False) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        assert (await core.handle_text(ANA, dm(ANA), "cameo who everyone")).ok
        prefs = await core.handle_text(ANA, dm(ANA), "cameo prefs always wearing a hat. nothing political")
        assert prefs.ok and "always wearing a hat" in prefs.text

        before = await _remaining(rig, BO)
        refused = await core.handle_text(BO, GROUP, f"sora @ana gives an election speech {SHORT}")
        assert not refused.ok and "cameo preferences" in refused.text and "election" in refused.text
        assert await _remaining(rig, BO) == before
        # The refusal's audit row is its own write, queued behind the refused admission: wait for the writer.
        await rig.db.write(lambda db: None)
        refusal = await _rows(rig, "SELECT detail FROM audit_events WHERE kind = 'refusal'")
        assert '"category": "cameo preferences"' in str(refusal[-1]["detail"])

        reply = await core.handle_text(BO, GROUP, f"sora @ana waves {SHORT}")
        assert reply.ok, reply.text
        await _finish(rig, reply)
        request = generator.calls[-1]
        assert request.prompt == "@ana waves (@ana: always wearing a hat)"
        assert request.cameos[0].preferences == "always wearing a hat. nothing political"

        blocked = await core.handle_text(ANA, dm(ANA), "cameo prefs nude beach")
        assert not blocked.ok and "sexual content" in blocked.text


async def test_a_remix_of_a_clip_showing_a_cameo_needs_the_owners_consent_too(tmp_path: Path) -> None:
    async with cameo_core(tmp_path, provenance=False) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        await core.handle_text(ANA, dm(ANA), "cameo allow test:id-bo")
        made = await core.handle_text(BO, GROUP, f"sora @ana waves {SHORT}")
        done = await _finish(rig, made)
        clip_id = done.clip_id  # type: ignore[attr-defined]
        remix = await core.handle_text(CY, GROUP, f"remix {clip_id} make it night")
        assert not remix.ok and remix.text == "@ana can't be used: its owner has not approved you"
        allowed = await core.handle_text(BO, GROUP, f"remix {clip_id} make it night")
        assert allowed.ok, allowed.text
        assert (await core.job(allowed.job_id)).params["cameos"] == ["ana"]  # type: ignore[arg-type]


async def test_community_visibility_admits_members_of_that_community_only(tmp_path: Path) -> None:
    async with cameo_core(tmp_path, provenance=False) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        in_private = await core.handle_text(ANA, dm(ANA), "cameo who community")
        assert not in_private.ok and "in the group" in in_private.text
        assert (await core.handle_text(ANA, GROUP, "cameo who community")).ok
        assert (await core.handle_text(CY, GROUP, f"sora @ana waves {SHORT}")).ok
        elsewhere = await core.handle_text(CY, OTHER_GROUP, f"sora @ana waves {SHORT}")
        assert not elsewhere.ok and "only in their community" in elsewhere.text
        unknown = await core.handle_text(CY, GROUP, f"sora @nobody_here waves {SHORT}")
        assert not unknown.ok and unknown.text == "there is no cameo called @nobody_here"


async def test_a_person_removed_from_the_approved_list_can_no_longer_use_the_cameo(tmp_path: Path) -> None:
    async with cameo_core(tmp_path, provenance=False) as rig:
        core = rig.core
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        # Bo's platform showed his @username, so it names him here (a display name never does: #16 finding 10).
        await core.remember_handle("test", "Bo", BO.user_id)
        assert (await core.handle_text(ANA, dm(ANA), "cameo allow @Bo")).ok
        assert (await core.handle_text(BO, GROUP, f"sora @ana waves {SHORT}")).ok
        settings = await core.handle_text(ANA, dm(ANA), "cameo settings")
        assert "approved: @bo" in settings.text
        assert (await core.handle_text(ANA, dm(ANA), "cameo deny @Bo")).ok
        again = await core.handle_text(BO, GROUP, f"sora @ana waves again {SHORT}")
        assert not again.ok and "not approved you" in again.text


@needs_espeak
async def test_the_procedural_figure_wears_the_cameos_face_and_speaks_with_its_recorded_voice(
    tmp_path: Path, checker: LikenessChecker
) -> None:
    from model.generator import CancelToken, GenerationRequest, no_progress
    from model.media import decode_clip
    from model.registry import create_generator

    generator = create_generator("procedural", {}, None)
    async with cameo_core(tmp_path, generator, checker=checker, provenance=False) as rig:  # type: ignore[arg-type]
        core = rig.core
        assert (await rig.cameos.create(ANA, dm(ANA), "ana", speaking_astronaut())).ok
        await core.handle_text(ANA, dm(ANA), "cameo allow test:id-bo")
        reply = await core.handle_text(BO, GROUP, "sora @ana waves at the camera --seconds 1.5")
        done = await _finish(rig, reply)
        clip = decode_clip(core.media_path(await core.clip(done.clip_id)))  # type: ignore[attr-defined]
        job = await core.job(reply.job_id)  # type: ignore[arg-type]
        face = (await rig.db.read(lambda db: next(iter(db.query("SELECT face_sha256 FROM cameos")))))["face_sha256"]

    # The same request without the cameo: what the figure looks like (and sounds like) otherwise.
    plain = generator.generate(
        GenerationRequest("generate", job.prompt, 640, 360, 1.5, int(job.params["seed"])), no_progress, CancelToken()
    )
    from model.likeness import face_from_png

    # The figure's head carries the face: where the two renders differ, the cameo's render has the
    # photo's colours and the plain one does not.
    photo = face_from_png(rig.media.read(face, ".png")).reshape(-1, 3).astype(float).mean(axis=0)
    with_face, without = clip.frames[12].astype(float), plain.frames[12].astype(float)
    changed = np.abs(with_face - without).sum(axis=2) > 90  # well above the lossy coding's noise
    assert changed.sum() > 100
    assert np.abs(with_face[changed].mean(axis=0) - photo).sum() < np.abs(without[changed].mean(axis=0) - photo).sum()
    # The recorded voice plays: the clip is far louder than the silent figure's.
    loud = float(np.sqrt(np.mean(clip.audio**2)))
    assert loud > 4 * float(np.sqrt(np.mean(plain.audio**2))) and loud > 0.01


async def test_a_person_picked_by_account_stands_for_the_cameo_they_own(tmp_path: Path) -> None:
    async with cameo_core(tmp_path) as rig:
        ana = person("ana", platform="discord")
        assert await rig.cameos.handle_of("discord", "id-ana") is None
        assert (await rig.cameos.create_from_likeness(ana, dm(ana), "ana_cam", synthetic_likeness())).ok
        assert await rig.cameos.handle_of("discord", "id-ana") == "ana_cam"
        assert await rig.cameos.handle_of("telegram", "id-ana") is None
        assert (await rig.core.handle_text(ana, dm(ana), "cameo revoke")).ok
        assert await rig.cameos.handle_of("discord", "id-ana") is None


async def test_a_revocation_during_encoding_still_wins_and_no_file_is_kept(tmp_path: Path) -> None:
    from core.extensions import JobExtension

    async with cameo_core(tmp_path) as rig:
        assert (await rig.cameos.create_from_likeness(ANA, dm(ANA), "ana", synthetic_likeness())).ok
        assert (await rig.core.handle_text(ANA, dm(ANA), "cameo allow test:id-bo")).ok

        class RevokeWhileEncoding(JobExtension):
            """Ana turns her cameo off in the moment between the encoder finishing and the clip being recorded."""

            def sign(self, data: bytes, job: object) -> bytes:
                rig.db.write_sync(lambda db: db.execute("UPDATE cameos SET revoked_at = 'now' WHERE handle = 'ana'"))
                return data

        rig.core.extensions.append(RevokeWhileEncoding())
        events = rig.core.bus.subscribe()
        videos_before = {p for p in rig.media.files() if p.suffix == ".mp4"}
        reply = await rig.core.handle_text(BO, GROUP, "sora @ana waves --seconds 1 --size 160x96")
        assert reply.ok, reply.text
        cancelled = await wait_for(events, lambda e: isinstance(e, JobCancelled) and e.job_id == reply.job_id)
        assert "@ana" in cancelled.reason and "refunded" in cancelled.reason
        assert await rig.db.read(lambda db: list(db.query("SELECT id FROM clips"))) == []
        assert {p for p in rig.media.files() if p.suffix == ".mp4"} == videos_before
        assert (await rig.core.quota_status(BO, GROUP)).used == 0
        assert await rig.db.read(quotas.unbalanced_jobs) == []
        assert await rig.core.claim_deliveries("test") == []  # no clip posted, no notice sent
