"""A clip the output check refused shows on the web console's admin page, with its reason."""

from __future__ import annotations

from core.events import JobCancelled, JobDone
from tests.safety.support import AstronautGenerator
from tests.support import actor, place, wait_for
from tests.web.helpers import served_console, signed_in

ASK = "sora a portrait of an astronaut --seconds 1 --size 256x256"


async def test_the_admin_page_lists_a_refused_clip_with_its_reason(tmp_path) -> None:
    async with served_console(
        tmp_path, AstronautGenerator(), output_check="on", output_check_thresholds="nsfw=0.01"
    ) as served:
        events = served.core.bus.subscribe()
        reply = await served.core.handle_text(actor(), place(), ASK)
        assert isinstance(await wait_for(events, lambda e: isinstance(e, (JobCancelled, JobDone))), JobCancelled)

        admin = await signed_in(served, "boss", admin=True)
        page = await admin.get("/admin")
        assert page.status == 200
        html = await page.text()
        refusals = html.split("<h2>Moderation refusals</h2>", 1)[1].split("</section>", 1)[0]
        assert "output: nudity or sexual content" in refusals and "a portrait of an astronaut" in refusals
        assert "Ana" in refusals
        audit = html.split("<h2>Audit log</h2>", 1)[1]
        assert reply.job_id in audit and "output check (open_nsfw)" in audit and "job_cancelled" in audit

        person = await signed_in(served, "someone")
        assert (await person.get("/admin", allow_redirects=False)).status in (302, 303, 403)
