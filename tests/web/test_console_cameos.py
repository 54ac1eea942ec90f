"""Cameos in the web console: uploads are size-limited and type-checked; owners manage and clean up."""

from __future__ import annotations

import asyncio
import html
import re

import aiohttp

from core.identity import Place
from tests.cameos.helpers import person, synthetic_likeness
from tests.cameos.reference import needs_espeak, speaking_astronaut
from tests.web.helpers import EventStream, form_csrf, open_thread, served_console, signed_in

# Just enough of an MP4 to pass the container check: a size, then the "ftyp" box name.
FAKE_MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def upload(csrf: str | None, video: bytes, content_type: str = "video/mp4", handle: str = "ana") -> aiohttp.FormData:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("handle", handle)
    form.add_field("video", video, filename="me.mp4", content_type=content_type)
    return form


async def test_uploads_over_the_limit_or_not_video_or_without_the_token_are_refused(tmp_path) -> None:
    async with served_console(tmp_path, cameos=True, web_max_upload_mb="0.1") as served:
        ana = await signed_in(served, "ana")
        page = await ana.get("/cameos")
        csrf = form_csrf(await page.text())

        too_big = await ana.post("/cameos", data=upload(csrf, FAKE_MP4_HEAD + b"\x00" * 200_000))
        assert too_big.status == 413
        image = await ana.post("/cameos", data=upload(csrf, PNG, content_type="image/png"))
        assert image.status == 415
        disguised = await ana.post("/cameos", data=upload(csrf, PNG, content_type="video/mp4"))
        assert disguised.status == 415 and "not an MP4 or WebM" in await disguised.text()
        no_token = await ana.post("/cameos", data=upload(None, FAKE_MP4_HEAD))
        assert no_token.status == 403
        wrong_token = await ana.post("/cameos", data=upload("forged", FAKE_MP4_HEAD))
        assert wrong_token.status == 403

        # Within the limit and the right type, the cameo checks run and refuse a file that is no real video.
        checked = await ana.post("/cameos", data=upload(csrf, FAKE_MP4_HEAD + b"\x00" * 1000))
        assert checked.status == 400 and "can't make cameo @ana" in html.unescape(await checked.text())
        assert served.console.cameos is not None
        account = await served.console.accounts.by_name("ana")
        assert account is not None
        listed = await served.console.cameos.list_cameos(account.actor, served.console.private_place(account))
        assert "no cameo yet" in listed.text


async def _actor(served, name: str):
    account = await served.console.accounts.by_name(name)
    assert account is not None
    return account.actor


@needs_espeak
async def test_a_cameo_made_through_the_upload_form_is_used_by_an_approved_friend_and_its_owner_deletes_the_clip(
    tmp_path,
) -> None:
    video = await asyncio.to_thread(speaking_astronaut, 4.0)
    async with served_console(tmp_path, cameos=True) as served:
        ana = await signed_in(served, "ana")
        csrf = form_csrf(await (await ana.get("/cameos")).text())
        made = await ana.post("/cameos", data=upload(csrf, video, handle="astro"))
        text = html.unescape(await made.text())
        assert made.status == 200 and "created cameo @astro" in text, text
        assert 'id="cameo-astro"' in text

        bo = await signed_in(served, "bo")
        thread_id, bo_csrf = await open_thread(bo)
        refused = await (
            await bo.post(
                f"/api/threads/{thread_id}/messages",
                json={"text": "sora @astro waves"},
                headers={"X-CSRF-Token": bo_csrf},
            )
        ).json()
        assert not refused["ok"]

        allowed = await ana.post("/cameos/astro/allow", data={"csrf": csrf, "who": "bo"})
        assert "bo may now use @astro" in html.unescape(await allowed.text())

        stream = await bo.get(f"/api/threads/{thread_id}/events?after=999999")
        events = EventStream(stream)
        made_clip = await (
            await bo.post(
                f"/api/threads/{thread_id}/messages",
                json={"text": "sora @astro waves --seconds 1"},
                headers={"X-CSRF-Token": bo_csrf},
            )
        ).json()
        assert made_clip["ok"], made_clip
        posted = await asyncio.wait_for(
            events.until(lambda e: e["type"] == "message" and e["message"]["kind"] == "clip"), 30
        )
        clip_id = posted["message"]["clip_id"]

        gallery = await (await bo.get("/gallery?cameo=astro")).text()
        assert clip_id in gallery

        # Ana hears about it in her private inbox (its id is her account id), which Bo cannot open.
        ana_id = (await _actor(served, "ana")).user_id
        notices: list[dict] = []
        for _ in range(200):
            inbox = await ana.get(f"/api/threads/{ana_id}")
            notices = [m for m in (await inbox.json())["messages"] if m["kind"] == "notice"] if inbox.ok else []
            if notices:
                break
            await asyncio.sleep(0.05)
        assert notices and notices[0]["clip_id"] == clip_id and "bo used your cameo @astro" in notices[0]["text"]
        assert (await bo.get(f"/api/threads/{ana_id}")).status == 404
        assert ana_id not in await (await bo.get("/threads")).text()
        page = await (await ana.get("/cameos")).text()
        assert clip_id in page and "by bo" in page
        deleted = await ana.post(f"/cameos/clips/{clip_id}/delete", data={"csrf": csrf})
        assert deleted.status == 200
        gone = await asyncio.wait_for(events.until(lambda e: e["type"] == "clip_deleted"), 10)
        assert gone["clip_id"] == clip_id
        assert clip_id not in re.sub(r"deleted clip `\w+`", "", await (await ana.get("/cameos")).text())

        revoked = await ana.post("/cameos/astro/revoke", data={"csrf": csrf})
        assert "turned off" in await revoked.text()
        stream.close()


