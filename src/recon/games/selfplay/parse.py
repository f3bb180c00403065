"""Reading a player's reply: the last `<s>…</s>` outside the thinking block."""

from __future__ import annotations

import re

from recon.grading.extract import THINK_CLOSE, THINK_OPEN

HALT = "halt negotiation"
_TAG = re.compile(r"<s>(.*?)</s>", re.DOTALL | re.IGNORECASE)
_CHOICE = re.compile(r"^choice[\s_-]*(\d+)$", re.IGNORECASE)


def answer_region(text: str) -> str | None:
    """The part of a reply after the thinking block; None when thinking never closes."""
    if THINK_CLOSE in text:
        return text[text.rindex(THINK_CLOSE) + len(THINK_CLOSE) :]
    if THINK_OPEN in text:
        return None
    return text


def last_tag(text: str) -> str | None:
    """Content of the last `<s>…</s>` outside thinking, stripped; None when there is none."""
    region = answer_region(text or "")
    if region is None:
        return None
    tags = _TAG.findall(region)
    return tags[-1].strip() if tags else None


def parse_choice(text: str, n_choices: int) -> str | None:
    """The choice label (`choice_k`, 1 <= k <= n_choices) in the reply's last `<s>` tag.
    Accepts `choice_1`, `choice1`, `choice 1`, `Choice-1`, quotes, backticks and a trailing full stop;
    anything else (no tag, two choices, out of range) is None."""
    content = last_tag(text)
    if content is None:
        return None
    content = content.strip(" \t\n'\"`*.")
    match = _CHOICE.match(content)
    if not match:
        return None
    k = int(match.group(1))
    return f"choice_{k}" if 1 <= k <= n_choices else None


def parse_message(text: str) -> str | None:
    """A negotiation message: the last `<s>` tag's content, or None when empty or missing."""
    content = last_tag(text)
    return content or None


def is_halt(message: str) -> bool:
    """Did the speaker end the negotiation (`<s>halt negotiation</s>`)?"""
    return message.strip(" .!'\"").lower() == HALT
