"""Reading a player's reply: the first `<s>…</s>` outside the thinking block, as Hua et al. parse it
(`which="last"` takes the last one instead)."""

from __future__ import annotations

import re
from typing import Literal

from recon.games.answer import answer_region

HALT = "halt negotiation"
_TAG = re.compile(r"<s>(.*?)</s>", re.DOTALL | re.IGNORECASE)
_CHOICE = re.compile(r"^choice[\s_-]*(\d{1,6})$", re.IGNORECASE)  # bounded: int() never sees a huge digit run

TagChoice = Literal["first", "last"]
TAG_CHOICES: tuple[str, ...] = ("first", "last")


def pick_tag(text: str | None, which: TagChoice = "first", thinking: bool = False) -> str | None:
    """Content of the first (Hua et al.) or last `<s>…</s>` outside thinking, stripped; None when there
    is none. `thinking`: the model thinks (its `<think>` may be in the prompt), so a reply without
    `</think>` has no answer."""
    if which not in TAG_CHOICES:
        raise ValueError(f"which must be one of {TAG_CHOICES}, got {which!r}")
    region = answer_region(text, thinking)
    if region is None:
        return None
    tags = _TAG.findall(region)
    if not tags:
        return None
    return (tags[0] if which == "first" else tags[-1]).strip()


def parse_choice(text: str, n_choices: int, which: TagChoice = "first", thinking: bool = False) -> str | None:
    """The choice label (`choice_k`, 1 <= k <= n_choices) in the reply's `<s>` tag (see `pick_tag`).
    Accepts `choice_1`, `choice1`, `choice 1`, `Choice-1`, quotes, backticks and a trailing full stop;
    anything else (no tag, two choices, out of range) is None."""
    content = pick_tag(text, which, thinking)
    if content is None:
        return None
    content = content.strip(" \t\n'\"`*.")
    match = _CHOICE.match(content)
    if not match:
        return None
    k = int(match.group(1))
    return f"choice_{k}" if 1 <= k <= n_choices else None


def parse_message(text: str, which: TagChoice = "first", thinking: bool = False) -> str | None:
    """A negotiation message: the `<s>` tag's content (see `pick_tag`), or None when empty or missing."""
    return pick_tag(text, which, thinking) or None


def is_halt(message: str) -> bool:
    """Did the speaker end the negotiation (`<s>halt negotiation</s>`)?"""
    return message.strip(" .!'\"").lower() == HALT