async def _cameo_of(served, name: str, handle: str) -> None:
    """A cameo from a stand-in likeness (no video checks): these tests are about who may use it."""
    account = await served.console.accounts.by_name(name)
    assert account is not None and served.console.cameos is not None
    made = await served.console.cameos.create_from_likeness(
        account.actor, served.console.private_place(account), handle, synthetic_likeness()
    )
    assert made.ok, made.text


async def _use(client, thread_id: str, csrf: str, handle: str) -> dict:
    response = await client.post(
        f"/api/threads/{thread_id}/messages",
        json={"text": f"sora @{handle} waves --seconds 1"},
        headers={"X-CSRF-Token": csrf},
    )
    return await response.json()


async def test_my_community_on_the_cameo_page_opens_the_cameo_to_every_shared_thread_of_the_console_only(
    tmp_path,
) -> None:
    async with served_console(tmp_path, cameos=True) as served:
        ana = await signed_in(served, "ana")
        await _cameo_of(served, "ana", "astro")
        bo = await signed_in(served, "bo")
        thread_id, bo_csrf = await open_thread(bo)
        assert not (await _use(bo, thread_id, bo_csrf, "astro"))["ok"]

        csrf = form_csrf(await (await ana.get("/cameos")).text())
        shared = await ana.post("/cameos/astro/who", data={"csrf": csrf, "level": "community"})
        text = html.unescape(await shared.text())
        assert shared.status == 200 and "members of web:console" in text, text

        other = await bo.post("/threads", data={"csrf": bo_csrf, "title": "another"})  # any shared thread will do
        other_id = other.url.path.rsplit("/", 1)[-1]
        for thread in (thread_id, other_id):
            used = await _use(bo, thread, bo_csrf, "astro")
            assert used["ok"], used
        # The console's community is not a Telegram group or a Discord server.
        assert served.console.cameos is not None
        elsewhere = await served.core.handle_text(
            person("cy", platform="telegram"), Place("telegram", "-100", guild_id="-100"), "sora @astro waves"
        )
        assert not elsewhere.ok and "only in their community" in elsewhere.text

        private = await ana.post("/cameos/astro/who", data={"csrf": csrf, "level": "me"})
        assert private.status == 200
        assert not (await _use(bo, thread_id, bo_csrf, "astro"))["ok"]


async def test_the_cameo_page_allows_then_denies_a_person_and_refuses_an_unknown_level(tmp_path) -> None:
    async with served_console(tmp_path, cameos=True) as served:
        ana = await signed_in(served, "ana")
        await _cameo_of(served, "ana", "astro")
        bo = await signed_in(served, "bo")
        thread_id, bo_csrf = await open_thread(bo)
        csrf = form_csrf(await (await ana.get("/cameos")).text())

        allowed = await ana.post("/cameos/astro/allow", data={"csrf": csrf, "who": "bo"})
        assert "bo may now use @astro" in html.unescape(await allowed.text())
        assert (await _use(bo, thread_id, bo_csrf, "astro"))["ok"]

        denied = await ana.post("/cameos/astro/deny", data={"csrf": csrf, "who": "bo"})
        text = html.unescape(await denied.text())
        assert denied.status == 200 and "bo may no longer use @astro" in text, text
        assert "approved: nobody yet" in text
        refused = await _use(bo, thread_id, bo_csrf, "astro")
        assert not refused["ok"] and "has not approved you" in refused["text"]

        unknown = await ana.post("/cameos/astro/who", data={"csrf": csrf, "level": "friends"})
        assert unknown.status == 400 and "choose me, approved, community or everyone" in await unknown.text()
        forged = await ana.post("/cameos/astro/who", data={"csrf": "forged", "level": "everyone"})
        assert forged.status == 403
        # Only the owner manages a cameo: Bo's attempt changes nothing.
        bo_csrf_form = form_csrf(await (await bo.get("/cameos")).text())
        taken = await bo.post("/cameos/astro/who", data={"csrf": bo_csrf_form, "level": "everyone"})
        assert taken.status == 400
        assert not (await _use(bo, thread_id, bo_csrf, "astro"))["ok"]
