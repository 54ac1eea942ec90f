"""Who asks and where: the platform-neutral description every adapter builds from its events."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Actor:
    """A person as a platform describes them.

    `is_admin` means the platform says they administer the place they are speaking in (a Telegram
    chat admin, a Discord member with Manage Server); service-wide admins are users.is_admin.
    """

    platform: str  # "telegram" | "discord" | "web" | "cli"
    user_id: str  # the platform's own id for the account, as text
    display_name: str
    roles: tuple[str, ...] = ()
    is_admin: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Actor:
        data = json.loads(text)
        data["roles"] = tuple(data.get("roles", ()))
        return cls(**data)


@dataclass(frozen=True)
class Place:
    """Where a request was made and where its results go.

    guild_id: a Discord server or a Telegram group/supergroup id; None in private chats.
    channel_id: the Discord channel, the Telegram chat id, the web console thread.
    thread_id: a Discord thread or a Telegram forum topic (message_thread_id).
    reply_to: the platform message the result should answer.
    request_key: names the platform request (a message, a button press) this place came with; admitting the same
        request twice finds the job made the first time (a replayed or re-delivered update). Not part of equality:
        it says which request, not where.
    """

    platform: str
    channel_id: str
    guild_id: str | None = None
    thread_id: str | None = None
    reply_to: str | None = None
    is_private: bool = False
    request_key: str | None = field(default=None, compare=False)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Place:
        return cls(**json.loads(text))

    def with_thread(self, thread_id: str | None) -> Place:
        return replace(self, thread_id=thread_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def same_community(a: Place, b: Place) -> bool:
    """Whether two places are in one community: the same guild/group, or the same chat when neither has one.
    A platform admin's rights (cancel, delete) reach this far."""
    if a.platform != b.platform:
        return False
    if a.guild_id or b.guild_id:
        return a.guild_id == b.guild_id
    return a.channel_id == b.channel_id
