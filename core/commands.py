"""One command grammar for every adapter.

    sora <prompt> [--seconds N] [--aspect landscape|portrait|square] [--size WxH] [--seed N]
    remix <clip> <prompt> [--seed N]
    extend <clip> [--seconds N] [<prompt>]
    stitch <clip> <clip>...
    reroll <clip> | tree <clip> | delete <clip>
    quota | jobs | cancel <job> | help [command]

A leading slash and a Telegram-style `@botname` suffix are accepted (`/sora@my_bot ...`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import BadCommand

ASPECTS: dict[str, tuple[int, int]] = {
    "landscape": (640, 360),
    "portrait": (360, 640),
    "square": (480, 480),
}
ID_PATTERN = re.compile(r"^[a-z0-9]{8}$")


@dataclass(frozen=True)
class Limits:
    """Bounds on what a command may ask for; the service's settings fill these."""

    max_prompt_chars: int = 1000
    min_seconds: float = 1.0
    max_seconds: float = 20.0
    default_seconds: float = 5.0
    default_extend_seconds: float = 3.0
    max_width: int = 1280
    max_height: int = 1280
    max_pixels: int = 1280 * 720
    min_side: int = 64
    max_stitch: int = 6


@dataclass(frozen=True)
class Generate:
    prompt: str
    seconds: float
    width: int
    height: int
    seed: int | None = None
    cameos: tuple[str, ...] = ()


@dataclass(frozen=True)
class Remix:
    clip_id: str
    prompt: str
    seed: int | None = None


@dataclass(frozen=True)
class Extend:
    clip_id: str
    seconds: float
    prompt: str = ""


@dataclass(frozen=True)
class Stitch:
    clip_ids: tuple[str, ...]


@dataclass(frozen=True)
class Reroll:
    clip_id: str


@dataclass(frozen=True)
class Tree:
    clip_id: str


@dataclass(frozen=True)
class Delete:
    clip_id: str


@dataclass(frozen=True)
class Cancel:
    job_id: str


@dataclass(frozen=True)
class Quota:
    pass


@dataclass(frozen=True)
class Jobs:
    pass


@dataclass(frozen=True)
class Help:
    topic: str = ""


Command = Generate | Remix | Extend | Stitch | Reroll | Tree | Delete | Cancel | Quota | Jobs | Help

USAGE: dict[str, str] = {
    "sora": "sora <prompt> [--seconds N] [--aspect landscape|portrait|square] [--size WxH] [--seed N]",
    "remix": "remix <clip> <prompt> [--seed N]",
    "extend": "extend <clip> [--seconds N] [prompt]",
    "stitch": "stitch <clip> <clip> [more clips]",
    "reroll": "reroll <clip>",
    "tree": "tree <clip>",
    "delete": "delete <clip>",
    "quota": "quota",
    "jobs": "jobs",
    "cancel": "cancel <job>",
    "help": "help [command]",
}
ALIASES = {"generate": "sora", "gen": "sora", "video": "sora", "rm": "delete", "lineage": "tree", "credits": "quota"}
_OPTION = re.compile(r"^--([a-z-]+)(?:=(.*))?$")


