"""Read an agent's reply as a game action: the last tag of the game's grammar outside thinking decides.

Strict (the default) reads only `<…>` tags whose whole content matches the game's grammar (its own
tags and GTBench's formats), only in the answer region (`recon.games.answer.answer_region`: after
`</think>`; nothing when a thinking reply never closes its thinking). Nothing is ever read from prose,
and a malformed tag (`<Bid: 7.5>`) is no move. Lenient parsing, an explicit option, also accepts the
game's aliases as tags (`<check>`) and, when no tag names a move, a bare label in the text (`C2R1`,
`pile:2, take:1`, `roll`), the last mention winning.

A tag that names a move of the game but not a legal one now is `illegal` (unless the game maps it to
the nearest legal move, as GTBench does for auction bids); a reply with no such tag is `unparsable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

from recon.games.answer import answer_region
from recon.games.arena.games import ArenaGame, action_key

_TAG = re.compile(r"<([^<>\n]{1,80})>")
_ARROWS = re.compile(r"\s*(?:->|=>|→)\s*")

ParseStatus = Literal["ok", "illegal", "unparsable"]
ParseMode = Literal["strict", "lenient"]
PARSE_MODES: tuple[str, ...] = ("strict", "lenient")


@dataclass(frozen=True)
class ParsedAction:
    """`action` is set only when `status` is `ok`; `tag` is the text that decided."""

    status: ParseStatus
    action: int | None
    tag: str | None
    reason: str


def _loose_pattern(label: str) -> re.Pattern:
    tokens = re.findall(r"[0-9a-z]+", label.casefold())
    return re.compile(
        r"(?<![0-9a-z])" + r"[^0-9a-z\n]{0,3}".join(map(re.escape, tokens)) + r"(?![0-9a-z]|[.,]\d)", re.IGNORECASE
    )


def _bare_label(region: str, labels: dict[int, str]) -> ParsedAction | None:
    """Lenient fallback: the last (then longest) legal label mentioned without a tag."""
    best: tuple[int, int, int] | None = None
    for action, label in labels.items():
        body = label.strip("<>")
        if body.isdigit():
            continue
        for match in _loose_pattern(_ARROWS.sub("-", body)).finditer(region):
            candidate = (match.end(), match.end() - match.start(), action)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return None if best is None else ParsedAction("ok", best[2], labels[best[2]], "bare label without a tag (lenient)")


def parse_action(
    text: str | None,
    game: ArenaGame,
    state,
    player: int,
    legal: Iterable[int],
    mode: ParseMode = "strict",
    thinking: bool = False,
) -> ParsedAction:
    """Map a reply to a legal action id of `player` in `state` (see the module docstring).
    `thinking`: the model thinks (its `<think>` may be in the prompt), so only text after `</think>` counts."""
    if mode not in PARSE_MODES:
        raise ValueError(f"parse mode must be one of {PARSE_MODES}, got {mode!r}")
    if not text or not text.strip():
        return ParsedAction("unparsable", None, None, "empty reply")
    region = answer_region(text, thinking)
    if region is None:
        return ParsedAction("unparsable", None, None, "no answer: the thinking block never closed")
    if not region.strip():
        return ParsedAction("unparsable", None, None, "nothing outside the thinking block")
    region = _ARROWS.sub("-", region)
    labels = {int(a): game.label(state, player, a) for a in legal}
    by_key = {action_key(label): a for a, label in labels.items()}
    aliases = {action_key(k): v for k, v in game.aliases.items()} if mode == "lenient" else {}
    for content in reversed(_TAG.findall(region)):
        named = game.read_tag(content, state, player) or aliases.get(action_key(content))
        if named is None:
            continue
        tag = f"<{content}>"
        action = by_key.get(action_key(named))
        if action is not None:
            return ParsedAction("ok", action, tag, "tag")
        if game.nearest_legal is not None:
            snapped = game.nearest_legal(named, {label: a for a, label in labels.items()})
            if snapped is not None:
                return ParsedAction("ok", snapped, tag, f"{named} is not legal: nearest legal move {labels[snapped]}")
        return ParsedAction("illegal", None, tag, f"{named} is not a legal move now")
    if mode == "lenient":
        found = _bare_label(region, labels)
        if found is not None:
            return found
    return ParsedAction("unparsable", None, None, "no action tag found")
