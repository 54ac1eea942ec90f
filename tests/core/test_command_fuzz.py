"""Whatever people type, the grammar answers with a command or a short message, never a crash."""

from hypothesis import given, settings
from hypothesis import strategies as st

from core.commands import PARSERS, Limits, parse
from core.errors import BadCommand

WORDS = st.sampled_from(
    [*PARSERS, "/sora", "sora@bot", "--seconds", "--size", "--seed", "--aspect", "k3f9x2ab", "²", "٣", "1e3", "nan"]
)
TEXT = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=12).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_any_text_parses_or_gets_a_short_message(text):
    try:
        parse(text, Limits())
    except BadCommand as refusal:
        message = str(refusal)
        assert message and len(message) <= 300 and "Traceback" not in message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_after_sora_is_a_prompt_or_a_clear_refusal(text):
    try:
        command = parse("sora " + text)
    except BadCommand as refusal:
        assert str(refusal)
    else:
        assert command.prompt and "\x00" not in command.prompt