@dataclass
class _Parsed:
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def clean_text(text: str, limits: Limits, what: str = "prompt") -> str:
    """Normalise whitespace and refuse control characters and over-long text."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        raise BadCommand(f"the {what} contains control characters; please send plain text")
    text = " ".join(text.split())
    if len(text) > limits.max_prompt_chars:
        raise BadCommand(f"the {what} is {len(text)} characters long; the limit is {limits.max_prompt_chars}")
    return text


def _split(text: str, allowed: set[str]) -> _Parsed:
    parsed = _Parsed()
    tokens = text.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        match = _OPTION.match(token)
        if match and token != "--":
            name, value = match.group(1), match.group(2)
            if name not in allowed:
                hint = ", ".join(f"--{a}" for a in sorted(allowed)) or "none"
                raise BadCommand(f"unknown option --{name} (options here: {hint})")
            if value is None:
                if i + 1 >= len(tokens):
                    raise BadCommand(f"--{name} needs a value")
                value = tokens[i + 1]
                i += 1
            parsed.options[name] = value
        else:
            parsed.words.append(token)
        i += 1
    return parsed


def _seconds(value: str | None, default: float, limits: Limits) -> float:
    if value is None:
        return default
    try:
        seconds = float(value.rstrip("s"))
    except ValueError:
        raise BadCommand(f"--seconds must be a number, got {value!r}") from None
    if not limits.min_seconds <= seconds <= limits.max_seconds:
        raise BadCommand(f"--seconds must be between {limits.min_seconds:g} and {limits.max_seconds:g}, got {value}")
    return seconds


def _seed(value: str | None) -> int | None:
    if value is None:
        return None
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,10}", value) or int(value) >= 2**31:
        raise BadCommand(f"--seed must be a whole number from 0 to {2**31 - 1}, got {value!r}")
    return int(value)


def _size(options: dict[str, str], limits: Limits) -> tuple[int, int]:
    if "size" in options and "aspect" in options:
        raise BadCommand("give --size or --aspect, not both")
    if "size" in options:
        match = re.fullmatch(r"([0-9]{2,5})[xX]([0-9]{2,5})", options["size"])
        if not match:
            raise BadCommand(f"--size must look like 640x360, got {options['size']!r}")
        width, height = int(match.group(1)), int(match.group(2))
        if min(width, height) < limits.min_side or width > limits.max_width or height > limits.max_height:
            raise BadCommand(
                f"--size must be between {limits.min_side} and {limits.max_width} pixels a side, got {width}x{height}"
            )
        if width * height > limits.max_pixels:
            raise BadCommand(f"--size {width}x{height} is too large; at most {limits.max_pixels} pixels (1280x720)")
        return width, height
    aspect = options.get("aspect", "landscape").lower()
    if aspect not in ASPECTS:
        raise BadCommand(f"--aspect must be landscape, portrait or square, got {aspect!r}")
    return ASPECTS[aspect]


def clip_id(word: str, what: str = "clip") -> str:
    word = word.strip().lower().lstrip("#")
    if not ID_PATTERN.match(word):
        raise BadCommand(f"`{word[:40]}` is not a {what} id (ids look like `k3f9x2ab`)")
    return word


def _prompt(words: list[str], limits: Limits, example: str) -> str:
    prompt = clean_text(" ".join(words), limits)
    if not prompt:
        raise BadCommand(f"the prompt is empty; try `{example}`")
    return prompt


def cameo_handles(prompt: str) -> tuple[str, ...]:
    """The `@handle`s a prompt names, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in re.finditer(r"(?<![\w@])@([A-Za-z0-9_]{2,32})\b", prompt):
        seen.setdefault(match.group(1).lower(), None)
    return tuple(seen)


def _parse_sora(rest: str, limits: Limits) -> Command:
    parsed = _split(rest, {"seconds", "aspect", "size", "seed"})
    prompt = _prompt(parsed.words, limits, "sora a red ball bounces on a wooden floor")
    width, height = _size(parsed.options, limits)
    return Generate(
        prompt=prompt,
        seconds=_seconds(parsed.options.get("seconds"), limits.default_seconds, limits),
        width=width,
        height=height,
        seed=_seed(parsed.options.get("seed")),
        cameos=cameo_handles(prompt),
    )


def _parse_remix(rest: str, limits: Limits) -> Command:
    parsed = _split(rest, {"seed"})
    if not parsed.words:
        raise BadCommand(f"usage: {USAGE['remix']}")
    source = clip_id(parsed.words[0])
    prompt = _prompt(parsed.words[1:], limits, f"remix {source} make it blue")
    return Remix(source, prompt, _seed(parsed.options.get("seed")))


