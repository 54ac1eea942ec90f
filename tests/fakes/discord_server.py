"""A loopback fake Discord (gateway + REST) that the real discord.py client talks to in tests.

It models one small world (a guild with a text channel, a bot, a few people, DMs, threads) and enforces the
platform rules an adapter can get wrong (see ../shared/PLATFORMS.md): the first response to an interaction
within 3 s (404/10062 after), one acknowledgement only (400/40060), interaction tokens that expire after
15 minutes (401/50027, on a clock tests can move forward), content <= 2000 characters, custom_id 1-100,
5 buttons a row and 5 rows, the per-file attachment limit (413/40005), per-route buckets with
`X-RateLimit-*` headers and 429s that carry a `Via` header, and Cloudflare's ban after too many invalid
requests. Tests act as Discord's users through `invoke_command`, `invoke_message_command`, `click` and
`submit_modal`, which refuse what a real Discord client would not let a person send.

Fixtures for a conftest: `no_real_network` (autouse where imported) and `fake_discord`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import itertools
import json
import logging
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web

# Numbers from Discord's API documentation; tests hit them from both sides.
DISCORD_EPOCH_MS = 1_420_070_400_000
ACK_DEADLINE_S = 3.0
TOKEN_LIFETIME_S = 15 * 60.0
DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024
REQUEST_SIZE_LIMIT = 25 * 1024 * 1024
NONCE_MAX_LENGTH = 25
# How long Discord remembers an enforced nonce ("the past few minutes"; the exact window is not documented).
NONCE_WINDOW_SECONDS = 300.0
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_CUSTOM_ID = 100
MAX_BUTTONS_PER_ROW = 5
MAX_ROWS = 5
MAX_STRING_OPTION = 6000
MAX_OPTIONS = 25
MAX_CHOICES = 25
THREAD_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
INVALID_REQUESTS_PER_10_MIN = 10_000

# Gateway intents (bits) and the privileged ones an application must be granted.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1

# Permission bits used by the world.
PERM_ADMINISTRATOR = 1 << 3
PERM_MANAGE_GUILD = 1 << 5
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_HISTORY = 1 << 16
PERM_USE_APP_COMMANDS = 1 << 31
PERM_MANAGE_THREADS = 1 << 34
PERM_CREATE_PUBLIC_THREADS = 1 << 35
PERM_SEND_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (
    PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_HISTORY
    | PERM_USE_APP_COMMANDS
    | PERM_CREATE_PUBLIC_THREADS
    | PERM_SEND_IN_THREADS
)
MANAGER_PERMISSIONS = MEMBER_PERMISSIONS | PERM_MANAGE_GUILD | PERM_MANAGE_MESSAGES | PERM_MANAGE_THREADS
BOT_PERMISSIONS = MEMBER_PERMISSIONS | PERM_MANAGE_MESSAGES | PERM_MANAGE_THREADS

# Channel, interaction, response and message-flag numbers.
CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
RESPONSE_MESSAGE = 4
RESPONSE_DEFERRED_MESSAGE = 5
RESPONSE_DEFERRED_UPDATE = 6
RESPONSE_UPDATE_MESSAGE = 7
RESPONSE_MODAL = 9
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_CONTEXT_MENU_COMMAND = 23

_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# Errors and small values


class DiscordError(Exception):
    """An error response exactly as Discord shapes it: HTTP status, JSON `code`, `message`, optional `errors`."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _form_error(path: str, code: str, message: str) -> DiscordError:
    """400/50035 'Invalid Form Body' with Discord's nested error tree for one field path like 'components.0'."""
    tree: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        tree = {part: tree}
    return DiscordError(400, 50035, "Invalid Form Body", tree)


class UserActionRefused(AssertionError):
    """A test tried to make a person do something a real Discord client would not let them do."""


class ClientCrashed(AssertionError):
    """A watched client task ended with an exception (a gateway payload it could not parse, a bug)."""


class FakeClock:
    """Real monotonic and wall time plus an offset that tests move forward (token expiry, ack deadline)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def wall(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name or self.username,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0

    def payload(self, position: int = 1) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": False,
            "position": position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    permissions: int
    joined_at: float
    roles: list[int] = field(default_factory=list)

    def payload(self, *, with_user: bool = True, with_permissions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "joined_at": _iso(self.joined_at),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data


@dataclass
class FakeChannel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    recipients: list[FakeUser] = field(default_factory=list)
    auto_archive_duration: int = 1440
    created_at: float = 0.0
    archived: bool = False
    locked: bool = False
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    @property
    def is_dm(self) -> bool:
        return self.type == CHANNEL_DM

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
        }
        if self.is_dm:
            data["recipients"] = [u.payload() for u in self.recipients]
            data["flags"] = 0
            return data
        data.update(
            guild_id=str(self.guild_id),
            name=self.name,
            parent_id=str(self.parent_id) if self.parent_id else None,
            rate_limit_per_user=0,
            flags=0,
        )
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": _iso(self.created_at),
                    "locked": self.locked,
                    "create_timestamp": _iso(self.created_at),
                },
            )
        else:
            data.update(position=0, permission_overwrites=[], topic=None, nsfw=False)
        return data


@dataclass
class FakeAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    components: list[dict[str, Any]] = field(default_factory=list)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = MESSAGE_DEFAULT
    created_at: float = 0.0
    edited_at: float | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    reference_id: int | None = None
    # The replied-to message's channel when it is not this one: a reply in a thread to the thread's starter
    # message (which lives in the parent channel) references the parent channel.
    reference_channel_id: int | None = None
    mentions: list[FakeUser] = field(default_factory=list)  # people the message pings (a reply pings by default)
    thread_id: int | None = None
    deleted: bool = False
    visible_to: int | None = None  # ephemeral messages: the one user who can see them
    history: list[str] = field(default_factory=list)  # earlier contents, oldest first

    @property
    def is_ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in _walk_components(self.components) if "custom_id" in c]

    def button(self, custom_id: str) -> dict[str, Any] | None:
        for c in _walk_components(self.components):
            if c.get("custom_id") == custom_id:
                return c
        return None

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in _walk_components(self.components) if c.get("type") == 2]

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": _iso(self.created_at),
            "edited_timestamp": _iso(self.edited_at) if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [u.payload() for u in self.mentions],
            "mention_roles": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
            "components": self.components,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": str(self.reference_id),
                "channel_id": str(self.reference_channel_id or self.channel_id),
            }
            if self.guild_id is not None:
                data["message_reference"]["guild_id"] = str(self.guild_id)
        return data


def _walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in components:
        yield c
        if "components" in c:
            yield from _walk_components(c["components"])
        if "component" in c:
            yield from _walk_components([c["component"]])
        if "accessory" in c:
            yield from _walk_components([c["accessory"]])


@dataclass
class FakeCommand:
    """An application command as synced by the bot (PUT bulk overwrite)."""

    id: int
    name: str
    type: int
    raw: dict[str, Any]
    guild_id: int | None

    def payload(self, application_id: int) -> dict[str, Any]:
        data = dict(self.raw)
        data.update(
            id=str(self.id),
            application_id=str(application_id),
            version=str(self.id),
            type=self.type,
            description=self.raw.get("description", ""),
            default_member_permissions=self.raw.get("default_member_permissions"),
            nsfw=self.raw.get("nsfw", False),
        )
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data

    def option(self, name: str, path: tuple[str, ...] = ()) -> dict[str, Any] | None:
        options = self.raw.get("options", [])
        for part in path:
            options = next((o.get("options", []) for o in options if o["name"] == part), [])
        return next((o for o in options if o["name"] == name), None)


@dataclass
class FakeInteraction:
    """One interaction Discord created for a person, and everything the bot did with it."""

    id: int
    token: str
    type: int
    user: FakeUser
    channel: FakeChannel
    guild_id: int | None
    data: dict[str, Any]
    created_at: float  # FakeClock.monotonic()
    attachment_size_limit: int
    source_message_id: int | None = None  # the message a component sits on
    acknowledged_at: float | None = None
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    rejected: list[DiscordError] = field(default_factory=list)  # responses Discord refused

    @property
    def ack_latency(self) -> float | None:
        return None if self.acknowledged_at is None else self.acknowledged_at - self.created_at

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.response_data if self.response_type == RESPONSE_MODAL else None


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int
    at: float
    query: dict[str, str]
    payload: Any = None
    file_sizes: list[int] = field(default_factory=list)


@dataclass
class ForcedRateLimit:
    """A 429 a test asked for: the next `times` requests whose method and path match get it."""

    method: str
    path: re.Pattern[str]
    retry_after: float
    is_global: bool
    via: bool
    times: int


@dataclass
class LostResponse:
    """A failure after the fact a test asked for: the next `times` matching requests are carried out, then the
    connection is cut before the answer (what a timeout or a dropped link looks like from the client), or, with
    `status`, answered with that error (a 5xx from a proxy after the work was done)."""

    method: str
    path: re.Pattern[str]
    times: int
    status: int | None = None


@dataclass
class BucketRule:
    """A per-route rate limit bucket: `limit` requests per `window_s`, keyed by the route's major parameter."""

    name: str
    method: str
    path: re.Pattern[str]
    limit: int
    window_s: float


