"""What the Telegram adapter writes: status lines, captions, keyboards and /tree, within Telegram's limits."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.records import LineageNode
from core.texts import duration

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
BAR_WIDTH = 10

# Button data: an action and a clip id (8 characters); the clip's state lives in the database.
ACTIONS = {"rmx": "Remix", "ext": "Extend", "rr": "Reroll", "del": "Delete"}
REMIX_ASK = "Reply to this message with what the remix of clip {clip_id} should be."
REMIX_ASK_RE = re.compile(r"remix of clip ([a-z0-9]{8})")
BACKTICKED = re.compile(r"`([^`\n]{1,64})`")


def utf16_len(text: str) -> int:
    """Telegram counts text length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, with an ellipsis when something was cut."""
    if utf16_len(text) <= limit:
        return text
    if limit < 1:
        return ""
    out = text
    while out and utf16_len(out) > limit - 1:
        # Trim by the excess (at least one character) so long texts converge quickly.
        out = out[: len(out) - max(1, (utf16_len(out) - limit + 1) // 2)]
    return out + "…"


def to_html(text: str, limit: int = TEXT_LIMIT) -> str:
    """Plain core text -> Telegram HTML: escaped, with `ids` as <code> (tap to copy), cut to `limit`."""
    plain = cut(text, limit)
    return BACKTICKED.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(plain, quote=False))


def clip_caption(text: str, clip_id: str) -> str:
    """The clip's caption: the prompt (cut to fit 1024 characters), then the author/credits line and the id."""
    prompt, _, tail = text.rpartition("\n")
    if not prompt:
        prompt, tail = text, ""
    credits = cut(tail.strip(), CAPTION_LIMIT // 2)
    tail = f"{credits} · clip {clip_id}" if credits else f"clip {clip_id}"
    room = CAPTION_LIMIT - utf16_len(tail) - 1
    return f"{cut(prompt, room)}\n{tail}"


def notice_caption(text: str) -> str:
    """A notice shown as a clip's caption (plain text, like clip captions): without the core's backticks, cut to
    fit 1024 characters."""
    return cut(text.replace("`", ""), CAPTION_LIMIT)


def keyboard(clip_id: str, actions: tuple[str, ...] = tuple(ACTIONS)) -> InlineKeyboardMarkup:
    """The buttons under a clip, two per row; `actions` picks some (a cameo owner's notice has Delete only)."""
    row = [InlineKeyboardButton(ACTIONS[action], callback_data=f"{action}:{clip_id}") for action in actions]
    for button in row:
        assert len(str(button.callback_data).encode()) <= CALLBACK_DATA_LIMIT
    return InlineKeyboardMarkup([row[i : i + 2] for i in range(0, len(row), 2)])


def parse_button(data: str | None) -> tuple[str, str] | None:
    """`"rmx:k3f9x2ab"` -> `("rmx", "k3f9x2ab")`; None for data this adapter did not make."""
    action, _, clip_id = (data or "").partition(":")
    if action not in ACTIONS or not re.fullmatch(r"[a-z0-9]{8}", clip_id):
        return None
    return action, clip_id


def bar(step: int, total: int) -> str:
    filled = round(BAR_WIDTH * step / total) if total else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def queued(job_id: str, position: int, estimate: float) -> str:
    return f"⏳ `{job_id}` queued — position {position}, ready in about {duration(estimate)}"


def started(job_id: str, estimate: float) -> str:
    return f"🎬 `{job_id}` started — about {duration(estimate)}"


def progress(job_id: str, step: int, total: int, stage: str, eta: float) -> str:
    if stage == "encoding":
        return f"🎞 `{job_id}` encoding the video…"
    return f"🎬 `{job_id}` step {step}/{total} {bar(step, total)} about {duration(eta)} left"


def done(job_id: str, clip_id: str) -> str:
    return f"✅ `{job_id}` done — clip `{clip_id}`"


def failed(job_id: str, reason: str) -> str:
    return f"⚠️ `{job_id}` failed: {reason}"


def cancelled(job_id: str, reason: str) -> str:
    return f"✖️ `{job_id}` {reason}"


def message_link(
    chat_id: int, message_id: int, thread_id: int | None = None, username: str | None = None
) -> str | None:
    """A t.me link to a message, where Telegram has one (supergroups and public chats, not private chats)."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    text = str(chat_id)
    if not text.startswith("-100"):
        return None
    internal = text.removeprefix("-100")
    if thread_id is not None:
        return f"https://t.me/c/{internal}/{thread_id}/{message_id}"
    return f"https://t.me/c/{internal}/{message_id}"


VERBS = {"generate": "made", "remix": "remixed", "extend": "extended", "stitch": "stitched"}


def tree_html(tree: LineageNode, highlight: str | None, limit: int = TEXT_LIMIT) -> str:
    """The remix tree as HTML: who made or remixed what, each clip linked to its message where possible."""
    lines: list[str] = ["<b>Remix tree</b>"]
    used = utf16_len(lines[0])
    for depth, node in tree.walk():
        link = None
        for post in node.posts:
            if post.platform == "telegram":
                thread = int(post.thread_id) if post.thread_id else None
                link = message_link(int(post.channel_id), int(post.message_id), thread)
                break
        ident = f"<code>{node.clip_id}</code>"
        if link and not node.deleted:
            ident = f'<a href="{html.escape(link)}">{node.clip_id}</a>'
        prompt = "(deleted)" if node.deleted else html.escape(cut(node.prompt, 60), quote=False)
        verb = VERBS.get(node.kind, node.kind)
        mark = " ◀" if node.clip_id == highlight else ""
        indent = "   " * depth + ("└ " if depth else "")
        line = f"{indent}{ident} {html.escape(node.author, quote=False)} {verb}: {prompt}{mark}"
        # Entities do not count toward the limit; the visible text roughly does. Stop with room to spare.
        visible = utf16_len(re.sub(r"<[^>]+>", "", line))
        if used + visible + 40 > limit:
            lines.append(f"… and {len(tree.walk()) - (len(lines) - 1)} more")
            break
        lines.append(line)
        used += visible + 1
    return "\n".join(lines)
