"""Where the final answer is: the region after the single `</think>` (the paper's rule), the boxed
answers in it, and — when nothing is boxed — the final statement that states an answer.

Everything here is type-agnostic and linear in the completion's length; what counts as an answer of a
given type is decided by that type's normaliser (`recon.grading.normalise`)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np

from recon.grading.text import clean_text

ThinkMode = Literal["required", "optional", "none"]
THINK_MODES: tuple[str, ...] = ("required", "optional", "none")

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ESCAPED = re.compile(r"\\[\\{}]")
# Words that introduce the final answer in prose ("the answer is", "Final answer:", "Therefore").
_CUE = re.compile(  # (the lookahead on first letters lets the regex engine skip other positions fast)
    r"(?=[aAtThHcCiIpPsS])\b(?:(?:final\s+)?answer|therefore|thus|hence|conclusion|conclude|(?:i\s+)?(?:choose|pick|select)"
    r"|correct\s+(?:option|choice|order(?:ing)?|sequence))\b(?:\s+(?:is|would\s+be|will\s+be|should\s+be))?\s*[:=]?",
    re.I,
)
_SENTENCE_ENDS = (". ", "! ", "? ")
MAX_STATEMENTS = 8  # how many candidate statements the unboxed fallback reads, from the end


@dataclass(frozen=True)
class Extraction:
    """The answer text of a completion, before any type is applied. `answer` is None when nothing is
    boxed; `format_ok` is False for a structure violation (see `answer_region`) or several different
    boxed texts."""

    answer: str | None
    boxed: bool
    format_ok: bool
    reason: str


def answer_region(text: str, think: ThinkMode = "required") -> tuple[str | None, str]:
    """The text the answer is read from, or (None, why) for a structure violation.

    - `required`: exactly one `</think>` and no box before it; the region is what follows it.
    - `optional`: as `required` when a `</think>` is present; with none, the whole text (an unclosed
      `<think>` is a violation, so an answer only inside thinking earns nothing).
    - `none`: the whole text, for models that do not think.
    """
    if think not in THINK_MODES:
        raise ValueError(f"think mode must be one of {THINK_MODES}, got {think!r}")
    if not isinstance(text, str):
        return None, "completion is not text"
    if think == "none":
        return text, "whole text"
    closes = text.count(THINK_CLOSE)
    if closes > 1:
        return None, f"{closes} </think> tags"
    if closes == 0:
        if think == "required" or THINK_OPEN in text:
            return None, "no </think>: answer only inside thinking"
        return text, "whole text"
    cut = text.index(THINK_CLOSE)
    if find_boxed(text[:cut]):
        return None, "a \\boxed{} before </think>"
    return text[cut + len(THINK_CLOSE) :], "after </think>"


def find_boxed(text: str) -> list[tuple[int, str]]:
    """Outermost complete `\\boxed{…}` (or `\\fbox{…}`) contents with their start offsets, in order, braces
    balanced (`\\{`, `\\}` are escaped literals). An unclosed box is ignored; a box nested in a complete box
    is part of that box's content.

    Linear and vectorised: the brace depth after every character is one cumulative sum; a box whose `{`
    leaves depth d closes at the first later `}` that leaves depth d − 1, found for all boxes at once by
    binary search over the closing braces sorted by (depth, position)."""
    opens = [(m.start(), m.end()) for m in _BOX_OPEN.finditer(text)]
    if not opens:
        return []
    masked = _ESCAPED.sub("\0\0", text)  # same length, escaped braces and backslashes neutral
    codes = np.frombuffer(masked.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    depth = np.cumsum((codes == 123).astype(np.int64) - (codes == 125))
    closes = np.flatnonzero(codes == 125)
    if not len(closes):
        return []
    low, stride = int(depth.min()), len(text) + 1
    keys = np.sort((depth[closes] - low) * stride + closes)
    brace = np.array([end - 1 for _, end in opens])
    level = depth[brace] - low  # depth after each box's `{`, shifted to start at 0
    found = np.searchsorted(keys, (level - 1) * stride + brace, side="right")
    key = keys[np.minimum(found, len(keys) - 1)]
    closed = (found < len(keys)) & (key < level * stride)
    boxes, end = [], -1
    for (start, content_start), ok, close in zip(opens, closed.tolist(), (key % stride).tolist()):
        if ok and start > end:
            boxes.append((start, text[content_start:close]))
            end = close
    return boxes


def boxed_answers(boxes: list[tuple[int, str]]) -> list[str]:
    """The cleaned, non-empty contents of `find_boxed`'s boxes (an empty box is no answer)."""
    return [answer for answer in (clean_text(content) for _, content in boxes) if answer]


def extract_answer(text: str, think: ThinkMode = "required") -> Extraction:
    """The first boxed answer's cleaned text, type-agnostic (for reading a teacher's answer as gold);
    several different boxed texts are a violation. Grading goes through `recon.grading.grade`."""
    region, reason = answer_region(text, think)
    if region is None:
        return Extraction(None, False, False, reason)
    answers = boxed_answers(find_boxed(region))
    if not answers:
        return Extraction(None, False, True, "no boxed answer")
    if len({a.casefold() for a in answers}) > 1:
        return Extraction(None, True, False, "several different boxed answers")
    return Extraction(answers[0], True, True, "boxed")


def _statement_bounds(text: str, at: int) -> tuple[int, int]:
    """The sentence (within its line) around offset `at`."""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line_end = len(text) if line_end < 0 else line_end
    start = max([line_start] + [i + 2 for i in (text.rfind(e, line_start, at) for e in _SENTENCE_ENDS) if i >= 0])
    end = min([line_end] + [i + 1 for i in (text.find(e, at, line_end) for e in _SENTENCE_ENDS) if i >= 0])
    return start, end


def _last_matches(pattern: re.Pattern[str], text: str, count: int) -> list[re.Match[str]]:
    """The last `count` matches of `pattern` in `text`, last first: the final 4 KB is searched first, and
    the whole text only when that holds fewer (so dense matches cost no more than 4 KB)."""
    for start in (max(0, len(text) - 4096), 0):
        last = deque(pattern.finditer(text, start), maxlen=count)
        if len(last) == count or start == 0:
            return list(reversed(last))
    return []


def final_statements(region: str, mentions: re.Pattern[str]) -> Iterator[str]:
    """Candidate answer statements of an unboxed completion, best first: what follows each of the last
    answer cues ("the answer is", "Final answer:", "Therefore"), newest first; then the last sentences that
    mention an answer (`mentions`, the answer type's pattern), newest first. At most `MAX_STATEMENTS` of
    each, so the cost stays linear."""
    text = clean_text(region, keep_newlines=True)
    # Matches come last first; one inside the statement just read adds nothing (only the last cue of a
    # statement is read: what earlier cues of it introduce, the mentions below still reach).
    statement_start = len(text) + 1
    for cue in _last_matches(_CUE, text, MAX_STATEMENTS):
        if cue.end() >= statement_start:
            continue
        statement_start, end = _statement_bounds(text, cue.end())
        span = text[cue.end() : end]
        if not span.strip(" .,:;!?-") and end < len(text):  # a cue on its own line: the answer follows
            span = text[end + 1 : _statement_bounds(text, end + 1)[1]]
        yield span
    statement_start, read = len(text) + 1, 0
    for mention in _last_matches(mentions, text, 8 * MAX_STATEMENTS):
        if mention.start() >= statement_start:
            continue
        statement_start, end = _statement_bounds(text, mention.start())
        yield text[statement_start:end]
        read += 1
        if read == MAX_STATEMENTS:
            return
