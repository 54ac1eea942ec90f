"""The web console over HTTP: accounts, sessions, CSRF, the chat API, signed media, admin and metrics."""

from __future__ import annotations

import asyncio
import re
import threading
from urllib.parse import parse_qs, urlsplit

from core.people.accounts import hash_password, verify_password
from model.media import probe
from tests.support import ToneGenerator
from tests.web.helpers import (
    EventStream,
    eventually,
    form_csrf,
    open_thread,
    page_csrf,
    served_console,
    sign_in_with_link,
    signed_in,
)


def test_password_hash_is_salted_scrypt_and_checks_only_the_right_password() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second  # a fresh salt each time
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse batterx", first)
    assert not verify_password("anything", "md5$nope")


async def test_first_start_link_makes_an_admin_whose_link_works_once(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        link = await served.console.first_start_link()
        assert link is not None and link.startswith(str(served.server.make_url("/signin/link/")))
        assert await served.console.first_start_link() is None  # accounts exist now

        browser = served.client()
        await browser.start_server()
        path = urlsplit(link).path
        page = await browser.get(path)
        assert "Sign in as admin" in await page.text()
        response = await browser.post(path, data={"csrf": form_csrf(await page.text())}, allow_redirects=False)
        assert response.status == 302
        cookie = response.headers["Set-Cookie"]
        assert "sorabox_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        admin = await browser.get("/admin")
        assert admin.status == 200 and "Queue" in await admin.text()

        again = served.client()
        await again.start_server()
        page = await again.get(path)
        assert page.status == 410
        fresh = form_csrf(await (await again.get("/signin")).text())
        replay = await again.post(path, data={"csrf": fresh}, allow_redirects=False)
        assert replay.status == 410
        assert (await again.get("/threads", allow_redirects=False)).status == 302
        await browser.close()
        await again.close()


async def test_password_sign_in_accepts_the_password_and_refuses_a_wrong_one(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        await served.console.accounts.create("ana", "a long enough password")
        browser = served.client()
        await browser.start_server()
        page = await browser.get("/signin")
        csrf = form_csrf(await page.text())
        wrong = await browser.post("/signin", data={"csrf": csrf, "name": "ana", "password": "not it at all"})
        assert wrong.status == 401 and "do not match" in await wrong.text()
        right = await browser.post(
            "/signin",
            data={"csrf": csrf, "name": "ANA", "password": "a long enough password", "next": "/quota"},
            allow_redirects=False,
        )
        assert right.status == 302 and right.headers["Location"] == "/quota"
        quota = await browser.get("/quota")
        assert quota.status == 200 and "60 of 60 left today" in await quota.text()
        assert (await browser.get("/admin")).status == 403  # not an admin
        await browser.close()


async def test_state_changing_requests_without_the_csrf_token_are_refused(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        browser = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(browser)
        url = f"/api/threads/{thread_id}/messages"
        missing = await browser.post(url, json={"text": "sora a red ball"})
        assert missing.status == 403 and "CSRF" in await missing.text()
        wrong = await browser.post(url, json={"text": "sora a red ball"}, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
        assert wrong.status == 403
        assert (await browser.post("/threads", data={"title": "no token"}, allow_redirects=False)).status == 403
        assert (await browser.post("/account/password", data={"password": "x" * 12, "again": "x" * 12})).status == 403
        assert (await browser.post("/signout", data={}, allow_redirects=False)).status == 403
        # A sign-in form posted without the cookie that goes with its token (a login CSRF) is refused too.
        stranger = served.client()
        await stranger.start_server()
        forged = await stranger.post("/signin", data={"csrf": "guess", "name": "ana", "password": "whatever1234"})
        assert forged.status == 403
        assert await served.console.threads.messages(thread_id) == []  # nothing was said
        ok = await browser.post(url, json={"text": "help"}, headers={"X-CSRF-Token": csrf})
        assert ok.status == 200
        await browser.close()
        await stranger.close()


async def test_a_tampered_or_ended_session_cookie_signs_nobody_in(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        browser = await signed_in(served, "ana")
        cookie = browser.session.cookie_jar.filter_cookies(browser.make_url("/"))["sorabox_session"].value
        session_id, _, signature = cookie.rpartition(".")
        forger = served.client()
        await forger.start_server()
        # A different last character: a 32-byte MAC's last base64 character is one of only 16, "A" among them.
        tampered = signature[:-1] + ("B" if signature.endswith("A") else "A")
        forged = await forger.get(
            "/api/threads/abcdefgh", headers={"Cookie": f"sorabox_session={session_id}.{tampered}"}
        )
        assert forged.status == 401
        genuine = await forger.get("/threads", headers={"Cookie": f"sorabox_session={cookie}"}, allow_redirects=False)
        assert genuine.status in (200, 302) and genuine.headers.get("Location", "").startswith("/threads")

        page = await browser.get("/account")
        await browser.post("/signout", data={"csrf": form_csrf(await page.text())}, allow_redirects=False)
        after = await forger.get("/threads", headers={"Cookie": f"sorabox_session={cookie}"}, allow_redirects=False)
        assert after.status == 302 and after.headers["Location"].startswith("/signin")
        await browser.close()
        await forger.close()


async def test_a_prompt_in_a_thread_shows_progress_then_a_playable_clip_and_a_reply_remixes_it(tmp_path) -> None:
    async with served_console(tmp_path, ToneGenerator(steps=4, step_seconds=0.05)) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        bo = await signed_in(served, "bo")
        stream = await bo.get(f"/api/threads/{thread_id}/events")
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = EventStream(stream)

        sent = await ana.post(
            f"/api/threads/{thread_id}/messages",
            json={"text": "a red ball bounces --seconds 1"},
            headers={"X-CSRF-Token": csrf},
        )
        body = await sent.json()
        assert body["ok"], body
        job_id = body["job_id"]

        said = await events.until(lambda e: e["type"] == "message" and e["message"]["kind"] == "text")
        assert said["message"]["author"] == "ana" and said["message"]["text"] == "a red ball bounces --seconds 1"
        progress = await events.until(lambda e: e["type"] == "job" and e["job_id"] == job_id and e.get("total"))
        assert progress["state"] in ("running", "encoding") and progress["total"] == 4
        posted = await asyncio.wait_for(
            events.until(lambda e: e["type"] == "message" and e["message"]["kind"] == "clip"), 20
        )
        clip_message = posted["message"]
        assert clip_message["job_id"] == job_id and clip_message["author"] == "ana"

        media = await bo.get(clip_message["media_url"])
        assert media.status == 200 and media.headers["Content-Type"] == "video/mp4"
        info = probe(await media.read())
        assert info.frame_count > 0 and info.audio_codec == "aac" and info.audio_seconds > 0

        remix = await bo.post(
            f"/api/threads/{thread_id}/messages",
            json={"text": "make it blue", "reply_to": clip_message["id"]},
            headers={"X-CSRF-Token": (await open_thread(bo))[1]},
        )
        assert (await remix.json())["ok"]
        child = await asyncio.wait_for(
            events.until(
                lambda e: (
                    e["type"] == "message"
                    and e["message"]["kind"] == "clip"
                    and e["message"]["clip_id"] != clip_message["clip_id"]
                )
            ),
            20,
        )
        assert child["message"]["payload"]["parent_clip_id"] == clip_message["clip_id"]
        assert child["message"]["payload"]["clip_kind"] == "remix"

        tree = await (await ana.get(f"/api/threads/{thread_id}/tree")).json()
        (root,) = tree["trees"]
        assert root["clip_id"] == clip_message["clip_id"] and root["author"] == "ana"
        assert [c["clip_id"] for c in root["children"]] == [child["message"]["clip_id"]]
        assert root["children"][0]["author"] == "bo" and root["children"][0]["prompt"] == "make it blue"
        stream.close()
        await ana.close()
        await bo.close()


async def test_a_reply_to_a_message_that_is_not_a_clip_is_refused(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        said = await (
            await ana.post(f"/api/threads/{thread_id}/messages", json={"text": "help"}, headers={"X-CSRF-Token": csrf})
        ).json()
        refused = await ana.post(
            f"/api/threads/{thread_id}/messages",
            json={"text": "make it blue", "reply_to": said["message_id"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status == 400 and "reply only to a clip" in await refused.text()
        await ana.close()


async def _one_clip(served, client, thread_id: str, csrf: str) -> dict:
    stream = await client.get(f"/api/threads/{thread_id}/events")
    events = EventStream(stream)
    await client.post(
        f"/api/threads/{thread_id}/messages", json={"text": "sora a ball --seconds 1"}, headers={"X-CSRF-Token": csrf}
    )
    posted = await asyncio.wait_for(
        events.until(lambda e: e["type"] == "message" and e["message"]["kind"] == "clip"), 20
    )
    stream.close()
    return posted["message"]


async def test_media_links_expire_and_refuse_tampering(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        clip_id = (await _one_clip(served, ana, thread_id, csrf))["clip_id"]
        stranger = served.client()  # no session: a signed link is enough, as for chat platforms
        await stranger.start_server()

        url = urlsplit(served.console.media_url(clip_id, expires_in=60))
        assert url.netloc == served.server.make_url("").raw_authority
        good = await stranger.get(f"{url.path}?{url.query}")
        assert good.status == 200 and len(await good.read()) > 1000
        ranged = await stranger.get(f"{url.path}?{url.query}", headers={"Range": "bytes=0-99"})
        assert ranged.status == 206 and len(await ranged.read()) == 100

        query = parse_qs(url.query)
        exp, sig = query["exp"][0], query["sig"][0]
        later = await stranger.get(url.path, params={"exp": str(int(exp) + 3600), "sig": sig})
        assert later.status == 403 and "not valid" in await later.text()
        flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
        assert (await stranger.get(url.path, params={"exp": exp, "sig": flipped})).status == 403
        other = await stranger.get("/media/abcdefgh", params={"exp": exp, "sig": sig})
        assert other.status == 403
        assert (await stranger.get(url.path)).status == 403

        expired = urlsplit(served.console.media_url(clip_id, expires_in=-1))
        gone = await stranger.get(f"{expired.path}?{expired.query}")
        assert gone.status == 403 and "expired" in await gone.text()
        await ana.close()
        await stranger.close()


async def test_the_signing_key_is_created_once_in_the_data_folder_and_kept(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        url = served.console.media_url("abcdefgh", 600)
        key_file = tmp_path / "secret.key"
        assert key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_bytes()
    async with served_console(tmp_path) as served:
        again = urlsplit(url)
        assert key_file.read_bytes() == key
        # The same key signs the same link: links handed out before a restart keep working.
        assert served.console.signer.verify(
            "media", f"abcdefgh:{parse_qs(again.query)['exp'][0]}", parse_qs(again.query)["sig"][0]
        )


async def test_oversized_request_bodies_are_refused_before_anything_happens(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        url = f"/api/threads/{thread_id}/messages"
        huge = await ana.post(
            url,
            data=b'{"text": "' + b"a" * 40_000 + b'"}',
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert huge.status == 413
        long = await ana.post(url, json={"text": "a" * 2001}, headers={"X-CSRF-Token": csrf})
        assert long.status == 400
        not_json = await ana.post(url, data=b"text=hi", headers={"X-CSRF-Token": csrf})
        assert not_json.status == 400
        assert await served.console.threads.messages(thread_id) == []
        await ana.close()


async def test_admin_sees_the_queue_and_cancels_any_job_while_others_may_not(tmp_path) -> None:
    gate = threading.Event()
    async with served_console(tmp_path, ToneGenerator(steps=2, gate=gate)) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        first = await (
            await ana.post(
                f"/api/threads/{thread_id}/messages", json={"text": "sora one"}, headers={"X-CSRF-Token": csrf}
            )
        ).json()
        second = await (
            await ana.post(
                f"/api/threads/{thread_id}/messages", json={"text": "sora two"}, headers={"X-CSRF-Token": csrf}
            )
        ).json()
        assert first["ok"] and second["ok"]
        assert (await ana.get("/admin")).status == 403

        root = await signed_in(served, "root", admin=True)
        page = await root.get("/admin")
        html = await page.text()
        assert second["job_id"] in html and first["job_id"] in html
        cancelled = await root.post(f"/admin/jobs/{second['job_id']}/cancel", data={"csrf": form_csrf(html)})
        assert cancelled.status == 200 and "cancelled" in await cancelled.text()
        assert (await served.core.job(second["job_id"])).state == "cancelled"
        gate.set()
        assert await eventually(lambda: _state(served, first["job_id"]), "done")
        notices = [m for m in await served.console.threads.messages(thread_id) if m.kind == "notice"]
        assert any(second["job_id"] in m.text and "cancelled by root" in m.text for m in notices)

        html = await (await root.get("/admin")).text()
        quota = await root.post("/admin/quota", data={"csrf": form_csrf(html), "platform": "web", "daily_credits": "7"})
        assert "daily allowance for web is now 7 credits" in await quota.text()
        cy = await signed_in(served, "cy")
        assert "7 of 7 left today" in await (await cy.get("/quota")).text()
        await cy.close()
        await ana.close()
        await root.close()


async def test_metrics_report_queue_jobs_outbox_and_refusals_in_prometheus_format(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        refused = await (
            await ana.post(
                f"/api/threads/{thread_id}/messages",
                json={"text": "sora a nude statue"},
                headers={"X-CSRF-Token": csrf},
            )
        ).json()
        assert not refused["ok"]
        await _one_clip(served, ana, thread_id, csrf)
        health = await ana.get("/healthz")
        body = await health.json()
        assert health.status == 200 and body["ok"] is True
        # The local executor is threads of this process: always reachable.
        assert body["executor"]["kind"] == "local" and body["executor"]["reachable"] is True

        response = await ana.get("/metrics")
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
        # Sample values are floats in the text format: prometheus-client writes 1 as "1.0".
        values = {k: float(v) for k, v in re.findall(r"^(sorabox_[^ {]+(?:\{[^}]*\})?) (\S+)$", text, re.M)}
        assert values["sorabox_queue_depth"] == 0
        assert values['sorabox_jobs{state="done"}'] == 1
        assert values["sorabox_generation_seconds_count"] == 1
        assert float(values["sorabox_generation_seconds_sum"]) > 0
        assert 0 < float(values["sorabox_gpu_busy_ratio"]) <= 1
        assert values['sorabox_deliveries_pending{platform="web"}'] == 0
        assert values['sorabox_refusals_total{reason="policy"}'] == 1
        assert values['sorabox_policy_refusals_total{category="sexual content"}'] == 1
        assert "# TYPE sorabox_refusals_total counter" in text
        assert values['sorabox_executor_up{kind="local"}'] == 1
        await ana.close()


async def test_a_deleted_clip_disappears_from_the_thread_for_everyone(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        clip = await _one_clip(served, ana, thread_id, csrf)
        bo = await signed_in(served, "bo")
        stream = await bo.get(f"/api/threads/{thread_id}/events?after=999999")
        events = EventStream(stream)
        bo_csrf = (await open_thread(bo))[1]
        refused = await (
            await bo.post(
                f"/api/threads/{thread_id}/clips/{clip['clip_id']}/delete", json={}, headers={"X-CSRF-Token": bo_csrf}
            )
        ).json()
        assert not refused["ok"] and "only the person who made this clip" in refused["text"]
        deleted = await (
            await ana.post(
                f"/api/threads/{thread_id}/clips/{clip['clip_id']}/delete", json={}, headers={"X-CSRF-Token": csrf}
            )
        ).json()
        assert deleted["ok"], deleted
        gone = await asyncio.wait_for(events.until(lambda e: e["type"] == "clip_deleted"), 10)
        assert gone["clip_id"] == clip["clip_id"]
        assert (await bo.get(clip["media_url"])).status == 404
        history = (await (await bo.get(f"/api/threads/{thread_id}")).json())["messages"]
        (shown,) = [m for m in history if m["kind"] == "clip"]
        assert shown["deleted"] and "media_url" not in shown
        stream.close()
        await ana.close()
        await bo.close()


async def _state(served, job_id: str) -> str:
    return (await served.core.job(job_id)).state


async def _pending_web(served) -> int:
    return (await served.core.pending_delivery_counts()).get("web", 0)


async def test_a_clip_finished_while_the_console_was_down_is_posted_when_it_starts(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, csrf = await open_thread(ana)
        await served.console.stop()
        reply = await (
            await ana.post(
                f"/api/threads/{thread_id}/messages",
                json={"text": "sora a cube --seconds 1"},
                headers={"X-CSRF-Token": csrf},
            )
        ).json()
        assert await eventually(lambda: _state(served, reply["job_id"]), "done")
        assert (await served.core.pending_delivery_counts()).get("web") == 1
        assert [m.kind for m in await served.console.threads.messages(thread_id)] == ["text", "reply"]
        await served.console.start()
        assert await eventually(lambda: _pending_web(served), 0)
        kinds = [m.kind for m in await served.console.threads.messages(thread_id)]
        assert kinds == ["text", "reply", "clip"]
        await ana.close()


async def test_pages_render_for_a_signed_in_person_and_send_a_strict_content_policy(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana", admin=True)
        thread_id, csrf = await open_thread(ana)
        await _one_clip(served, ana, thread_id, csrf)
        for path in (
            "/threads",
            f"/threads/{thread_id}",
            "/gallery",
            f"/gallery?thread={thread_id}",
            "/gallery?person=ana",
            "/quota",
            "/account",
            "/admin",
        ):
            response = await ana.get(path)
            assert response.status == 200, path
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert 'name="viewport"' in await response.text()
        gallery = await (await ana.get("/gallery?person=nobody")).text()
        assert "No clips match" in gallery
        await ana.close()


async def test_a_link_for_someone_else_signs_in_that_person_not_the_admin(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        root = await signed_in(served, "root", admin=True)
        html = await (await root.get("/admin")).text()
        made = await root.post("/admin/accounts", data={"csrf": form_csrf(html), "name": "dana"})
        match = re.search(r'value="(http[^"]+/signin/link/[^"]+)" id="invite-link"', await made.text())
        assert match
        dana = served.client()
        await dana.start_server()
        await sign_in_with_link(dana, match.group(1))
        account = await (await dana.get("/account")).text()
        assert "<h1>dana</h1>" in account and "Admin." not in account
        await root.close()
        await dana.close()


async def test_stopping_the_console_ends_open_event_streams_so_the_server_can_shut_down(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        thread_id, _ = await open_thread(ana)
        stream = await ana.get(f"/api/threads/{thread_id}/events")
        assert served.console.hub.watchers(thread_id) == 1
        await served.console.stop()
        rest = await asyncio.wait_for(stream.content.read(), 5)
        assert rest.startswith(b"retry:")  # everything the stream sent before it ended
        assert served.console.hub.watchers(thread_id) == 0


async def test_repeated_wrong_passwords_lock_that_name_for_a_while(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        await served.console.accounts.create("ana", "a long enough password")
        browser = served.client()
        await browser.start_server()
        csrf = form_csrf(await (await browser.get("/signin")).text())
        statuses = [
            (await browser.post("/signin", data={"csrf": csrf, "name": "ana", "password": f"wrong guess {i}"})).status
            for i in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        locked = await browser.post("/signin", data={"csrf": csrf, "name": "ana", "password": "a long enough password"})
        assert locked.status == 429  # even the right password waits out the window
        other = await browser.post("/signin", data={"csrf": csrf, "name": "bo", "password": "whatever else"})
        assert other.status == 401  # other names are not locked


async def test_a_locked_name_stays_locked_after_the_service_restarts(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        await served.console.accounts.create("ana", "a long enough password")
        browser = served.client()
        await browser.start_server()
        csrf = form_csrf(await (await browser.get("/signin")).text())
        for i in range(5):
            wrong = await browser.post("/signin", data={"csrf": csrf, "name": "ana", "password": f"wrong guess {i}"})
            assert wrong.status == 401
    async with served_console(tmp_path) as served:  # the same data folder: the same database
        browser = served.client()
        await browser.start_server()
        csrf = form_csrf(await (await browser.get("/signin")).text())
        locked = await browser.post("/signin", data={"csrf": csrf, "name": "ana", "password": "a long enough password"})
        assert locked.status == 429 and "wait a few minutes" in await locked.text()


async def test_a_persons_inbox_is_private_and_clips_made_there_stay_out_of_others_gallery(tmp_path) -> None:
    async with served_console(tmp_path) as served:
        ana = await signed_in(served, "ana")
        await open_thread(ana)  # the shared thread, so Bo's gallery has something to compare with
        account = await served.console.accounts.by_name("ana")
        assert account is not None
        inbox = await served.console.threads.inbox(account.id)
        assert inbox is not None and inbox.owner_account_id == account.id
        page = await ana.get(f"/threads/{inbox.id}")
        assert page.status == 200
        clip = await _one_clip(served, ana, inbox.id, page_csrf(await page.text()))

        bo = await signed_in(served, "bo")
        assert (await bo.get(f"/threads/{inbox.id}")).status == 404
        assert (await bo.get(f"/api/threads/{inbox.id}/events")).status == 404
        assert clip["clip_id"] not in await (await bo.get("/gallery")).text()
        assert clip["clip_id"] in await (await ana.get("/gallery")).text()
