"""One command registry: every command, built-in or an extension's, is a name with a parser and a type with a handler.

`Sorabox` registers the grammar of core/commands.py here at construction, the way an extension (cameos, linking)
registers its own; a later registration of the same name or type replaces the earlier one (cameos' `delete` also
removes the notices about the clip). `dispatch` looks the handler up by the command's type: no `isinstance` chain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.commands import USAGE, Limits, parse
from core.errors import BadCommand
from core.identity import Actor, Place
from core.records import Reply

Parser = Callable[[str, Limits], Any]
Handler = Callable[[Actor, Place, Any], Awaitable[Reply]]


class CommandRegistry:
    def __init__(self) -> None:
        self.parsers: dict[str, Parser] = {}
        # Starts with every built-in usage line: `help` lists a command once its name is registered.
        self.usage: dict[str, str] = dict(USAGE)
        self._handlers: dict[type, Handler] = {}

    def register(self, name: str, parser: Parser, command_type: type, handler: Handler, usage: str = "") -> None:
        self.parsers[name] = parser
        self._handlers[command_type] = handler
        if usage:
            self.usage[name] = usage

    def parse(self, text: str, limits: Limits) -> Any:
        """The parsed command; raises BadCommand with a user-facing message."""
        return parse(text, limits, self.parsers)

    async def dispatch(self, actor: Actor, place: Place, command: Any) -> Reply:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise BadCommand("unknown command")
        return await handler(actor, place, command)
