"""The web console in a real browser: sign in by link, make a clip, watch it, remix it, and see a second
person's browser receive the remix live. Drives Debian's Chromium through Playwright (no browser download)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import ToneGenerator
from tests.web.helpers import served_console

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
    # The test presses play itself; no gesture is needed for sound.
    "--autoplay-policy=no-user-gesture-required",
]
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


class PacedProcedural:
    """The procedural world (a real scene with real sound), its progress reports held 0.15 s each.

    On a quiet machine a 2 s clip renders in well under a second: the bar would jump from empty to
    full between two frames of the page, and the test could not see it move.
    """

    name = "procedural"

    def __init__(self) -> None:
        from model.procedural import ProceduralGenerator

        self._inner = ProceduralGenerator()

    def generate(self, request, progress, cancel):  # type: ignore[no-untyped-def]
        def paced(step: int, total: int, stage: str = "generating") -> None:
            progress(step, total, stage)
            time.sleep(0.15)

        return self._inner.generate(request, paced, cancel)


def _generator() -> object:
    """The procedural world when it is there; the test tone otherwise."""
    try:
        return PacedProcedural()
    except ImportError:
        return ToneGenerator(steps=6, step_seconds=0.1)


# Records every status line a job box shows, since a fast job's progress can come and go between two polls.
WATCH_JOBS = """() => {
  window.__jobTexts = [];
  window.__bars = [];
  new MutationObserver(() => {
    for (const box of document.querySelectorAll('.job')) {
      window.__jobTexts.push(box.querySelector('.job-text').textContent);
      const bar = box.querySelector('progress');
      if (bar.hasAttribute('value')) window.__bars.push([bar.value, bar.max]);
    }
  }).observe(document.getElementById('jobs'), {subtree: true, childList: true, characterData: true,
                                               attributes: true});
}"""

PLAY_FIRST_CLIP = """async () => {
  const video = document.querySelector('li.msg.clip video');
  await video.play();
  await new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (video.currentTime > 0.3 && video.webkitAudioDecodedByteCount > 0) resolve();
      else if (Date.now() - started > 20000) reject(new Error('the video did not play'));
      else setTimeout(tick, 50);
    };
    tick();
  });
  video.pause();
  return {duration: video.duration, currentTime: video.currentTime, audioBytes: video.webkitAudioDecodedByteCount,
          videoBytes: video.webkitVideoDecodedByteCount, width: video.videoWidth, height: video.videoHeight};
}"""


ALL_VIDEOS_LOADED = "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)"


async def test_two_people_in_one_thread_make_a_clip_and_see_each_others_remix_live(tmp_path) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with served_console(tmp_path, _generator()) as served, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            # Ana: the admin, signed in through the first-start link.
            link = await served.console.first_start_link()
            assert link is not None
            ana_context = await browser.new_context(viewport={"width": 1280, "height": 900})
            ana = await ana_context.new_page()
            await ana.goto(link)
            await ana.click("#use-link")
            await ana.wait_for_url("**/threads/*")
            thread_url = ana.url
            await ana.evaluate(WATCH_JOBS)

            await ana.fill("#text", "/sora a red ball bounces on a wooden floor --seconds 2 --size 320x180")
            await ana.press("#text", "Enter")
            await ana.wait_for_selector("li.msg.reply >> text=queued", timeout=WAIT_MS)
            clip = ana.locator("li.msg.clip")
            await clip.first.wait_for(timeout=WAIT_MS)
            texts = await ana.evaluate("window.__jobTexts")
            assert any("step" in t for t in texts), texts
            bars = await ana.evaluate("window.__bars")
            assert any(0 < value < maximum for value, maximum in bars), bars  # the bar moved mid-way

            played = await ana.evaluate(PLAY_FIRST_CLIP)
            assert played["duration"] > 1.5 and played["currentTime"] > 0.3
            assert played["audioBytes"] > 0 and played["videoBytes"] > 0
            assert (played["width"], played["height"]) == (320, 180)
            first_clip_id = await clip.first.locator(".clip").get_attribute("data-clip")

            # Bo: a second person on a phone-sized screen, in the same thread.
            bo_context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            bo = await bo_context.new_page()
            await bo.goto(await served.console.signin_link("bo"))
            await bo.click("#use-link")
            await bo.goto(thread_url)
            await bo.locator(f'.clip[data-clip="{first_clip_id}"] video').wait_for(timeout=WAIT_MS)
            await bo.locator(f'#tree li[data-clip="{first_clip_id}"]').wait_for(timeout=WAIT_MS)

            # Ana presses Remix on her clip and types into its reply box.
            await clip.first.locator("button.remix").click()
            reply_box = clip.first.locator("input.reply-input")
            assert await reply_box.evaluate("el => el === document.activeElement")
            await reply_box.fill("make the ball blue")
            await reply_box.press("Enter")

            # Bo sees the remix arrive without reloading, and the tree grow under the first clip.
            remix = bo.locator("li.msg.clip").nth(1)
            await remix.wait_for(timeout=WAIT_MS)
            assert "make the ball blue" in await remix.inner_text()
            child = bo.locator(f'#tree li[data-clip="{first_clip_id}"] li')
            await child.first.wait_for(timeout=WAIT_MS)
            assert "admin remixed: make the ball blue" in await child.first.inner_text()
            remix_id = await remix.locator(".clip").get_attribute("data-clip")
            assert await child.first.get_attribute("data-clip") == remix_id
            assert await bo.locator(f'.clip[data-clip="{remix_id}"] video').get_attribute("src")

            await ana.locator(f'#tree li[data-clip="{first_clip_id}"] li').first.wait_for(timeout=WAIT_MS)
            for page in (ana, bo):
                await page.wait_for_function(ALL_VIDEOS_LOADED, timeout=WAIT_MS)
            shot = await ana.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
            await bo.screenshot(path=str(ARTIFACTS / "chat-phone.png"), full_page=True)
            assert len(shot) > 10_000
        finally:
            await browser.close()
