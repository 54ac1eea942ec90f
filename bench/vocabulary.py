"""How much of what chat users type the procedural world understands: the share of content words it uses.

Usage: .venv/bin/python bench/vocabulary.py [--prompts docs/prompts.txt] [--top 30] [--json]

A content word is any word of a prompt that is not a stop word (articles, pronouns, prepositions, auxiliaries,
numbers). It is used when the prompt parser places it (object, action, fixture, colour, material, setting...) or
maps it to a stand-in shape the caption names; it is missing when the parser reports it in `unused_words`.
Missing words are split into likely verbs (ending -s/-ing/-ed after a noun) and likely nouns by a plain
heuristic, not a tagger: good enough to rank what to add next.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from model.procedural.figures.reading import read_prompt
from model.procedural.prompt import parse_prompt


def _split(text: str) -> list[str]:
    return text.split()


STOP_WORDS = frozenset(
    _split(
        "a an the and or but of to in into on onto at by for from with without as than then so that this "
        "these those it its it's he she they them his her their him we us our you your i me my is are was "
        "were be been being has have had do does did not no very just up down off over out away back there "
        "here some any each every all both one two three four five six seven eight nine ten after before "
        "while when where which who what through across along around past under near next against toward "
        "towards s "
    )
)  # fmt: skip
WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def load_prompts(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def content_words(prompt: str) -> list[str]:
    words = [w.lower() for w in WORD.findall(prompt)]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return [w for w in words if w not in STOP_WORDS]


@dataclass
class Coverage:
    prompts: int
    content_words: int
    used: int
    share_used: float
    prompts_fully_understood: int
    missing: list[tuple[str, int]]  # most common first
    verb_like: list[str]
    stand_ins: list[tuple[str, int]]


def measure(prompts: list[str]) -> Coverage:
    total = used = 0
    missing: Counter[str] = Counter()
    verb_like: Counter[str] = Counter()
    stand_ins: Counter[str] = Counter()
    fully = 0
    for prompt in prompts:
        parsed = parse_prompt(prompt)
        parsed.notes.extend(read_prompt(prompt, parsed).notes)  # as the generator reads it (figures/reading.py)
        unused = set(parsed.unused_words)
        words = content_words(prompt)
        total += len(words)
        gaps = [w for w in words if w in unused]
        used += len(words) - len(gaps)
        fully += not gaps
        for note in parsed.notes:
            m = re.match(r"no model for '([^']+)'", note)
            if m:
                stand_ins[m.group(1)] += 1
        for k, w in enumerate(words):
            if w in unused:
                missing[w] += 1
                if k > 0 and (w.endswith(("s", "ing", "ed")) and not w.endswith("ss")):
                    verb_like[w] += 1
    return Coverage(len(prompts), total, used, round(used / max(total, 1), 4), fully, missing.most_common(),
                    sorted(verb_like), stand_ins.most_common())  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "prompts.txt")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(load_prompts(args.prompts))
    if args.json:
        print(json.dumps(asdict(r)))
        return
    verbs = set(r.verb_like)
    print(f"prompts: {r.prompts}, content words: {r.content_words}, used: {r.used} ({100 * r.share_used:.1f} %), "
          f"prompts with every word used: {r.prompts_fully_understood}")  # fmt: skip
    nouns = [f"{w} ({n})" for w, n in r.missing if w not in verbs][: args.top]
    verb_list = [f"{w} ({n})" for w, n in r.missing if w in verbs][: args.top]
    print("most common missing nouns and others:", ", ".join(nouns))
    print("most common missing verbs (by ending):", ", ".join(verb_list))
    if r.stand_ins:
        print("shown as stand-in shapes:", ", ".join(f"{w} ({n})" for w, n in r.stand_ins[: args.top]))


if __name__ == "__main__":
    main()