@dataclass
class _Bucket:
    reset_at: float
    used: int = 0


def default_bucket_rules() -> list[BucketRule]:
    """Discord's well-known limits: 5 messages per 5 s per channel; webhooks (interaction tokens) 5 per 2 s."""
    return [
        BucketRule("channel-messages", "POST", re.compile(r"^/channels/(\d+)/messages$"), 5, 5.0),
        BucketRule("webhook", "*", re.compile(r"^/webhooks/\d+/([^/]+)"), 5, 2.0),
        BucketRule("message-delete", "DELETE", re.compile(r"^/channels/(\d+)/messages/\d+$"), 5, 1.0),
        BucketRule("threads", "POST", re.compile(r"^/channels/(\d+)/(?:messages/\d+/)?threads$"), 10, 10.0),
    ]


@dataclass
class GatewaySession:
    """An identified gateway session; it outlives its socket so the client can RESUME."""

    id: str
    token: str
    intents: int
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    resumes: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


# --------------------------------------------------------------------------------------------------------------
# The fake platform


class FakeDiscord:
    """The fake Discord: state, the aiohttp app (REST + gateway + attachment CDN) and the people's actions."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        clock: FakeClock | None = None,
        heartbeat_interval_ms: int = 41_250,
        attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT,
        bucket_rules: list[BucketRule] | None = None,
        granted_intents: int = 0,
        invalid_request_limit: int = INVALID_REQUESTS_PER_10_MIN,
    ) -> None:
        self.token = token
        self.clock = clock or FakeClock()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.attachment_limit = attachment_limit
        self.bucket_rules = default_bucket_rules() if bucket_rules is None else bucket_rules
        self.granted_intents = granted_intents  # privileged intents the application was granted in the portal
        self.invalid_request_limit = invalid_request_limit

        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._watched: list[asyncio.Task[Any]] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

        now = self.clock.wall()
        self.application_id = self.snowflake()
        self.bot = FakeUser(self.application_id, "sorabox", bot=True)
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.guild_id = self.snowflake()
        self.guild_name = "Test Guild"
        self.members: dict[int, FakeMember] = {self.bot.id: FakeMember(self.bot, BOT_PERMISSIONS, now)}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.commands: dict[int, FakeCommand] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.attachments: dict[int, FakeAttachment] = {}
        self.downloads: list[int] = []  # ids of attachments fetched from the CDN, in order
        self.requests: list[RequestRecord] = []
        self.unhandled: list[str] = []
        self.server_errors: list[str] = []
        self.roles: dict[int, FakeRole] = {}
        # (command name, user id): a server's Integrations setting that lets this member use a command despite its
        # default permissions (Discord's application command permission overrides).
        self.command_grants: set[tuple[str, int]] = set()
        # While True, Discord is unreachable: REST connections are dropped and the gateway answers 503.
        self.outage = False
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies = 0
        self.invalid_requests: list[float] = []
        self.forced_rate_limits: list[ForcedRateLimit] = []
        self.lost_responses: list[LostResponse] = []
        # (channel, author, nonce) -> (message id, when): messages sent with `enforce_nonce`, for de-duplication.
        self.nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._bucket_hashes = {rule.name: secrets.token_hex(8) for rule in self.bucket_rules}

        self.general = self._add_channel(CHANNEL_GUILD_TEXT, "general", guild_id=self.guild_id)
        self.owner = self.add_member("alice", manager=True)

    # ---------------------------------------------------------------------------------------------------- ids

    def snowflake(self) -> int:
        """A real-looking snowflake (timestamp << 22 | counter), so discord.py's created_at makes sense."""
        ms = int(self.clock.wall() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    # ---------------------------------------------------------------------------------------------------- world

    def _add_channel(self, type_: int, name: str, **kw: Any) -> FakeChannel:
        channel = FakeChannel(self.snowflake(), type_, name, created_at=self.clock.wall(), **kw)
        self.channels[channel.id] = channel
        return channel

    def add_user(self, username: str) -> FakeUser:
        """Someone on Discord who is not (yet) in the guild."""
        user = FakeUser(self.snowflake(), username)
        self.users[user.id] = user
        return user

    def add_member(self, username: str, *, manager: bool = False) -> FakeUser:
        """Someone in the guild; managers have Manage Server and Manage Messages."""
        user = self.add_user(username)
        perms = MANAGER_PERMISSIONS if manager else MEMBER_PERMISSIONS
        self.members[user.id] = FakeMember(user, perms, self.clock.wall())
        return user

    async def add_role(self, name: str, permissions: int = 0) -> FakeRole:
        """A new role in the guild, announced with GUILD_ROLE_CREATE like Discord does."""
        role = FakeRole(self.snowflake(), name, permissions)
        self.roles[role.id] = role
        payload = {"guild_id": str(self.guild_id), "role": role.payload(len(self.roles))}
        await self.dispatch("GUILD_ROLE_CREATE", payload, intent=INTENT_GUILDS)
        return role

    def give_role(self, user: FakeUser, role: FakeRole) -> None:
        member = self.members[user.id]
        member.roles.append(role.id)
        member.permissions |= role.permissions

    def grant_command(self, name: str, user: FakeUser) -> None:
        """The server lets `user` use /name although they lack its default permissions (Server Settings ›
        Integrations): Discord then shows and sends it, and only the bot can still refuse."""
        self.command_grants.add((name, user.id))

    def add_text_channel(self, name: str) -> FakeChannel:
        return self._add_channel(CHANNEL_GUILD_TEXT, name, guild_id=self.guild_id)

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between the bot and `user` (created on first use, like Discord)."""
        for channel in self.channels.values():
            if channel.is_dm and channel.recipients and channel.recipients[0].id == user.id:
                return channel
        return self._add_channel(CHANNEL_DM, "", recipients=[user])

    def upload(self, filename: str, data: bytes, content_type: str = "video/mp4") -> FakeAttachment:
        """A file a person picks for an attachment option: Discord's client uploads it to the CDN before it sends
        the command, and the interaction names it by id in `resolved.attachments`."""
        attachment_id = self.snowflake()
        attachment = FakeAttachment(
            attachment_id,
            filename,
            data,
            content_type,
            f"{self.base_url}/cdn/ephemeral-attachments/{self.application_id}/{attachment_id}/{filename}",
        )
        self.attachments[attachment_id] = attachment
        return attachment

    def channel_messages(self, channel: FakeChannel | int, *, include_ephemeral: bool = True) -> list[FakeMessage]:
        """Messages still in `channel`, oldest first."""
        cid = channel if isinstance(channel, int) else channel.id
        return [
            m
            for m in self.messages.values()
            if m.channel_id == cid and not m.deleted and (include_ephemeral or not m.is_ephemeral)
        ]

    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]

    def thread_of(self, message: FakeMessage) -> FakeChannel | None:
        return self.channels.get(message.thread_id) if message.thread_id else None

    def guild_commands(self) -> dict[str, FakeCommand]:
        return {c.name: c for c in self.commands.values() if c.guild_id == self.guild_id}

    def global_commands(self) -> dict[str, FakeCommand]:
        return {c.name: c for c in self.commands.values() if c.guild_id is None}

    def guild_payload(self) -> dict[str, Any]:
        """The GUILD_CREATE payload for the one guild."""
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "color": 0,
            "hoist": False,
            "position": 0,
            "permissions": str(MEMBER_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        channels = [c.payload() for c in self.channels.values() if c.guild_id == self.guild_id and not c.is_thread]
        threads = [c.payload() for c in self.threads() if not c.archived]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "owner_id": str(self.owner.id),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [everyone, *(role.payload(i + 1) for i, role in enumerate(self.roles.values()))],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_flags": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": _iso(self.members[self.bot.id].joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [self.members[self.bot.id].payload()],
            "channels": channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }

    # ---------------------------------------------------------------------------------------------------- server

    async def start(self) -> None:
        app = web.Application(client_max_size=REQUEST_SIZE_LIMIT * 2)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{cid}/{aid}/{filename}", self._cdn)
        app.router.add_get("/cdn/ephemeral-attachments/{cid}/{aid}/{filename}", self._cdn)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """What `discord.http.Route.BASE` must be set to."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` must be set to."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    # ---------------------------------------------------------------------------------------------------- waiting

    def watch(self, task: asyncio.Task[Any]) -> None:
        """Fail every wait (and the fixture's teardown) if this client task ends with an exception."""
        self._watched.append(task)
        task.add_done_callback(lambda _t: asyncio.ensure_future(self._notify()))

    def raise_if_crashed(self) -> None:
        if self.server_errors:
            errors, self.server_errors = self.server_errors, []
            raise AssertionError(f"the fake Discord itself failed: {errors}")
        for task in self._watched:
            if task.done() and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                # Report each crash once: a test that expects it catches it, and teardown must not re-raise it.
                self._watched.remove(task)
                raise ClientCrashed(f"client task {task.get_name()} crashed: {exc!r}") from exc

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], *, within: float = 10.0, what: str = "") -> Any:
        """Wait until `predicate()` is truthy (re-checked on every change); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with self._changed:
            while True:
                self.raise_if_crashed()
                value = predicate()
                if value:
                    return value
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {within}s waiting for {what or predicate}")
                # Wake at least every 0.25 s: some conditions (a clock, a task's state) change without a notify.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    async def wait_ready(self, *, within: float = 10.0) -> GatewaySession:
        """Wait until a client identified and got READY plus the guild."""
        return await self.wait_until(
            lambda: next((s for s in self.sessions.values() if s.ready.is_set() and s.ws is not None), None),
            within=within,
            what="a ready gateway session",
        )

    # ---------------------------------------------------------------------------------------------------- gateway

    @property
    def current_session(self) -> GatewaySession | None:
        return next(reversed(self.sessions.values()), None)

    async def _send(self, session: GatewaySession, payload: dict[str, Any]) -> None:
        if session.ws is not None and not session.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> None:
        """Send a DISPATCH to every session that subscribed to `intent` (kept for RESUME if disconnected)."""
        for session in list(self.sessions.values()):
            if intent and not session.intents & intent:
                continue
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.backlog.append(payload)
            await self._send(session, payload)
        await self._notify()

    async def send_raw_dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH to the current session as is: for proving that a malformed payload is caught."""
        session = self.current_session
        assert session is not None, "no gateway session"
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.backlog.append(payload)
        await self._send(session, payload)

    async def drop_gateway(self, code: int = 1001) -> None:
        """Close the current socket the way an outage does; the session stays resumable."""
        session = self.current_session
        if session is not None and session.ws is not None:
            ws, session.ws = session.ws, None
            await ws.close(code=code)
        await self._notify()

    async def request_reconnect(self) -> None:
        """Op 7 RECONNECT: Discord asks the client to reconnect and resume."""
        session = self.current_session
        if session is not None:
            await self._send(session, {"op": 7, "d": None, "s": None, "t": None})

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.outage:
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("v") != "10":
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Decode error")
            return ws
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
        )
        session: GatewaySession | None = None
        interval_s = self.heartbeat_interval_ms / 1000
        try:
            while True:
                # Discord closes a connection that stops heartbeating (it allows some slack).
                msg = await ws.receive(timeout=interval_s * 1.5 + 1.0)
                if msg.type != WSMsgType.TEXT:
                    break
                try:
                    frame = json.loads(msg.data)
                    op = frame["op"]
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Error while decoding payload")
                    break
                if op == 1:
                    if session is not None:
                        session.heartbeats += 1
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated")
                        break
                    session = await self._identify(ws, frame.get("d") or {})
                    if session is None:
                        break
                elif op == 6:
                    session = await self._resume(ws, frame.get("d") or {})
                    if session is None:
                        break
                elif session is None:
                    await ws.close(code=4003, message=b"Not authenticated")
                    break
                elif op in (3, 4, 8):
                    continue  # presence, voice state, member chunk requests: accepted, not modelled
                else:
                    await ws.close(code=4001, message=b"Unknown opcode")
                    break
        except TimeoutError:
            await ws.close(code=4009, message=b"Session timed out")
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
            await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> GatewaySession | None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed")
            return None
        intents = d.get("intents")
        if not isinstance(intents, int) or intents & ~ALL_INTENTS:
            await ws.close(code=4013, message=b"Invalid intent(s)")
            return None
        if intents & PRIVILEGED_INTENTS & ~self.granted_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s)")
            return None
        self.identifies += 1
        # A new IDENTIFY replaces earlier sessions (one shard): they can no longer be resumed.
        self.sessions.clear()
        session = GatewaySession(id=secrets.token_hex(16), token=self.token, intents=intents, ws=ws)
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "session_type": "normal",
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        await self._dispatch_to(session, "READY", ready)
        if intents & INTENT_GUILDS:
            await self._dispatch_to(session, "GUILD_CREATE", self.guild_payload())
        session.ready.set()
        await self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or d.get("token") != self.token:
            # Op 9 with d=false: the session cannot be resumed; the client must IDENTIFY again.
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        since = int(d.get("seq") or 0)
        session.ws = ws
        session.resumes += 1
        for payload in session.backlog:
            if payload["s"] > since:
                await self._send(session, payload)
        await self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})
        await self._notify()
        return session

    async def _dispatch_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.backlog.append(payload)
        await self._send(session, payload)

    # ---------------------------------------------------------------------------------------------------- people

    def _member_permissions(self, user: FakeUser) -> int:
        member = self.members.get(user.id)
        return member.permissions if member else 0

    def _interaction_payload(self, interaction: FakeInteraction) -> dict[str, Any]:
        channel = interaction.channel
        data: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": interaction.type,
            "token": interaction.token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": interaction.attachment_size_limit,
            "app_permissions": str(BOT_PERMISSIONS),
        }
        if interaction.data:
            data["data"] = interaction.data
        if interaction.guild_id is not None:
            member = self.members[interaction.user.id]
            data.update(
                guild_id=str(interaction.guild_id),
                guild_locale="en-US",
                guild={"id": str(interaction.guild_id), "locale": "en-US", "features": []},
                member=member.payload(with_permissions=True),
                context=0,
                authorizing_integration_owners={"0": str(interaction.guild_id)},
            )
        else:
            data.update(user=interaction.user.payload(), context=1, authorizing_integration_owners={"0": "0"})
        if interaction.source_message_id is not None:
            data["message"] = self.messages[interaction.source_message_id].payload()
        return data

    async def _create_interaction(
        self,
        type_: int,
        user: FakeUser,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        source_message_id: int | None = None,
    ) -> FakeInteraction:
        if channel.is_dm:
            if not channel.recipients or channel.recipients[0].id != user.id:
                raise UserActionRefused(f"{user.username} is not in DM channel {channel.id}")
            guild_id = None
        else:
            if user.id not in self.members:
                raise UserActionRefused(f"{user.username} is not a member of the guild")
            guild_id = self.guild_id
        if self.current_session is None:
            raise UserActionRefused(
                "no bot is connected to the gateway: Discord would say 'application did not respond'"
            )
        interaction = FakeInteraction(
            id=self.snowflake(),
            token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            type=type_,
            user=user,
            channel=channel,
            guild_id=guild_id,
            data=data,
            created_at=self.clock.monotonic(),
            attachment_size_limit=self.attachment_limit,
            source_message_id=source_message_id,
        )
        self.interactions[interaction.id] = interaction
        payload = self._interaction_payload(interaction)
        session = self.current_session
        session.seq += 1
        frame = {"op": 0, "t": "INTERACTION_CREATE", "s": session.seq, "d": payload}
        session.backlog.append(frame)
        await self._send(session, frame)
        await self._notify()
        return interaction

    def _find_command(self, name: str, type_: int, *, in_dm: bool) -> FakeCommand:
        candidates = [c for c in self.commands.values() if c.name == name and c.type == type_]
        if in_dm:
            candidates = [c for c in candidates if c.guild_id is None]
        if not candidates:
            raise UserActionRefused(f"no {'DM-visible ' if in_dm else ''}command {name!r} (type {type_}) was synced")
        # A guild command shadows a global one of the same name in Discord's picker.
        candidates.sort(key=lambda c: c.guild_id is None)
        return candidates[0]

    def _check_can_use(self, command: FakeCommand, user: FakeUser, channel: FakeChannel) -> None:
        contexts = command.raw.get("contexts")
        context = 1 if channel.is_dm else 0
        if contexts is not None and context not in contexts:
            raise UserActionRefused(f"/{command.name} is not offered in this context ({context})")
        if channel.is_dm and command.raw.get("dm_permission") is False:
            raise UserActionRefused(f"/{command.name} is not offered in DMs")
        needed = command.raw.get("default_member_permissions")
        if (command.name, user.id) in self.command_grants:
            return
        if needed is not None and not channel.is_dm:
            needed_bits = int(needed)
            if needed_bits == 0 or self._member_permissions(user) & needed_bits != needed_bits:
                raise UserActionRefused(f"{user.username} cannot see /{command.name} (needs permissions {needed})")

    def _option_value(self, option: dict[str, Any], value: Any, resolved: dict[str, Any]) -> Any:
        """Check one option value the way Discord's client does, and encode it as the interaction carries it."""
        name, otype = option["name"], option["type"]
        choices = option.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise UserActionRefused(f"option {name!r}: {value!r} is not one of the offered choices")
        if otype == 3:
            if not isinstance(value, str) or not value:
                raise UserActionRefused(f"option {name!r} needs a non-empty string")
            if len(value) > min(option.get("max_length", MAX_STRING_OPTION), MAX_STRING_OPTION):
                raise UserActionRefused(f"option {name!r} is longer than the client allows")
            if len(value) < option.get("min_length", 0):
                raise UserActionRefused(f"option {name!r} is shorter than min_length")
            return value
        if otype in (4, 10):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (otype == 4 and not isinstance(value, int))
            ):
                raise UserActionRefused(f"option {name!r} needs a number")
            if "min_value" in option and value < option["min_value"]:
                raise UserActionRefused(f"option {name!r} is below min_value")
            if "max_value" in option and value > option["max_value"]:
                raise UserActionRefused(f"option {name!r} is above max_value")
            if otype == 4 and abs(value) > 2**53:
                raise UserActionRefused(f"option {name!r} is outside Discord's integer range")
            return value
        if otype == 5:
            if not isinstance(value, bool):
                raise UserActionRefused(f"option {name!r} needs a boolean")
            return value
        if otype in (6, 9):
            if not isinstance(value, FakeUser):
                raise UserActionRefused(f"option {name!r} needs a user")
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if value.id in self.members:
                member = self.members[value.id].payload(with_user=False, with_permissions=True)
                resolved.setdefault("members", {})[str(value.id)] = member
            return str(value.id)
        if otype == 8:
            if not isinstance(value, FakeRole):
                raise UserActionRefused(f"option {name!r} needs a role")
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        if otype == 7:
            if not isinstance(value, FakeChannel):
                raise UserActionRefused(f"option {name!r} needs a channel")
            resolved.setdefault("channels", {})[str(value.id)] = value.payload() | {"permissions": str(BOT_PERMISSIONS)}
            return str(value.id)
        if otype == 11:
            if not isinstance(value, FakeAttachment) or value.id not in self.attachments:
                raise UserActionRefused(f"option {name!r} needs a file uploaded with FakeDiscord.upload")
            if value.size > self.attachment_limit:
                # The client refuses to upload a file above the person's upload limit; the bot never hears of it.
                raise UserActionRefused(f"option {name!r}: {value.size} bytes is above the upload limit")
            resolved.setdefault("attachments", {})[str(value.id)] = value.payload() | {"ephemeral": True}
            return str(value.id)
        raise UserActionRefused(f"option {name!r} has a type ({otype}) this fake does not model")

    async def invoke_command(
        self,
        name: str,
        *,
        user: FakeUser,
        channel: FakeChannel | None = None,
        subcommand: str | None = None,
        **options: Any,
    ) -> FakeInteraction:
        """`user` runs `/name [subcommand] option:value ...` in `channel` (default #general)."""
        channel = channel or self.general
        command = self._find_command(name, 1, in_dm=channel.is_dm)
        self._check_can_use(command, user, channel)
        declared = command.raw.get("options", [])
        path: tuple[str, ...] = ()
        if subcommand is not None:
            sub = next((o for o in declared if o["name"] == subcommand and o["type"] == 1), None)
            if sub is None:
                raise UserActionRefused(f"/{name} has no subcommand {subcommand!r}")
            declared, path = sub.get("options", []), (subcommand,)
        elif any(o["type"] in (1, 2) for o in declared):
            raise UserActionRefused(f"/{name} needs a subcommand")
        resolved: dict[str, Any] = {}
        encoded = []
        for option in declared:
            if option["name"] in options and options[option["name"]] is not None:
                value = self._option_value(option, options[option["name"]], resolved)
                encoded.append({"name": option["name"], "type": option["type"], "value": value})
            elif option.get("required"):
                raise UserActionRefused(f"/{name}: option {option['name']!r} is required")
        unknown = set(options) - {o["name"] for o in declared}
        if unknown:
            raise UserActionRefused(f"/{name} has no options {sorted(unknown)}")
        if path:
            encoded = [{"name": path[0], "type": 1, "options": encoded}]
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": 1, "options": encoded}
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return await self._create_interaction(INTERACTION_APPLICATION_COMMAND, user, channel, data)

    async def invoke_message_command(self, name: str, message: FakeMessage, *, user: FakeUser) -> FakeInteraction:
        """`user` picks Apps > `name` on `message` (a message context menu command)."""
        channel = self.channels[message.channel_id]
        self._check_visible(message, user)
        command = self._find_command(name, 3, in_dm=channel.is_dm)
        self._check_can_use(command, user, channel)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): message.payload()}},
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return await self._create_interaction(INTERACTION_APPLICATION_COMMAND, user, channel, data)

    def _check_visible(self, message: FakeMessage, user: FakeUser) -> None:
        if message.deleted:
            raise UserActionRefused(f"message {message.id} was deleted")
        if message.visible_to is not None and message.visible_to != user.id:
            raise UserActionRefused(f"{user.username} cannot see ephemeral message {message.id}")

    async def click(self, message: FakeMessage, custom_id: str, *, user: FakeUser) -> FakeInteraction:
        """`user` presses the button `custom_id` on `message`."""
        self._check_visible(message, user)
        button = message.button(custom_id)
        if button is None:
            raise UserActionRefused(f"message {message.id} has no component {custom_id!r} (has {message.custom_ids()})")
        if button.get("disabled"):
            raise UserActionRefused(f"button {custom_id!r} is disabled")
        data = {"custom_id": custom_id, "component_type": button["type"]}
        if button["type"] == 3:
            data["values"] = [button["options"][0]["value"]]
        channel = self.channels[message.channel_id]
        return await self._create_interaction(INTERACTION_COMPONENT, user, channel, data, source_message_id=message.id)

    async def submit_modal(
        self, opened_by: FakeInteraction, values: Mapping[str, str], *, user: FakeUser | None = None
    ) -> FakeInteraction:
        """The person who got the modal fills in `values` (by text input custom_id) and presses Submit."""
        modal = opened_by.modal
        if modal is None:
            raise UserActionRefused(f"interaction {opened_by.id} was not answered with a modal")
        user = user or opened_by.user
        if user.id != opened_by.user.id:
            raise UserActionRefused("only the person a modal was shown to can submit it")
        submitted: list[dict[str, Any]] = []
        seen: set[str] = set()
        for top in modal["components"]:
            inner = top["components"][0] if top["type"] == 1 else top.get("component", top)
            if inner["type"] != 4:
                continue
            cid = inner["custom_id"]
            seen.add(cid)
            value = values.get(cid, inner.get("value") or "")
            if inner.get("required", True) and not value:
                raise UserActionRefused(f"text input {cid!r} is required")
            if value and not inner.get("min_length", 0) <= len(value) <= inner.get("max_length", 4000):
                raise UserActionRefused(
                    f"text input {cid!r} must be {inner.get('min_length', 0)}..{inner.get('max_length', 4000)} long"
                )
            answer = {"type": 4, "custom_id": cid, "value": value}
            submitted.append(
                {"type": 1, "components": [answer]} if top["type"] == 1 else {"type": 18, "component": answer}
            )
        unknown = set(values) - seen
        if unknown:
            raise UserActionRefused(f"the modal has no text inputs {sorted(unknown)}")
        data = {"custom_id": modal["custom_id"], "components": submitted}
        return await self._create_interaction(
            INTERACTION_MODAL_SUBMIT, user, opened_by.channel, data, source_message_id=opened_by.source_message_id
        )

    async def post_user_message(
        self,
        user: FakeUser,
        channel: FakeChannel,
        content: str,
        *,
        reply_to: FakeMessage | None = None,
        ping: bool = True,
    ) -> FakeMessage:
        """A person posts a message (dispatched as MESSAGE_CREATE to sessions with the right intents).

        A reply (`reply_to`) pings the replied-to author unless `ping` is False, as Discord's Reply does by
        default; `<@id>` in the text pings that user too. Those pings decide whether a bot without the Message
        Content intent gets the text.
        """
        if reply_to is not None:
            if reply_to.deleted or reply_to.is_ephemeral:
                raise UserActionRefused("Discord's client offers no Reply on a deleted or ephemeral message")
            # Replies stay in the replied-to message's channel; the one exception is a thread's starter message,
            # shown at the top of the thread opened from it.
            if reply_to.channel_id != channel.id and reply_to.thread_id != channel.id:
                raise UserActionRefused("a reply is posted in the channel of the message it replies to")
        message = self._new_message(channel, user, content=content)
        pinged = [int(found) for found in re.findall(r"<@!?(\d+)>", content)]
        if reply_to is not None:
            message.reference_id, message.type = reply_to.id, MESSAGE_REPLY
            if reply_to.channel_id != channel.id:
                message.reference_channel_id = reply_to.channel_id
            if ping and reply_to.author.id != user.id:
                pinged.append(reply_to.author.id)
        message.mentions = [self.users[uid] for uid in dict.fromkeys(pinged) if uid in self.users]
        await self._announce_message(message)
        return message

    # ---------------------------------------------------------------------------------------------------- limits

    def rate_limit_next(
        self,
        method: str,
        path: str,
        *,
        retry_after: float = 0.2,
        is_global: bool = False,
        via: bool = True,
        times: int = 1,
    ) -> None:
        """The next `times` requests matching `method` and the path regex get a 429."""
        self.forced_rate_limits.append(
            ForcedRateLimit(method.upper(), re.compile(path), retry_after, is_global, via, times)
        )

    def lose_next_response(self, method: str, path: str, *, times: int = 1, status: int | None = None) -> None:
        """The next `times` requests matching `method` and the path regex are carried out, but their connection is
        cut before the answer is sent (or, with `status`, they are answered with that error instead)."""
        self.lost_responses.append(LostResponse(method.upper(), re.compile(path), times, status))

    def _lost_answer(self, method: str, path: str) -> LostResponse | None:
        for lost in self.lost_responses:
            if lost.times > 0 and lost.method in ("*", method) and lost.path.search(path):
                lost.times -= 1
                return lost
        return None

    def _rate_limited(self, retry_after: float, *, is_global: bool, via: bool, scope: str, bucket: str) -> web.Response:
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        headers = {
            "Retry-After": str(max(1, round(retry_after + 0.5))),
            "X-RateLimit-Scope": scope,
        }
        if via:
            headers["Via"] = "1.1 google"
        if not is_global:
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{self.clock.wall() + retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        else:
            headers["X-RateLimit-Global"] = "true"
        return _json(body, 429, headers)

    def _bucket_for(self, method: str, path: str) -> tuple[BucketRule, str] | None:
        for rule in self.bucket_rules:
            if rule.method not in ("*", method):
                continue
            match = rule.path.match(path)
            if match:
                return rule, f"{rule.name}:{match.group(1)}"
        return None

    def _bucket_hash(self, rule: BucketRule) -> str:
        return self._bucket_hashes.setdefault(rule.name, secrets.token_hex(8))

    def _check_buckets(self, method: str, path: str) -> tuple[web.Response | None, dict[str, str]]:
        """Charge the request to its bucket; a 429 when the bucket is empty, else the headers to add."""
        for forced in self.forced_rate_limits:
            if forced.times > 0 and forced.method in ("*", method) and forced.path.search(path):
                forced.times -= 1
                return (
                    self._rate_limited(
                        forced.retry_after, is_global=forced.is_global, via=forced.via, scope="user", bucket="forced"
                    ),
                    {},
                )
        found = self._bucket_for(method, path)
        if found is None:
            return None, {}
        rule, key = found
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = self._buckets[key] = _Bucket(reset_at=now + rule.window_s)
        reset_after = max(0.0, bucket.reset_at - now)
        if bucket.used >= rule.limit:
            return (
                self._rate_limited(
                    round(reset_after, 3),
                    is_global=False,
                    via=True,
                    scope="user",
                    bucket=self._bucket_hash(rule),
                ),
                {},
            )
        bucket.used += 1
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(rule.limit - bucket.used),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self._bucket_hash(rule),
        }
        return None, headers

    # ---------------------------------------------------------------------------------------------------- REST

    async def _cdn(self, request: web.Request) -> web.Response:
        attachment = self.attachments.get(int(request.match_info["aid"]))
        self.downloads.append(int(request.match_info["aid"]))
        if attachment is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})

    async def start_outage(self) -> None:
        """Discord becomes unreachable: the gateway connection drops and REST connections are cut."""
        self.outage = True
        await self.drop_gateway()

    def end_outage(self) -> None:
        self.outage = False

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if self.outage:
            if request.transport is not None:
                request.transport.close()  # the client sees the connection die, as in a network outage
            self.requests.append(RequestRecord(request.method, request.path, 0, self.clock.monotonic(), {}))
            await self._notify()
            return web.Response(status=503)
        path = "/" + request.match_info["tail"]
        method = request.method
        record = RequestRecord(method, path, 0, self.clock.monotonic(), dict(request.query))
        self.requests.append(record)
        try:
            response = await self._handle_rest(request, method, path, record)
        except DiscordError as error:
            response = _json(error.body(), error.status)
        except Exception as error:
            # A bug in the fake, not the client's fault: fail the test (see raise_if_crashed) without making
            # discord.py sit through its 5xx retries.
            _log.exception("fake Discord failed on %s %s", method, path)
            self.server_errors.append(f"{method} {path}: {error!r}")
            response = _json({"message": f"fake server error: {error!r}", "code": 0}, 400)
        record.status = response.status
        lost = self._lost_answer(method, path) if response.status < 400 else None
        if lost is not None and lost.status is not None:
            response = web.Response(status=lost.status, text="<html>upstream error</html>", content_type="text/html")
            record.status = lost.status
        elif lost is not None and request.transport is not None:
            record.status = 0
            request.transport.close()  # done, but the client never hears about it
            await self._notify()
            return response
        if response.status in (401, 403, 429):
            self.invalid_requests.append(time.monotonic())
        await self._notify()
        return response

    def _banned(self) -> bool:
        horizon = time.monotonic() - 600
        recent = [t for t in self.invalid_requests if t >= horizon]
        return len(recent) >= self.invalid_request_limit

    async def _handle_rest(self, request: web.Request, method: str, path: str, record: RequestRecord) -> web.Response:
        if self._banned():
            # Cloudflare's ban: a 429 with no Via header and an HTML body; discord.py must not retry it.
            return web.Response(status=429, text="<html>error code: 1015</html>", content_type="text/html")
        webhook_route = path.startswith(("/webhooks/", "/interactions/"))
        if not webhook_route and request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")
        limited, rl_headers = self._check_buckets(method, path)
        if limited is not None:
            return limited
        declared = request.content_length or 0
        if declared > REQUEST_SIZE_LIMIT:
            raise DiscordError(413, 40005, "Request entity too large")
        payload, files = await _read_body(request)
        record.payload = payload
        record.file_sizes = [len(f[1]) for f in files]
        if sum(record.file_sizes) > REQUEST_SIZE_LIMIT:
            raise DiscordError(413, 40005, "Request entity too large")
        for pattern, route_method, handler in self._routes():
            match = pattern.match(path)
            if match and route_method == method:
                result = await handler(match, payload or {}, files, request.query)
                if isinstance(result, web.Response):
                    response = result
                elif result is None:
                    response = web.Response(status=204)
                else:
                    response = _json(result, 200)
                response.headers.update(rl_headers)
                return response
        self.unhandled.append(f"{method} {path}")
        raise DiscordError(404, 0, "404: Not Found")

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., Any]]]:
        r = re.compile
        return [
            (r(r"^/users/@me$"), "GET", self._get_me),
            (r(r"^/oauth2/applications/@me$"), "GET", self._get_application),
            (r(r"^/gateway(?:/bot)?$"), "GET", self._get_gateway),
            (r(r"^/applications/(\d+)/commands$"), "GET", self._get_commands),
            (r(r"^/applications/(\d+)/commands$"), "PUT", self._put_commands),
            (r(r"^/applications/(\d+)/guilds/(\d+)/commands$"), "GET", self._get_commands),
            (r(r"^/applications/(\d+)/guilds/(\d+)/commands$"), "PUT", self._put_commands),
            (r(r"^/interactions/(\d+)/([^/]+)/callback$"), "POST", self._interaction_callback),
            (r(r"^/webhooks/(\d+)/([^/]+)$"), "POST", self._followup),
            (r(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"), "GET", self._webhook_get),
            (r(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"), "PATCH", self._webhook_edit),
            (r(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"), "DELETE", self._webhook_delete),
            (r(r"^/channels/(\d+)$"), "GET", self._get_channel),
            (r(r"^/channels/(\d+)/messages$"), "POST", self._create_message),
            (r(r"^/channels/(\d+)/messages$"), "GET", self._channel_history),
            (r(r"^/channels/(\d+)/messages/(\d+)$"), "GET", self._get_message),
            (r(r"^/channels/(\d+)/messages/(\d+)$"), "PATCH", self._edit_message),
            (r(r"^/channels/(\d+)/messages/(\d+)$"), "DELETE", self._delete_message),
            (r(r"^/channels/(\d+)/messages/(\d+)/threads$"), "POST", self._thread_from_message),
            (r(r"^/channels/(\d+)/threads$"), "POST", self._standalone_thread),
            (r(r"^/channels/(\d+)/thread-members/@me$"), "PUT", self._join_thread),
            (r(r"^/channels/(\d+)/typing$"), "POST", self._typing),
            (r(r"^/users/@me/channels$"), "POST", self._open_dm),
            (r(r"^/guilds/(\d+)/members/(\d+)$"), "GET", self._get_member),
        ]

    # -- identity

    async def _get_me(self, *_: Any) -> dict[str, Any]:
        return self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0}

    async def _get_application(self, *_: Any) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.payload(),
            "verify_key": secrets.token_hex(32),
            "flags": 0,
            "team": None,
            "summary": "",
            "interactions_endpoint_url": None,
        }

    async def _get_gateway(self, *_: Any) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    # -- application commands

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")

    async def _get_commands(self, match: re.Match[str], *_: Any) -> list[dict[str, Any]]:
        self._check_app(match.group(1))
        guild_id = int(match.group(2)) if match.re.groups > 1 else None
        return [c.payload(self.application_id) for c in self.commands.values() if c.guild_id == guild_id]

    async def _put_commands(self, match: re.Match[str], payload: Any, *_: Any) -> list[dict[str, Any]]:
        self._check_app(match.group(1))
        guild_id = int(match.group(2)) if match.re.groups > 1 else None
        if guild_id is not None and guild_id != self.guild_id:
            raise DiscordError(403, 50001, "Missing Access")
        if not isinstance(payload, list):
            raise _form_error("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
        _validate_commands(payload)
        previous = {(c.name, c.type): c for c in self.commands.values() if c.guild_id == guild_id}
        for command in previous.values():
            del self.commands[command.id]
        synced = []
        for raw in payload:
            type_ = raw.get("type", 1)
            old = previous.get((raw["name"], type_))
            command = FakeCommand(old.id if old else self.snowflake(), raw["name"], type_, raw, guild_id)
            self.commands[command.id] = command
            synced.append(command.payload(self.application_id))
        return synced

    # -- interactions

    def _interaction_by_token(self, token: str) -> FakeInteraction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _interaction_callback(
        self, match: re.Match[str], payload: Any, files: list[tuple[str, bytes, str, str]], query: Mapping[str, str]
    ) -> dict[str, Any] | None:
        interaction = self.interactions.get(int(match.group(1)))
        if interaction is None or interaction.token != match.group(2):
            raise DiscordError(404, 10062, "Unknown interaction")
        try:
            return await self._respond(interaction, payload, files, query)
        except DiscordError as error:
            interaction.rejected.append(error)
            raise

    async def _respond(
        self,
        interaction: FakeInteraction,
        payload: dict[str, Any],
        files: list[tuple[str, bytes, str, str]],
        query: Mapping[str, str],
    ) -> dict[str, Any] | None:
        if interaction.acknowledged_at is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if self.clock.monotonic() - interaction.created_at > ACK_DEADLINE_S:
            raise DiscordError(404, 10062, "Unknown interaction")
        type_ = payload.get("type")
        allowed = {
            INTERACTION_APPLICATION_COMMAND: {RESPONSE_MESSAGE, RESPONSE_DEFERRED_MESSAGE, RESPONSE_MODAL},
            INTERACTION_COMPONENT: {
                RESPONSE_MESSAGE,
                RESPONSE_DEFERRED_MESSAGE,
                RESPONSE_DEFERRED_UPDATE,
                RESPONSE_UPDATE_MESSAGE,
                RESPONSE_MODAL,
            },
            INTERACTION_MODAL_SUBMIT: {RESPONSE_MESSAGE, RESPONSE_DEFERRED_MESSAGE}
            | ({RESPONSE_DEFERRED_UPDATE, RESPONSE_UPDATE_MESSAGE} if interaction.source_message_id else set()),
            INTERACTION_AUTOCOMPLETE: {8},
        }[interaction.type]
        if type_ not in allowed:
            raise _form_error(
                "type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Interaction response type {type_} is invalid here"
            )
        data = payload.get("data") or {}
        message: FakeMessage | None = None
        if type_ == RESPONSE_MODAL:
            _validate_modal(data)
        elif type_ in (RESPONSE_MESSAGE, RESPONSE_DEFERRED_MESSAGE):
            flags = int(data.get("flags", 0))
            if type_ == RESPONSE_MESSAGE:
                _validate_message(data, files, require_content=True, limit=interaction.attachment_size_limit)
            message = self._new_message(
                interaction.channel,
                self.bot,
                content=data.get("content", "") if type_ == RESPONSE_MESSAGE else "",
                flags=(flags & FLAG_EPHEMERAL) | (FLAG_LOADING if type_ == RESPONSE_DEFERRED_MESSAGE else 0),
            )
            self._stamp_interaction(message, interaction)
            if type_ == RESPONSE_MESSAGE:
                self._apply_message_fields(message, data, files)
            interaction.original_message_id = message.id
        elif type_ == RESPONSE_UPDATE_MESSAGE:
            message = self.messages[interaction.source_message_id]  # type: ignore[index]
            _validate_message(data, files, require_content=False, limit=interaction.attachment_size_limit)
            self._apply_message_fields(message, data, files, edit=True)
            interaction.original_message_id = message.id
        elif type_ == RESPONSE_DEFERRED_UPDATE:
            interaction.original_message_id = interaction.source_message_id
        interaction.acknowledged_at = self.clock.monotonic()
        interaction.response_type = type_
        interaction.response_data = data
        if message is not None:
            await self._announce_message(message)
        await self._notify()
        if query.get("with_response") not in ("1", "true", "True"):
            return None
        body: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": type_ == RESPONSE_DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(message and message.is_ephemeral),
            }
        }
        if message is not None:
            body["interaction"]["response_message_id"] = str(message.id)
            body["resource"] = {"type": type_, "message": message.payload()}
        else:
            body["resource"] = {"type": type_}
        return body

    def _stamp_interaction(self, message: FakeMessage, interaction: FakeInteraction) -> None:
        message.webhook_id = self.application_id
        message.application_id = self.application_id
        if interaction.type == INTERACTION_APPLICATION_COMMAND:
            message.type = (
                MESSAGE_CHAT_INPUT_COMMAND if interaction.data.get("type") == 1 else MESSAGE_CONTEXT_MENU_COMMAND
            )
        message.interaction_metadata = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user.payload(),
            "authorizing_integration_owners": {"0": str(interaction.guild_id or 0)},
            "name": interaction.data.get("name", ""),
        }
        if message.is_ephemeral:
            message.visible_to = interaction.user.id

    def _webhook_interaction(self, app_id: str, token: str) -> FakeInteraction:
        if int(app_id) != self.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        interaction = self._interaction_by_token(token)
        if interaction is None:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if self.clock.monotonic() - interaction.created_at > TOKEN_LIFETIME_S:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if interaction.acknowledged_at is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        return interaction

    def _webhook_message(self, interaction: FakeInteraction, which: str) -> FakeMessage:
        if which == "@original":
            mid = interaction.original_message_id
        else:
            mid = int(which)
            if mid not in interaction.followup_ids and mid != interaction.original_message_id:
                mid = None
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _followup(
        self,
        match: re.Match[str],
        payload: dict[str, Any],
        files: list[tuple[str, bytes, str, str]],
        query: Mapping[str, str],
    ) -> dict[str, Any] | None:
        interaction = self._webhook_interaction(match.group(1), match.group(2))
        _validate_message(payload, files, require_content=True, limit=interaction.attachment_size_limit)
        flags = int(payload.get("flags", 0))
        message = self._new_message(interaction.channel, self.bot, flags=flags & FLAG_EPHEMERAL)
        self._stamp_interaction(message, interaction)
        message.type = MESSAGE_DEFAULT
        self._apply_message_fields(message, payload, files)
        interaction.followup_ids.append(message.id)
        await self._announce_message(message)
        return message.payload() if query.get("wait") in ("1", "true", "True") else None

    async def _webhook_get(self, match: re.Match[str], *_: Any) -> dict[str, Any]:
        interaction = self._webhook_interaction(match.group(1), match.group(2))
        return self._webhook_message(interaction, match.group(3)).payload()

    async def _webhook_edit(
        self, match: re.Match[str], payload: dict[str, Any], files: list[tuple[str, bytes, str, str]], *_: Any
    ) -> dict[str, Any]:
        interaction = self._webhook_interaction(match.group(1), match.group(2))
        message = self._webhook_message(interaction, match.group(3))
        _validate_message(payload, files, require_content=False, limit=interaction.attachment_size_limit)
        self._apply_message_fields(message, payload, files, edit=True)
        message.flags &= ~FLAG_LOADING
        await self.dispatch(
            "MESSAGE_UPDATE", message.payload(), intent=_message_intent(self.channels[message.channel_id])
        )
        return message.payload()

    async def _webhook_delete(self, match: re.Match[str], *_: Any) -> None:
        interaction = self._webhook_interaction(match.group(1), match.group(2))
        message = self._webhook_message(interaction, match.group(3))
        await self._remove_message(message)

    # -- channels and messages

    def _channel(self, cid: str) -> FakeChannel:
        channel = self.channels.get(int(cid))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel: FakeChannel, mid: str) -> FakeMessage:
        message = self.messages.get(int(mid))
        if message is None or message.deleted or message.channel_id != channel.id:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, match: re.Match[str], *_: Any) -> dict[str, Any]:
        return self._channel(match.group(1)).payload()

    async def _create_message(
        self, match: re.Match[str], payload: dict[str, Any], files: list[tuple[str, bytes, str, str]], *_: Any
    ) -> dict[str, Any]:
        channel = self._channel(match.group(1))
        if channel.is_thread and channel.locked:
            raise DiscordError(403, 50083, "Thread is archived")
        _validate_message(payload, files, require_content=True, limit=self.attachment_limit)
        if int(payload.get("flags", 0)) & FLAG_EPHEMERAL:
            raise _form_error("flags", "MESSAGE_FLAGS_INVALID", "Ephemeral messages exist only for interactions")
        nonce = payload.get("nonce")
        if nonce is not None and len(str(nonce)) > NONCE_MAX_LENGTH:
            raise _form_error("nonce", "BASE_TYPE_BAD_LENGTH", f"Must be {NONCE_MAX_LENGTH} or fewer in length.")
        nonce_key = (channel.id, self.bot.id, str(nonce))
        if nonce is not None and payload.get("enforce_nonce"):
            # Discord: "if another message was created by the same author with the same nonce [in the past few
            # minutes], that message will be returned and no new message will be created".
            earlier = self.nonces.get(nonce_key)
            if earlier is not None and self.clock.monotonic() - earlier[1] < NONCE_WINDOW_SECONDS:
                return self.messages[earlier[0]].payload() | {"nonce": str(nonce)}
        message = self._new_message(channel, self.bot)
        if nonce is not None:
            self.nonces[nonce_key] = (message.id, self.clock.monotonic())
        reference = payload.get("message_reference")
        if reference:
            target = self.messages.get(int(reference["message_id"]))
            if (target is None or target.deleted) and reference.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            message.reference_id = int(reference["message_id"])
            message.type = MESSAGE_REPLY
        self._apply_message_fields(message, payload, files)
        if channel.is_thread and channel.archived:
            channel.archived = False  # sending into an archived (unlocked) thread unarchives it
        await self._announce_message(message)
        return message.payload() | ({"nonce": str(nonce)} if nonce is not None else {})

    async def _channel_history(
        self, match: re.Match[str], payload: dict[str, Any], files: Any, query: Any
    ) -> list[dict[str, Any]]:
        """GET /channels/{id}/messages: up to `limit` (1-100, default 50) messages, newest first, `before`/`after`
        an id."""
        channel = self._channel(match.group(1))
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise _form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        before, after = int(query.get("before", 0)) or None, int(query.get("after", 0)) or None
        found = [
            m
            for m in self.messages.values()
            if m.channel_id == channel.id
            and not m.deleted
            and not m.is_ephemeral
            and (before is None or m.id < before)
            and (after is None or m.id > after)
        ]
        found.sort(key=lambda m: m.id, reverse=True)
        return [m.payload() for m in found[:limit]]

    async def _get_message(self, match: re.Match[str], *_: Any) -> dict[str, Any]:
        return self._message(self._channel(match.group(1)), match.group(2)).payload()

    async def _edit_message(
        self, match: re.Match[str], payload: dict[str, Any], files: list[tuple[str, bytes, str, str]], *_: Any
    ) -> dict[str, Any]:
        channel = self._channel(match.group(1))
        message = self._message(channel, match.group(2))
        if message.author.id != self.bot.id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        _validate_message(payload, files, require_content=False, limit=self.attachment_limit)
        self._apply_message_fields(message, payload, files, edit=True)
        await self.dispatch("MESSAGE_UPDATE", message.payload(), intent=_message_intent(channel))
        return message.payload()

    async def _delete_message(self, match: re.Match[str], *_: Any) -> None:
        channel = self._channel(match.group(1))
        message = self._message(channel, match.group(2))
        if message.author.id != self.bot.id and channel.is_dm:
            raise DiscordError(403, 50003, "Cannot execute action on a DM channel")
        await self._remove_message(message)

    async def _remove_message(self, message: FakeMessage) -> None:
        message.deleted = True
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id:
            data["guild_id"] = str(message.guild_id)
        await self.dispatch("MESSAGE_DELETE", data, intent=_message_intent(self.channels[message.channel_id]))

    def _validate_thread_request(self, payload: dict[str, Any]) -> tuple[str, int]:
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        archive = payload.get("auto_archive_duration", 1440)
        if archive not in THREAD_ARCHIVE_MINUTES:
            raise _form_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", f"Value must be one of {THREAD_ARCHIVE_MINUTES}."
            )
        return name, archive

    async def _thread_from_message(self, match: re.Match[str], payload: dict[str, Any], *_: Any) -> dict[str, Any]:
        channel = self._channel(match.group(1))
        if channel.type != CHANNEL_GUILD_TEXT:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        message = self._message(channel, match.group(2))
        if message.is_ephemeral:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if message.thread_id is not None:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        name, archive = self._validate_thread_request(payload)
        # A thread started from a message has the message's id.
        thread = FakeChannel(
            message.id,
            CHANNEL_PUBLIC_THREAD,
            name,
            guild_id=self.guild_id,
            parent_id=channel.id,
            owner_id=self.bot.id,
            auto_archive_duration=archive,
            created_at=self.clock.wall(),
        )
        self.channels[thread.id] = thread
        message.thread_id = thread.id
        await self.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True}, intent=INTENT_GUILDS)
        return thread.payload()

    async def _standalone_thread(self, match: re.Match[str], payload: dict[str, Any], *_: Any) -> dict[str, Any]:
        channel = self._channel(match.group(1))
        if channel.type != CHANNEL_GUILD_TEXT:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        name, archive = self._validate_thread_request(payload)
        thread = self._add_channel(
            int(payload.get("type", CHANNEL_PUBLIC_THREAD)),
            name,
            guild_id=self.guild_id,
            parent_id=channel.id,
            owner_id=self.bot.id,
            auto_archive_duration=archive,
        )
        await self.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True}, intent=INTENT_GUILDS)
        return thread.payload()

    async def _join_thread(self, match: re.Match[str], *_: Any) -> None:
        if not self._channel(match.group(1)).is_thread:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")

    async def _typing(self, match: re.Match[str], *_: Any) -> None:
        self._channel(match.group(1))

    async def _open_dm(self, _match: re.Match[str], payload: dict[str, Any], *_: Any) -> dict[str, Any]:
        user = self.users.get(int(payload.get("recipient_id", 0)))
        if user is None or user.bot:
            raise DiscordError(400, 50007, "Cannot send messages to this user")
        return self.dm_channel(user).payload()

    async def _get_member(self, match: re.Match[str], *_: Any) -> dict[str, Any]:
        if int(match.group(1)) != self.guild_id:
            raise DiscordError(404, 10004, "Unknown Guild")
        member = self.members.get(int(match.group(2)))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return member.payload()

    # -- message bookkeeping

    def _new_message(self, channel: FakeChannel, author: FakeUser, *, content: str = "", flags: int = 0) -> FakeMessage:
        message = FakeMessage(
            id=self.snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=content,
            flags=flags,
            created_at=self.clock.wall(),
        )
        self.messages[message.id] = message
        channel.last_message_id = message.id
        channel.message_count += 1
        return message

    def _apply_message_fields(
        self,
        message: FakeMessage,
        data: dict[str, Any],
        files: list[tuple[str, bytes, str, str]],
        *,
        edit: bool = False,
    ) -> None:
        if edit:
            message.history.append(message.content)
            message.edited_at = self.clock.wall()
        if "content" in data:
            message.content = data["content"] or ""
        if "embeds" in data:
            message.embeds = data["embeds"] or []
        if "components" in data:
            message.components = data["components"] or []
        if "flags" in data and data["flags"] is not None:
            keep = message.flags & (FLAG_EPHEMERAL | FLAG_LOADING)
            message.flags = keep | (int(data["flags"]) & ~(FLAG_EPHEMERAL | FLAG_LOADING))
        if edit and "attachments" in data:
            # Existing attachments are listed by their snowflake; new files by their upload index (0, 1, ...).
            kept_ids = {str(a.get("id")) for a in data["attachments"] or []}
            message.attachments = [a for a in message.attachments if str(a.id) in kept_ids]
        described = {str(a.get("id")): a for a in data.get("attachments") or []}
        for field_name, blob, filename, content_type in files:
            index = field_name.removeprefix("files[").removesuffix("]")
            attachment_id = self.snowflake()
            attachment = FakeAttachment(
                attachment_id,
                filename,
                blob,
                content_type,
                f"{self.base_url}/cdn/attachments/{message.channel_id}/{attachment_id}/{filename}",
                described.get(index, {}).get("description"),
            )
            self.attachments[attachment_id] = attachment
            message.attachments.append(attachment)

    async def _announce_message(self, message: FakeMessage) -> None:
        channel = self.channels[message.channel_id]
        intent = _message_intent(channel)
        session = self.current_session
        if message.is_ephemeral or session is None:
            await self._notify()
            return
        data = self._as_seen_by_bot(message, session)
        if message.guild_id is not None and message.author.id in self.members:
            # Guild messages carry the author's member object (roles), as on Discord.
            data["member"] = self.members[message.author.id].payload(with_user=False)
        if message.reference_id is not None:
            # Discord resolves the replied-to message for the reader (null once it is deleted).
            replied = self.messages.get(message.reference_id)
            if replied is None or replied.deleted:
                data["referenced_message"] = None
            else:
                data["referenced_message"] = self._as_seen_by_bot(replied, session)
        await self.dispatch("MESSAGE_CREATE", data, intent=intent)

    def _as_seen_by_bot(self, message: FakeMessage, session: GatewaySession) -> dict[str, Any]:
        """The message's payload, emptied the way Discord empties it for a bot without Message Content.

        The intent is not needed for DMs, the bot's own messages, and messages that mention the bot (a reply
        that pings it included).
        """
        data = message.payload()
        visible = (
            session.intents & INTENT_MESSAGE_CONTENT
            or self.channels[message.channel_id].is_dm
            or message.author.id == self.bot.id
            or any(user.id == self.bot.id for user in message.mentions)
        )
        if not visible:
            data.update(content="", embeds=[], attachments=[], components=[])
        return data