def _parse_extend(rest: str, limits: Limits) -> Command:
    parsed = _split(rest, {"seconds"})
    if not parsed.words:
        raise BadCommand(f"usage: {USAGE['extend']}")
    seconds = _seconds(parsed.options.get("seconds"), limits.default_extend_seconds, limits)
    return Extend(clip_id(parsed.words[0]), seconds, clean_text(" ".join(parsed.words[1:]), limits))


def _parse_stitch(rest: str, limits: Limits) -> Command:
    parsed = _split(rest, set())
    if not 2 <= len(parsed.words) <= limits.max_stitch:
        raise BadCommand(f"stitch needs 2 to {limits.max_stitch} clips; usage: {USAGE['stitch']}")
    return Stitch(tuple(clip_id(w) for w in parsed.words))


def _one_id(kind: type, usage: str, what: str = "clip") -> Callable[[str, Limits], Command]:
    def parse(rest: str, limits: Limits) -> Command:
        words = _split(rest, set()).words
        if len(words) != 1:
            raise BadCommand(f"usage: {USAGE[usage]}")
        command: Command = kind(clip_id(words[0], what))
        return command

    return parse


def _no_args(command: Command, usage: str) -> Callable[[str, Limits], Command]:
    def parse(rest: str, limits: Limits) -> Command:
        if rest.strip():
            raise BadCommand(f"`{usage}` takes no arguments")
        return command

    return parse


def _parse_help(rest: str, limits: Limits) -> Command:
    topic = rest.strip().lower().lstrip("/")
    return Help(ALIASES.get(topic, topic))


PARSERS: dict[str, Callable[[str, Limits], Command]] = {
    "sora": _parse_sora,
    "remix": _parse_remix,
    "extend": _parse_extend,
    "stitch": _parse_stitch,
    "reroll": _one_id(Reroll, "reroll"),
    "tree": _one_id(Tree, "tree"),
    "delete": _one_id(Delete, "delete"),
    "cancel": _one_id(Cancel, "cancel", "job"),
    "quota": _no_args(Quota(), "quota"),
    "jobs": _no_args(Jobs(), "jobs"),
    "help": _parse_help,
}


def split_command(text: str) -> tuple[str, str]:
    """`"/sora@bot a ball --seed 3"` -> `("sora", "a ball --seed 3")`; the name is lower-cased."""
    stripped = text.strip()
    if not stripped:
        return "", ""
    head, _, rest = stripped.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}"
    name = head.lstrip("/").split("@", 1)[0].lower()
    return ALIASES.get(name, name), rest


def parse(
    text: str, limits: Limits | None = None, parsers: Mapping[str, Callable[[str, Limits], Any]] | None = None
) -> Any:
    """Parse one command; raises BadCommand with a short message naming the problem.

    `parsers` replaces the built-in table (a service adds the commands of its extensions to a copy).
    """
    limits = limits or Limits()
    if len(text) > limits.max_prompt_chars * 4:
        raise BadCommand(f"that message is {len(text)} characters long; the limit is {limits.max_prompt_chars}")
    name, rest = split_command(text)
    if not name:
        raise BadCommand("send a command, for example `sora a red ball bounces on a wooden floor`; `help` lists them")
    parser = (parsers or PARSERS).get(name)
    if parser is None:
        raise BadCommand(f"unknown command `{name[:32]}`; `help` lists the commands")
    return parser(rest, limits)


def help_text(topic: str = "", usage: Mapping[str, str] = USAGE) -> str:
    if topic and topic in usage:
        return f"usage: {usage[topic]}"
    lines = ["sorabox makes short videos with sound. Commands:"]
    lines += [f"  {line}" for line in usage.values()]
    lines.append("Reply to a clip with text to remix it. Clip and job ids look like `k3f9x2ab`.")
    return "\n".join(lines)
