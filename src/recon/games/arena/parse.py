"""Read an agent's reply as a game action: the last action tag outside the thinking block decides.

A tag that names a move of the game but not a legal one now is `illegal`; a reply with no tag that
names a move is `unparsable`. Without any such tag, a bare legal label (`C2R1`, `pile:2, take:1`,
`roll`) mentioned outside thinking is accepted, the last mention winning, unless parsing is strict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

from recon.games.arena.games import action_key
from recon.grading.extract import THINK_CLOSE, THINK_OPEN

_TAG = re.compile(r"<([^<>\n]{1,80})>")
_ARROWS = re.compile(r"\s*(?:->|=>|→)\s*")

ParseStatus = Literal["ok", "illegal", "unparsable"]


@dataclass(frozen=True)
class ParsedAction:
    """`action` is set only when `status` is `ok`; `tag` is the text that decided."""

    status: ParseStatus
    action: int | None
    tag: str | None
    reason: str


def strip_thinking(text: str) -> str:
    """The answer region: after the last `</think>`, and before an unclosed `<think>`."""
    if THINK_CLOSE in text:
        text = text[text.rfind(THINK_CLOSE) + len(THINK_CLOSE) :]
    if THINK_OPEN in text:
        text = text[: text.find(THINK_OPEN)]
    return text


def _loose_pattern(label: str) -> re.Pattern:
    tokens = re.findall(r"[0-9a-z]+", label.casefold())
    return re.compile(r"(?<![0-9a-z])" + r"[^0-9a-z\n]{0,3}".join(map(re.escape, tokens)) + r"(?![0-9a-z])", re.IGNORECASE)


def parse_action(
    text: str | None,
    key_table: dict[str, list[int]],
    legal: Iterable[int],
    labels: dict[int, str] | None = None,
    strict: bool = False,
) -> ParsedAction:
    """Map a reply to a legal action id.

    `key_table` maps tag keys (`recon.games.arena.games.action_key`) to action ids for every move of
    the game (aliases included); `labels` are the legal actions' canonical tags, used for the bare
    fallback, which `strict=True` turns off (tags only).
    """
    legal = set(legal)
    if not text or not text.strip():
        return ParsedAction("unparsable", None, None, "empty reply")
    region = _ARROWS.sub("-", strip_thinking(text))
    if not region.strip():
        return ParsedAction("unparsable", None, None, "nothing outside the thinking block")
    for tag in reversed(_TAG.findall(region)):
        ids = key_table.get(action_key(tag))
        if ids is None:
            continue
        playable = [a for a in ids if a in legal]
        if playable:
            return ParsedAction("ok", playable[0], f"<{tag}>", "tag")
        return ParsedAction("illegal", None, f"<{tag}>", "the tagged move is not legal now")
    best: tuple[int, int, int] | None = None
    for action, label in ({} if strict else labels or {}).items():
        body = label.strip("<>")
        if body.isdigit():
            continue
        for match in _loose_pattern(_ARROWS.sub("-", body)).finditer(region):
            candidate = (match.end(), match.end() - match.start(), action)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is not None:
        return ParsedAction("ok", best[2], labels[best[2]], "bare label without a tag")
    return ParsedAction("unparsable", None, None, "no action tag found")
