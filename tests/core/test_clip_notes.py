"""The clip's caption tells everyone in the chat what the generator left out of the prompt."""

from __future__ import annotations

from pathlib import Path

from core.events import JobDone
from core.texts import clip_notes
from model.procedural import ProceduralGenerator
from tests.support import actor, place, running_core, wait_for


def test_notes_name_unused_words_first_then_the_generators_notes() -> None:
    line = clip_notes({"unused_words": ["drummer", "plays"], "notes": ["no object understood; showing a ball"]})
    assert line == "ℹ️ not used: drummer, plays; no object understood; showing a ball"


def test_a_long_list_of_unused_words_is_cut() -> None:
    words = [f"w{i}" for i in range(20)]
    line = clip_notes({"unused_words": words, "notes": []})
    assert line.startswith("ℹ️ not used: w0, w1") and line.endswith("w7, …") and "w8" not in line


def test_a_clip_that_followed_the_whole_prompt_has_no_notes() -> None:
    assert clip_notes({"unused_words": [], "notes": []}) == ""
    assert clip_notes({"backend": "ltx2", "adjusted": ["size 640x360 -> 640x352"]}) == ""


async def test_the_posted_caption_says_which_words_the_procedural_generator_did_not_use(tmp_path: Path) -> None:
    async with running_core(tmp_path, ProceduralGenerator(device="cpu")) as core:
        events = core.bus.subscribe()
        reply = await core.handle_text(actor(), place(), "sora a red ball bounces near a sleepy giraffe --seconds 1")
        assert reply.ok, reply.text
        await wait_for(events, lambda e: isinstance(e, JobDone), seconds=60)
        [delivery] = await core.claim_deliveries("test")
        prompt, notes, credits = delivery.text.split("\n")
        assert prompt == "a red ball bounces near a sleepy giraffe"
        assert notes.startswith("ℹ️ not used:") and "giraffe" in notes and "sleepy" in notes
        assert credits.startswith("— ") and "credits left today" in credits
