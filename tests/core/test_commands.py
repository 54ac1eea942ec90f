import pytest

from core.commands import (
    Cancel,
    Extend,
    Generate,
    Help,
    Limits,
    Quota,
    Remix,
    Stitch,
    cameo_handles,
    parse,
)
from core.errors import BadCommand


def test_sora_with_every_option():
    command = parse("/sora a red ball bounces --seconds 3 --size 320x240 --seed 7")
    assert command == Generate("a red ball bounces", 3.0, 320, 240, 7)


def test_telegram_botname_suffix_and_aliases_are_accepted():
    assert parse("/sora@sorabox_bot a cube").prompt == "a cube"
    assert parse("generate a cube --aspect portrait") == Generate("a cube", 5.0, 360, 640, None)


def test_options_may_use_equals_and_come_anywhere():
    assert parse("sora --seconds=2 a ball falls").seconds == 2.0


def test_remix_extend_stitch_cancel_quota_help():
    assert parse("remix k3f9x2ab make it blue") == Remix("k3f9x2ab", "make it blue")
    assert parse("extend k3f9x2ab --seconds 4") == Extend("k3f9x2ab", 4.0, "")
    assert parse("stitch k3f9x2ab q7w8e9r2") == Stitch(("k3f9x2ab", "q7w8e9r2"))
    assert parse("cancel abcd2345") == Cancel("abcd2345")
    assert parse("quota") == Quota()
    assert parse("help remix") == Help("remix")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sora", "the prompt is empty"),
        ("sora    --seed 3", "the prompt is empty"),
        ("sora a ball --fps 60", "unknown option --fps"),
        ("sora a ball --seconds 0", "--seconds must be between 1 and 20"),
        ("sora a ball --seconds 21", "--seconds must be between 1 and 20"),
        ("sora a ball --seconds lots", "--seconds must be a number"),
        ("sora a ball --seconds", "--seconds needs a value"),
        ("sora a ball --seed -4", "--seed must be a whole number"),
        ("sora a ball --seed ²", "--seed must be a whole number"),
        ("sora a ball --seed ٣", "--seed must be a whole number"),
        ("sora a ball --size ٣٣٣x٣٣٣", "--size must look like 640x360"),
        ("sora a ball --size 9999x20", "--size must be between"),
        ("sora a ball --size 1280x1280", "too large"),
        ("sora a ball --size big", "--size must look like 640x360"),
        ("sora a ball --aspect round", "--aspect must be landscape, portrait or square"),
        ("sora a ball --aspect square --size 64x64", "not both"),
        ("sora a \x00ball", "control characters"),
        ("sora a \x1b[31mball", "control characters"),
        ("remix", "usage: remix"),
        ("remix not-an-id make it blue", "is not a clip id"),
        ("remix k3f9x2ab", "the prompt is empty"),
        ("stitch k3f9x2ab", "stitch needs 2 to 6 clips"),
        ("cancel", "usage: cancel"),
        ("quota now", "takes no arguments"),
        ("dance", "unknown command `dance`"),
        ("", "send a command"),
    ],
)
def test_bad_input_gets_a_message_naming_the_problem(text, message):
    with pytest.raises(BadCommand, match=message.replace("[", r"\[")):
        parse(text)


def test_over_long_prompts_are_refused_with_the_limit():
    with pytest.raises(BadCommand, match="the limit is 1000"):
        parse("sora " + "a" * 1001)
    with pytest.raises(BadCommand, match="10005 characters long"):
        parse("sora " + "a" * 10_000)
    assert len(parse("sora " + "a" * 1000).prompt) == 1000


def test_seconds_boundaries_are_inclusive():
    limits = Limits()
    assert parse(f"sora x --seconds {limits.min_seconds:g}").seconds == limits.min_seconds
    assert parse(f"sora x --seconds {limits.max_seconds:g}").seconds == limits.max_seconds


def test_newlines_and_tabs_become_spaces():
    assert parse("sora a ball\n\tfalls").prompt == "a ball falls"


def test_cameo_handles_are_found_once_each():
    assert cameo_handles("@ana waves at @bob_2 and @ana, mail x@y.z") == ("ana", "bob_2")
    assert parse("sora @ana waves").cameos == ("ana",)
