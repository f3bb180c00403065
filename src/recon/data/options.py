"""Reorder the options of a multiple-choice problem and remap its gold, keeping the prompt, the
`choices` and the gold consistent. Shared by `recon data build`, the evaluator's `--permutations`
and GRPO's per-epoch reshuffle."""

from __future__ import annotations

import copy
import random
import re
from typing import Sequence

from recon.data.problem import Problem

_OPTION_START = re.compile(r"^(\s*)Option\s+(\d+)(\s*:\s?)(.*)$")
_PREFIX = re.compile(r"^\s*Option\s*\d+\s*:\s*")


def _option_chunks(tail: str) -> tuple[list[tuple[str, str, str]], str]:
    """Split the text after `Options:` into per-option chunks (indent, separator, text incl. wrapped
    lines) and the trailing whitespace; raises if anything other than options follows."""
    body = tail.rstrip()
    trailing = tail[len(body):]
    chunks: list[list[str]] = []
    lead = ""
    for line in body.split("\n"):
        match = _OPTION_START.match(line)
        if match:
            if int(match.group(2)) != len(chunks) + 1:
                raise ValueError(f"options are not numbered 1..n (saw Option {match.group(2)})")
            chunks.append([match.group(1), match.group(3), match.group(4)])
        elif chunks:
            chunks[-1][2] += "\n" + line
        else:
            lead += line + "\n"
    if lead.strip():
        raise ValueError("unexpected text between 'Options:' and the first option")
    return [tuple(c) for c in chunks], trailing  # type: ignore[misc]


# Worked solutions and teacher traces that name options by number, rewritten with the options.
REMAPPED_META_TEXTS = ("solution", "response")
FIND = "find: "  # the first line of a local trace's option lookup (`option_lookup`)


def option_lookup(options: Sequence[str], gold: int) -> list[str]:
    """The last steps of a local trace: the answer's text, then the options in prompt order, each copied
    and marked `no` until the one equal to it (`yes`), then the answer line the box copies. A 135M model
    computes the value but picks the wrong option number by itself (bertrand price, issue 22: the price right
    on 100 of 100 fresh items, the option on 38); a scan turns the lookup into copies and comparisons."""
    return [f"{FIND}{options[gold]}",
            *(f"Option {k + 1}: {text} → {'yes' if k == gold else 'no'}" for k, text in enumerate(options[: gold + 1])),
            f"Answer: Option {gold + 1}: {options[gold]}"]  # fmt: skip


def rescan_options(text: str, options: Sequence[str], gold: int) -> str:
    """`text` with its option lookup (`option_lookup`, from the `find:` line to the `Answer:` line) redone
    for `options` in their current order; texts without one are returned unchanged."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(FIND)), None)
    if start is None:
        return text
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Answer: "))
    return "\n".join([*lines[:start], *option_lookup(options, gold), *lines[end + 1:]])
_MENTION = re.compile(r"\b(Option\s*)(\d+)\b", re.I)


def remap_option_mentions(text: str, order: Sequence[int]) -> str:
    """Renumber every `Option N` in a text after the permutation `order` (new i ← old order[i])."""
    new_number = {old + 1: new + 1 for new, old in enumerate(order)}

    def sub(match: re.Match[str]) -> str:
        old = int(match.group(2))
        return f"{match.group(1)}{new_number.get(old, old)}"

    return _MENTION.sub(sub, text)


def permute_options(problem: Problem, order: Sequence[int]) -> Problem:
    """A copy whose option i (0-based) is the original option `order[i]`; the gold, `choices` and the
    `Options:` list of the last message that has one are rewritten; `meta["option_order"]` records the
    composed permutation (new position → position in the first-seen problem)."""
    if problem.answer_type != "option" or not problem.choices:
        raise ValueError(f"problem {problem.id!r} has no options to permute")
    n = len(problem.choices)
    if sorted(order) != list(range(n)):
        raise ValueError(f"problem {problem.id!r}: {list(order)} is not a permutation of {n} options")
    gold = problem.gold_option
    if gold is None or not 1 <= gold <= n:
        raise ValueError(f"problem {problem.id!r}: gold {problem.gold!r} names no option 1..{n}")
    new = copy.deepcopy(problem)
    # keep each choice's own "Option N:" prefix style, renumbered
    new.choices = [
        _PREFIX.sub(f"Option {k}: ", c, count=1) if _PREFIX.match(c) else c
        for k, c in enumerate((problem.choices[i] for i in order), 1)
    ]
    new_gold = order.index(gold - 1) + 1
    new.gold = f"Option {new_gold}:" + problem.gold.split(":", 1)[1] if ":" in problem.gold else f"Option {new_gold}"
    rewritten = False
    for message in reversed(new.messages):
        content = message["content"]
        head, sep, tail = content.rpartition("Options:")
        if not sep:
            continue
        chunks, trailing = _option_chunks(tail)
        if len(chunks) != n:
            raise ValueError(f"problem {problem.id!r}: prompt lists {len(chunks)} options, choices has {n}")
        newline = tail[: len(tail) - len(tail.lstrip("\n"))]
        lines = [f"{chunks[i][0]}Option {k}{chunks[i][1]}{chunks[i][2]}" for k, i in enumerate(order, 1)]
        message["content"] = head + sep + newline + "\n".join(lines) + trailing
        rewritten = True
        break
    if not rewritten:
        raise ValueError(f"problem {problem.id!r}: no 'Options:' list in its messages")
    for key in REMAPPED_META_TEXTS:
        if isinstance(new.meta.get(key), str):
            new.meta[key] = rescan_options(remap_option_mentions(new.meta[key], order),
                                           [_PREFIX.sub("", c, count=1) for c in new.choices], new_gold - 1)
    previous = problem.meta.get("option_order", list(range(n)))
    new.meta["option_order"] = [previous[i] for i in order]
    return new


def shuffle_options(problem: Problem, rng: random.Random, gold_position: int | None = None) -> Problem:
    """A copy with the options in a random order (gold remapped, prompt rewritten). With
    `gold_position` (1-based), the gold lands exactly there and the rest are shuffled.
    Problems without options are returned unchanged."""
    if problem.answer_type != "option" or not problem.choices:
        return problem
    n = len(problem.choices)
    order = list(range(n))
    rng.shuffle(order)
    if gold_position is not None:
        if not 1 <= gold_position <= n:
            raise ValueError(f"problem {problem.id!r}: gold position {gold_position} outside 1..{n}")
        gold = (problem.gold_option or 0) - 1
        order.remove(gold)
        order.insert(gold_position - 1, gold)
    return permute_options(problem, order)
