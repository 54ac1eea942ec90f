"""The layers only import downwards: adapters -> core -> model/storage (see docs/ARCHITECTURE.md).

Read with `ast` from the files themselves, so an import inside a function or under TYPE_CHECKING counts too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHAT_AND_WEB = ("discord", "telegram", "aiohttp")
# package -> the top-level modules it must never import, and why.
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "core": (("bots", *CHAT_AND_WEB), "the core is platform-neutral: adapters turn platform events into core calls"),
    "model": (("core", "bots"), "generation knows nothing of jobs, people or chats"),
    "storage": (("core", "bots"), "storage keeps tables and files; the core decides what they mean"),
    "bots/discordbot": (("storage",), "adapters talk to the core (docs/CORE_API.md), never to tables"),
    "bots/telegrambot": (("storage",), "adapters talk to the core (docs/CORE_API.md), never to tables"),
    "bots/web": (("storage",), "adapters talk to the core (docs/CORE_API.md), never to tables"),
    "bots/common": (("storage",), "adapters talk to the core (docs/CORE_API.md), never to tables"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a file imports, relative imports resolved against `module`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                found.add(f"{prefix}.{node.module}" if node.module else prefix)
            elif node.module:
                found.add(node.module)
    return found


def violations(source: str, module: str, forbidden: tuple[str, ...], is_package: bool = False) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source, module, is_package)
        if any(name == top or name.startswith(top + ".") for top in forbidden)
    )


def files_of(package: str) -> list[Path]:
    folder = ROOT / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


@pytest.mark.parametrize("package", sorted(RULES))
def test_a_layer_never_imports_what_sits_above_it(package: str) -> None:
    forbidden, why = RULES[package]
    broken = {}
    for path in files_of(package):
        found = violations(path.read_text(), module_name(path), forbidden, path.name == "__init__.py")
        if found:
            broken[str(path.relative_to(ROOT))] = found
    assert not broken, f"{package} must not import {', '.join(forbidden)} ({why}): {broken}"


def test_the_layers_that_must_exist_have_files() -> None:
    # A renamed folder would otherwise make its rule pass by checking nothing.
    for package in ("core", "model", "storage", "bots/discordbot", "bots/telegrambot", "bots/web"):
        assert files_of(package), f"{package} has no Python files: update RULES"


def test_the_check_sees_imports_in_every_form() -> None:
    source = """
import aiohttp.web
from discord import Client
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from storage.database import Database
def later():
    import telegram
from ..storage import media_store
from . import sibling
"""
    assert violations(source, "bots.web.console", ("aiohttp", "discord", "telegram")) == [
        "aiohttp.web",
        "discord",
        "telegram",
    ]
    assert violations(source, "bots.web.console", ("storage",)) == ["storage.database"]
    assert violations(source, "bots.web.console", ("bots",)) == ["bots.storage", "bots.web"]
    # Same-named modules elsewhere are not confused with the forbidden package.
    assert violations("import coreutils\nimport storage_tools", "model.x", ("core", "storage")) == []


SQL_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH)\s")


def sql_literals(source: str) -> list[int]:
    """Lines of string literals (f-strings too) that start an SQL statement."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            text = node.values[0].value
        if isinstance(text, str) and SQL_STATEMENT.match(text):
            lines.append(node.lineno)
    # An f-string's first part is also visited on its own: one line is one finding.
    return sorted(set(lines))


def test_sql_lives_in_storage_not_in_the_core() -> None:
    found = {
        str(path.relative_to(ROOT)): lines for path in files_of("core") if (lines := sql_literals(path.read_text()))
    }
    assert not found, f"SQL in core/ (move it to a storage/ module of its table family): {found}"


def test_the_sql_check_sees_plain_and_formatted_statements() -> None:
    source = 'a = "SELECT * FROM jobs"\nb = f"""\n  UPDATE clips SET x = {1}"""\nc = "select nothing: prose"\n'
    assert sql_literals(source) == [1, 2]
