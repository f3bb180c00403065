"""Final-answer extraction: the first `\\boxed{…}` after the single `</think>` (the paper's rule),
with balanced braces, falling back to the first `Option N` after `</think>`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ThinkMode = Literal["required", "optional", "none"]
THINK_MODES: tuple[str, ...] = ("required", "optional", "none")

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_BOXED = re.compile(r"\\boxed\s*\{")
_OPTION = re.compile(r"\boption\s*(\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Extraction:
    """What a completion answered. `answer` is None when nothing could be read.

    `format_ok` is False for a structure violation (no single `</think>` when thinking is
    required, a box before `</think>`, or several different boxed answers).
    """

    answer: str | None
    boxed: bool
    format_ok: bool
    reason: str


def find_boxed(text: str) -> list[tuple[int, str]]:
    """All `\\boxed{…}` contents with their start offsets, braces balanced (`\\{` and `\\}` are
    escaped literals). An unclosed box is ignored."""
    found = []
    for match in _BOXED.finditer(text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            ch = text[i]
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
                i += 2
                continue
            depth += ch == "{"
            depth -= ch == "}"
            i += 1
        if depth == 0:
            found.append((match.start(), text[match.end() : i - 1]))
    return found


def parse_option_number(text: str) -> int | None:
    """The option number named in `text` (`Option 3: …` → 3); None when there is none or
    when several different numbers are named (`Option 1 or Option 2`)."""
    numbers = {int(n) for n in _OPTION.findall(text)}
    return numbers.pop() if len(numbers) == 1 else None


def clean_box_content(content: str) -> str:
    """Strip LaTeX wrappers a model may put inside the box (`\\text{…}`, `$…$`, escaped braces)."""
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{", "", content)
    s = s.replace("\\{", "").replace("\\}", "")
    s = re.sub(r"[{}$]", "", s)
    return " ".join(s.split())


def extract_answer(text: str, think: ThinkMode = "required") -> Extraction:
    """Read the final answer of a completion.

    - `required`: exactly one `</think>`; no box before it; the answer region is what follows.
    - `optional`: as `required` when a `</think>` is present; with none, the whole text (an
      unclosed `<think>` is a violation, so an answer only inside thinking earns nothing).
    - `none`: the whole text, for models that do not think.
    """
    if think not in THINK_MODES:
        raise ValueError(f"think mode must be one of {THINK_MODES}, got {think!r}")
    if not isinstance(text, str):
        return Extraction(None, False, False, "completion is not text")
    closes = text.count(THINK_CLOSE)
    region = text
    if think != "none":
        if closes > 1:
            return Extraction(None, False, False, f"{closes} </think> tags")
        if closes == 0 and (think == "required" or THINK_OPEN in text):
            return Extraction(None, False, False, "no </think>: answer only inside thinking")
        if closes == 1:
            cut = text.index(THINK_CLOSE)
            if find_boxed(text[:cut]):
                return Extraction(None, False, False, "a \\boxed{} before </think>")
            region = text[cut + len(THINK_CLOSE) :]
    boxes = [clean_box_content(c) for _, c in find_boxed(region)]
    if boxes:
        if len({b.casefold() for b in boxes}) > 1:
            return Extraction(None, True, False, "several different boxed answers")
        return Extraction(boxes[0], True, True, "boxed")
    option = _OPTION.search(region)
    if option:
        return Extraction(f"Option {option.group(1)}", False, True, "unboxed Option N")
    return Extraction(None, False, True, "no parsable answer")
