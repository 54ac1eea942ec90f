"""People named in Telegram messages: @username -> account, remembered as people are seen, and mentions turned into
what a command expects (`telegram:<id>` for `/cameo allow`, the person's cameo in a prompt)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from telegram import Message, MessageEntity, User

from core.service import Sorabox

if TYPE_CHECKING:  # the cameo service pulls in OpenCV and the voice detector; only its type is needed here
    from core.cameos.service import Cameos

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# How many @username -> account pairs to keep in memory (people seen recently); the core keeps them all.
USERNAME_MEMORY = 10_000
# Commands whose text is a prompt: a mention of a person there names that person's cameo.
PROMPT_COMMANDS = {"sora", "remix", "extend"}


class Mentions:
    """The usernames this adapter has seen, and mentions resolved through them."""

    def __init__(self, core: Sorabox, *, cameos: Cameos | None) -> None:
        self.core = core
        self.cameos = cameos
        # @username -> account id of people seen in updates: Telegram's @mentions carry only the name, and
        # the core names people by account (`cameo allow @bo` becomes `cameo allow telegram:<id>`). A cache of
        # what the core keeps (core.remember_handle), so names seen before a restart still resolve.
        self._usernames: OrderedDict[str, int] = OrderedDict()

    def _cache(self, handle: str, account: int) -> None:
        self._usernames[handle] = account
        self._usernames.move_to_end(handle)
        while len(self._usernames) > USERNAME_MEMORY:
            self._usernames.popitem(last=False)

    async def remember(self, user: User) -> None:
        """Keep the person's @username -> account: in memory for lookups, in the core so it outlives a restart.

        The memory is a cache in front of the core: only a pair that is new or changed is written, so an
        ordinary message costs no database write."""
        if not user.username or user.is_bot:
            return
        handle = user.username.lower()
        known = self._usernames.get(handle)
        self._cache(handle, user.id)
        if known == user.id:
            return
        # A renamed account loses its old name in the core (core/handles.py); the cache follows. The scan
        # runs only for a new or changed pair, i.e. rarely.
        for stale in [name for name, account in self._usernames.items() if account == user.id and name != handle]:
            del self._usernames[stale]
        try:
            await self.core.remember_handle(PLATFORM, handle, str(user.id))
        except Exception:
            log.exception("could not store @%s; trying again on their next message", handle)
            # Out of the cache, so their next message is a new pair again and is written.
            if self._usernames.get(handle) == user.id:
                del self._usernames[handle]

    async def _account_for(self, handle: str) -> int | None:
        """The account last seen with @handle: from memory, else from the core (people seen before a restart)."""
        handle = handle.lstrip("@").lower()
        account = self._usernames.get(handle)
        if account is None:
            stored = await self.core.user_for_handle(PLATFORM, handle)
            if stored is None or not stored.lstrip("-").isdigit():
                return None
            account = int(stored)
            self._cache(handle, account)
        return account

    async def resolve(self, message: Message, command: str) -> str:
        """The message's text with mentions of people turned into what `command` expects of them."""
        if command == "cameo":
            return await self.as_accounts(message)
        if command in PROMPT_COMMANDS:
            return await self.as_cameos(message)
        return message.text or ""

    async def _mentioned(self, message: Message) -> list[tuple[MessageEntity, int]]:
        """The people a message mentions, with their accounts: a text mention carries the account, an @username we
        have seen maps to one. An @username never seen is left out (it may be a cameo's @handle)."""
        found = []
        for entity, shown in message.parse_entities([MessageEntity.TEXT_MENTION, MessageEntity.MENTION]).items():
            if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
                account: int | None = entity.user.id
            else:
                account = await self._account_for(shown)
            if account is not None:
                found.append((entity, account))
        return found

    @staticmethod
    def _splice(text: str, replacements: list[tuple[MessageEntity, str]]) -> str:
        """`text` with each entity's span replaced. Offsets count UTF-16 units, so the splice is done in them; by
        position, not by search, so `@bo` never replaces the start of `@bob`."""
        units = text.encode("utf-16-le")
        for entity, new in sorted(replacements, key=lambda pair: pair[0].offset, reverse=True):
            start, end = 2 * entity.offset, 2 * (entity.offset + entity.length)
            units = units[:start] + new.encode("utf-16-le") + units[end:]
        return units.decode("utf-16-le")

    async def as_accounts(self, message: Message) -> str:
        """`/cameo allow @bo`: people as `telegram:<id>`, how the core names accounts. An @username never seen stays
        as typed, and the core answers that it does not know them."""
        found = await self._mentioned(message)
        return self._splice(message.text or "", [(entity, f"telegram:{account}") for entity, account in found])

    async def as_cameos(self, message: Message) -> str:
        """`/sora @bo waves`: a mentioned person who owns exactly one cameo means that cameo, whatever its handle (a
        text mention, of someone without a username, has no @handle at all). Everything else stays as typed, so a
        cameo's own @handle still works, and a person with several cameos is named by the one they mean."""
        if self.cameos is None:
            return message.text or ""
        found = []
        for entity, account in await self._mentioned(message):
            handle = await self.cameos.sole_handle_of(PLATFORM, str(account))
            if handle is not None:
                found.append((entity, f"@{handle}"))
        return self._splice(message.text or "", found)
