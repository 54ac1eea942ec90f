"""Whatever a member types, through the whole core: a short, clear answer, no traceback, no charge for a refusal."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.commands import PARSERS
from core.events import JobDone
from tests.support import actor, place, running_core, wait_for

COMMAND_WORDS = sorted({*PARSERS, "cameo", "forgetme", "link", "links", "unlink", "help"})
OPTIONS = ["--seconds", "--size", "--seed", "--aspect", "--strength", "--", "-"]
ODD = ["²", "٣", "1e3", "nan", "inf", "-0", "0x10", "9" * 30, "\u202e", "\u200b", "\x00", "🎬", "ｓｏｒａ", "İ", "ß"]
OPTION_VALUES = st.one_of(
    st.sampled_from(["landscape", "portrait", "square", "640x360", "1x1", "99999x99999", "0", "-5", "20", "21"]),
    st.sampled_from(ODD),
    st.integers(-(10**12), 10**12).map(str),
    st.text(max_size=8),
)
# "{clip}" becomes the id of a real clip made at the start, so remix, extend, stitch and tree reach the stored clip.
CLIP_IDS = st.sampled_from(["{clip}", "{clip}", "abcdefgh", "00000000", "ABCDEFGH", "abc", "../../etc", "@me"])
TOKEN = st.one_of(
    st.sampled_from(OPTIONS),
    OPTION_VALUES,
    CLIP_IDS,
    st.sampled_from(ODD),
    st.text(min_size=1, max_size=10),
)
COMMAND = st.tuples(
    st.sampled_from(["", "/", "!"]),
    st.sampled_from(COMMAND_WORDS),
    st.sampled_from(["", "@sorabox_bot"]),
    st.lists(TOKEN, max_size=8),
).map(lambda t: f"{t[0]}{t[1]}{t[2]} " + " ".join(t[3]))

PYTHON_LEAKS = ("Traceback", "Error(", "KeyError", "TypeError", "AttributeError", "NoneType", 'File "')


async def _run(commands: list[str]) -> None:
    with tempfile.TemporaryDirectory() as data:
        async with running_core(Path(data)) as core:
            member, here = actor("ana"), place()
            events = core.bus.subscribe()
            made = await core.handle_text(member, here, "sora a red ball --seconds 1 --size 160x96")
            done = await wait_for(events, lambda e: isinstance(e, JobDone) and e.job_id == made.job_id)
            for text in (c.replace("{clip}", done.clip_id) for c in commands):
                before = (await core.quota_status(member, here)).remaining
                reply = await core.handle_text(member, here, text)
                after = (await core.quota_status(member, here)).remaining
                assert reply.text.strip(), f"an empty answer to {text!r}"
                assert not any(leak in reply.text for leak in PYTHON_LEAKS), f"{text!r} -> {reply.text!r}"
                if not reply.ok:
                    assert len(reply.text) <= 600, f"a refusal should be short: {text!r} -> {reply.text!r}"
                    assert after == before, f"a refusal charged credits: {text!r} -> {reply.text!r}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMMAND, min_size=1, max_size=12))
def test_any_command_with_any_options_gets_a_clear_answer_and_refusals_cost_nothing(commands: list[str]) -> None:
    asyncio.run(_run(commands))