def _message_intent(channel: FakeChannel) -> int:
    return INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES


def _json(body: Any, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json" (no charset).
    response = web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})
    if headers:
        response.headers.update(headers)
    return response


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes, str, str]]]:
    """The JSON payload and any uploaded files ((field, bytes, filename, content type)) of a request."""
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[tuple[str, bytes, str, str]] = []
        reader = await request.multipart()
        total = 0
        async for part in reader:
            blob = await part.read(decode=False)  # type: ignore[union-attr]
            total += len(blob)
            if total > REQUEST_SIZE_LIMIT:
                raise DiscordError(413, 40005, "Request entity too large")
            name = part.name or ""  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(blob)
            elif name.startswith("files["):
                content_type = part.headers.get("Content-Type", "application/octet-stream")  # type: ignore[union-attr]
                files.append((name, bytes(blob), part.filename or "file", content_type))  # type: ignore[union-attr]
            else:
                raise _form_error(name or "_", "UNKNOWN_FIELD", "Unexpected multipart field")
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    if request.content_type != "application/json":
        raise DiscordError(400, 50109, "The request body contains invalid JSON.")
    try:
        return json.loads(raw), []
    except ValueError as error:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from error


# --------------------------------------------------------------------------------------------------------------
# Validation of what the bot sends


