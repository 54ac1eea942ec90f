"""Every `SORABOX_*` variable the code reads is documented in docs/CONFIGURATION.md, and the table lists no other.

The code's variables are found the way a reader would find them: every full `SORABOX_...` name written in bots/,
core/, model/ and storage/, plus names built from a module's `PREFIX` constant (`PREFIX + "TOKEN"`,
`f"{PREFIX}STEPS"`) and the LTX-2 options, whose variables are their dataclass fields.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "CONFIGURATION.md"
PACKAGES = ("bots", "core", "model", "storage")

FULL_NAME = re.compile(r"\bSORABOX_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])")
PREFIX_CONSTANT = re.compile(r'^PREFIX\s*=\s*"(SORABOX_[A-Z0-9_]*)"', re.M)
PREFIX_USE = re.compile(r'PREFIX\s*\+\s*"([A-Z0-9_]+)"|\{PREFIX\}([A-Z0-9_]*[A-Z0-9])')
DOCUMENTED = re.compile(r"^\|\s*`(SORABOX_[A-Z0-9_]+)`", re.M)


def names_in(source: str) -> set[str]:
    found = set(FULL_NAME.findall(source))
    prefix = PREFIX_CONSTANT.search(source)
    if prefix:
        found.update(prefix.group(1) + (a or b) for a, b in PREFIX_USE.findall(source))
    # `PREFIX = "SORABOX_"` alone names no variable.
    found.discard("SORABOX")
    return found


def code_variables() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found |= names_in(path.read_text())
    from model.ltx2.options import PREFIX, LTX2Options

    found.update(PREFIX + f.name.upper() for f in fields(LTX2Options))
    return found


def documented_variables() -> list[str]:
    return DOCUMENTED.findall(TABLE.read_text())


def test_every_variable_the_code_reads_is_documented_once_and_the_table_lists_no_other() -> None:
    documented = documented_variables()
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    code = code_variables()
    assert sorted(code - set(documented)) == [], "add these to docs/CONFIGURATION.md"
    assert sorted(set(documented) - code) == [], (
        "the code no longer reads these: remove them from docs/CONFIGURATION.md"
    )


def test_the_scan_finds_names_in_every_form_it_claims() -> None:
    source = '''
PREFIX = "SORABOX_DISCORD_"
token = env.get(PREFIX + "TOKEN")
message = f"{PREFIX}GUILD_IDS must be numbers"
port = env.get("SORABOX_WEB_PORT")
"""Variables `SORABOX_LTX2_*` and the SORABOX_RAY_ prefix are families, not variables."""
'''
    assert names_in(source) == {"SORABOX_DISCORD_TOKEN", "SORABOX_DISCORD_GUILD_IDS", "SORABOX_WEB_PORT"}
    assert {"SORABOX_DATA_DIR", "SORABOX_PUBLIC_URL", "SORABOX_LTX2_STEPS"} <= code_variables()
