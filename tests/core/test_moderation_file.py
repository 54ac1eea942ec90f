"""The operator's moderation.toml: its terms extend the defaults, per community too; edits apply without a restart;
a broken file is named at start-up and a broken edit keeps the lists the service had."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from core.jobs.moderation import ModerationFile, ModerationPolicy, Refusal
from core.service import Sorabox
from core.settings import SettingsError
from tests.support import actor, place, running_core

POLICY = """
[categories]
"public figures" = ["Some Mayor"]
spoilers = ["the butler did it"]

[communities."test:guild"]
extra = ["pineapple"]
"""


def write(path: Path, text: str, bump_ns: int = 0) -> None:
    path.write_text(text)
    if bump_ns:  # a second edit within the file system's timestamp resolution still counts as a change
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump_ns))


def test_the_file_adds_terms_to_categories_and_rules_for_one_community(tmp_path: Path) -> None:
    path = tmp_path / "moderation.toml"
    write(path, POLICY)
    policy = ModerationPolicy.load(path)
    assert policy.check("a statue of some mayor") == Refusal("public figures", "some mayor")
    assert policy.check("a red ball") is None and policy.check("nude") is not None  # the defaults stay
    assert policy.check("the butler did it, again") == Refusal("spoilers", "the butler did it")
    assert policy.check("pineapple pizza", "test:guild") == Refusal("community rules", "pineapple")
    assert policy.check("pineapple pizza", "test:elsewhere") is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[categories\nx = 1", "cannot be read as TOML"),
        ("categories = 3", "[categories] must be a table"),
        ('[categories]\nspoilers = "the butler"', "[categories] spoilers must be a list of words"),
        ('[communities]\n"test:guild" = 5', '[communities."test:guild"] must be a table'),
    ],
)
def test_a_broken_file_stops_the_start_with_its_name_and_the_problem(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "moderation.toml"
    write(path, text)
    with pytest.raises(SettingsError, match=r"moderation\.toml") as raised:
        ModerationFile(path)
    assert named in str(raised.value)


def test_an_edit_applies_to_the_next_request_and_a_broken_edit_keeps_the_old_lists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "moderation.toml"
    policy = ModerationFile(path)  # no file yet: the defaults
    assert policy.check("pineapple pizza", "test:guild") is None
    write(path, POLICY)
    assert policy.check("pineapple pizza", "test:guild") == Refusal("community rules", "pineapple")
    with caplog.at_level(logging.WARNING, logger="core.jobs.moderation"):
        write(path, "[communities\n", bump_ns=10_000_000)
        assert policy.check("pineapple pizza", "test:guild") == Refusal("community rules", "pineapple")
    assert "kept the previous lists" in caplog.text
    path.unlink()
    assert policy.check("pineapple pizza", "test:guild") is None


async def test_the_service_refuses_a_prompt_the_operator_added_while_it_ran(tmp_path: Path) -> None:
    path = tmp_path / "moderation.toml"

    def with_the_file(core: Sorabox) -> None:  # as `sorabox serve` wires it
        core.moderation = ModerationFile(path)

    async with running_core(tmp_path / "data", setup=with_the_file) as core:
        assert (await core.handle_text(actor(), place(), "sora pineapple on a plate --seconds 1")).ok
        write(path, POLICY)
        refused = await core.handle_text(actor(), place(), "sora pineapple on a plate --seconds 1")
        assert not refused.ok and "refused by the content policy (community rules)" in refused.text