def _validate_custom_id(value: Any, path: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CUSTOM_ID:
        raise _form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length.")


def _validate_components(components: Any, flags: int) -> None:
    if not isinstance(components, list):
        raise _form_error("components", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    if flags & FLAG_COMPONENTS_V2:
        return  # layout components (v2) have their own limits; the adapter does not send them
    if len(components) > MAX_ROWS:
        raise _form_error("components", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    seen: set[str] = set()
    for r, row in enumerate(components):
        if row.get("type") != 1:
            raise _form_error(
                f"components.{r}.type", "COMPONENT_LAYOUT_INVALID", "Top-level components must be action rows"
            )
        children = row.get("components") or []
        if not children:
            raise _form_error(f"components.{r}.components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        if len(children) > MAX_BUTTONS_PER_ROW:
            raise _form_error(
                f"components.{r}.components",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_BUTTONS_PER_ROW} or fewer in length.",
            )
        for c, child in enumerate(children):
            path = f"components.{r}.components.{c}"
            if child.get("type") == 2:
                if child.get("style") == 5:
                    if "custom_id" in child or not child.get("url"):
                        raise _form_error(path, "BUTTON_COMPONENT_INVALID", "Link buttons need a url and no custom_id")
                elif child.get("style") in (1, 2, 3, 4):
                    _validate_custom_id(child.get("custom_id"), f"{path}.custom_id")
                else:
                    raise _form_error(f"{path}.style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
                if len(child.get("label") or "") > 80:
                    raise _form_error(f"{path}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
            elif child.get("type") in (3, 5, 6, 7, 8):
                if len(children) != 1:
                    raise _form_error(path, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select menu takes a whole row")
                _validate_custom_id(child.get("custom_id"), f"{path}.custom_id")
            else:
                raise _form_error(f"{path}.type", "COMPONENT_TYPE_INVALID", "Invalid component type in a message row")
            cid = child.get("custom_id")
            if cid is not None:
                if cid in seen:
                    raise _form_error(
                        f"{path}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(cid)


def _validate_message(
    data: dict[str, Any], files: list[tuple[str, bytes, str, str]], *, require_content: bool, limit: int
) -> None:
    content = data.get("content")
    if content is not None:
        if not isinstance(content, str):
            raise _form_error("content", "STRING_TYPE_CONVERT", "Must be a string.")
        if len(content) > MAX_CONTENT:
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    embeds = data.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for e, embed in enumerate(embeds):
        for key, most in (("title", 256), ("description", 4096)):
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > most:
                raise _form_error(f"embeds.{e}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _form_error(f"embeds.{e}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
    if total > 6000:
        raise _form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    flags = int(data.get("flags") or 0)
    if "components" in data and data["components"] is not None:
        _validate_components(data["components"], flags)
    for _field, blob, _name, _type in files:
        if len(blob) > limit:
            raise DiscordError(413, 40005, "Request entity too large")
    if require_content and not (
        content or embeds or files or data.get("components") or data.get("sticker_ids") or data.get("poll")
    ):
        raise DiscordError(400, 50006, "Cannot send an empty message")


def _validate_modal(data: dict[str, Any]) -> None:
    _validate_custom_id(data.get("custom_id"), "data.custom_id")
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        raise _form_error("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        raise _form_error("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for i, top in enumerate(components):
        if top.get("type") == 1:
            inner = (top.get("components") or [None])[0]
            label = (inner or {}).get("label")
        elif top.get("type") == 18:
            inner, label = top.get("component"), top.get("label")
        else:
            inner, label = top, None
        path = f"data.components.{i}"
        if not isinstance(inner, dict) or inner.get("type") not in (3, 4, 5, 6, 7, 8, 19):
            raise _form_error(path, "COMPONENT_TYPE_INVALID", "Invalid component in a modal")
        _validate_custom_id(inner.get("custom_id"), f"{path}.custom_id")
        if inner.get("type") == 4:
            if not isinstance(label, str) or not 1 <= len(label) <= 45:
                raise _form_error(f"{path}.label", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
            low, high = inner.get("min_length", 0), inner.get("max_length", 4000)
            if not (0 <= low <= 4000 and 1 <= high <= 4000 and low <= high):
                raise _form_error(f"{path}.max_length", "NUMBER_TYPE_MAX", "min_length/max_length out of range")
            if len(inner.get("value") or "") > high or len(inner.get("placeholder") or "") > 100:
                raise _form_error(f"{path}.value", "BASE_TYPE_MAX_LENGTH", "Must be within max_length.")


_CHAT_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _validate_commands(commands: list[dict[str, Any]]) -> None:
    names: set[tuple[str, int]] = set()
    counts = {1: 0, 2: 0, 3: 0}
    for i, command in enumerate(commands):
        type_ = command.get("type", 1)
        name = command.get("name", "")
        path = f"{i}"
        if (name, type_) in names:
            raise _form_error(
                f"{path}.name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        names.add((name, type_))
        counts[type_] = counts.get(type_, 0) + 1
        if type_ == 1:
            if not _CHAT_NAME.match(name) or name != name.lower():
                raise _form_error(
                    f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"
                )
            description = command.get("description", "")
            if not 1 <= len(description) <= 100:
                raise _form_error(f"{path}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            _validate_options(command.get("options") or [], f"{path}.options")
        else:
            if not 1 <= len(name) <= 32:
                raise _form_error(f"{path}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
            if command.get("description"):
                raise _form_error(
                    f"{path}.description",
                    "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                    "Context menu commands cannot have a description",
                )
            if command.get("options"):
                raise _form_error(
                    f"{path}.options",
                    "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                    "Context menu commands cannot have options",
                )
    if counts[1] > 100 or counts.get(2, 0) > 15 or counts.get(3, 0) > 15:
        raise _form_error("_", "APPLICATION_COMMANDS_TOO_MANY", "Too many application commands")


def _validate_options(options: list[dict[str, Any]], path: str) -> None:
    if len(options) > MAX_OPTIONS:
        raise _form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    optional_seen = False
    for i, option in enumerate(options):
        opath = f"{path}.{i}"
        name = option.get("name", "")
        if not _CHAT_NAME.match(name) or name != name.lower():
            raise _form_error(f"{opath}.name", "APPLICATION_COMMAND_INVALID_NAME", f"Option name is invalid: {name!r}")
        if not 1 <= len(option.get("description", "")) <= 100:
            raise _form_error(f"{opath}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if option.get("type") in (1, 2):
            _validate_options(option.get("options") or [], f"{opath}.options")
            continue
        if option.get("required"):
            if optional_seen:
                raise _form_error(
                    f"{opath}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        if len(option.get("choices") or []) > MAX_CHOICES:
            raise _form_error(f"{opath}.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length.")
        if option.get("type") == 3 and not 0 <= option.get("max_length", MAX_STRING_OPTION) <= MAX_STRING_OPTION:
            raise _form_error(
                f"{opath}.max_length",
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {MAX_STRING_OPTION}.",
            )


# --------------------------------------------------------------------------------------------------------------
# Network guard, redirect and fixtures

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: Any) -> bool:
    if host is None or host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse (and fail the test on) any connection or name lookup that leaves the loopback interface."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return OSError(errno.ENETUNREACH, f"test tried to reach the real network: {what}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect_ex {address!r}")
        return real_connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if not _is_loopback(host):
            raise refuse(f"getaddrinfo {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts
    assert not attempts, f"the test tried to reach the real network: {attempts}"


@contextlib.contextmanager
def discord_py_pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base and gateway at a test server for the duration of the block.

    discord.py reads both from class attributes (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`): there is no
    per-client setting, so the change is process-wide and must be undone afterwards.
    """
    import discord.gateway
    import discord.http
    import yarl

    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


class _ErrorRecords(logging.Handler):
    """Collects ERROR records from discord.py's loggers: it logs (and swallows) exceptions in handlers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.asynccontextmanager
async def running_client(
    fake: FakeDiscord, client: Any, *, token: str | None = None, wait_ready: bool = True, allow_errors: bool = False
) -> AsyncIterator[asyncio.Task[None]]:
    """Run a discord.py client against `fake` as a watched task; on exit close it and fail on any crash.

    Exceptions discord.py only logs (in event handlers, views, app commands) fail the test too unless
    `allow_errors` is set.
    """
    handler = _ErrorRecords()
    logger = logging.getLogger("discord")
    logger.addHandler(handler)
    task = asyncio.create_task(client.start(token or fake.token), name="discord-client")
    fake.watch(task)
    try:
        if wait_ready:
            await fake.wait_ready()
        yield task
        fake.raise_if_crashed()
    finally:
        await client.close()
        await asyncio.wait({task}, timeout=5.0)  # its outcome is checked below, not raised here
        logger.removeHandler(handler)
    fake.raise_if_crashed()
    if handler.records and not allow_errors:
        messages = [
            f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in handler.records
        ]
        raise AssertionError(f"discord.py logged errors: {messages}")


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord; the test fails at teardown if a watched client task crashed."""
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
        fake.raise_if_crashed()
    finally:
        await fake.close()
