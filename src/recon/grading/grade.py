"""Type-aware grading of one completion against its gold answer.

The single source of truth for both the GRPO reward and the evaluator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence

from recon.grading.extract import ThinkMode, clean_box_content, extract_answer, parse_option_number

Status = Literal["exact", "option_only", "wrong", "format_violation", "no_answer"]

# The paper's hierarchical reward (GRPO_Training.ipynb): exact +5, option number only +2,
# wrong -3, format violation -4, no parsable answer -5.
HIERARCHICAL_REWARD: dict[str, float] = {
    "exact": 5.0,
    "option_only": 2.0,
    "wrong": -3.0,
    "format_violation": -4.0,
    "no_answer": -5.0,
}


@dataclass(frozen=True)
class Grade:
    """The verdict on one completion. `correct` is what accuracy counts."""

    status: Status
    correct: bool
    predicted: str | None
    boxed: bool
    text_match: bool | None
    reason: str

    @property
    def reward(self) -> float:
        return HIERARCHICAL_REWARD[self.status]

    @property
    def well_formed(self) -> bool:
        """Well formed with a parsable answer (neither a format violation nor missing)."""
        return self.status not in ("format_violation", "no_answer")


def normalize_text(text: str) -> str:
    """Case-, space- and LaTeX-insensitive form used to compare answer texts."""
    s = clean_box_content(text).casefold()
    s = re.sub(r"\s+", " ", s)
    return s.strip(" .;:!")


def _option_text(answer: str) -> str:
    """The text after `Option N:` (or the whole answer when there is no prefix)."""
    return re.sub(r"^\s*option\s*\d+\s*[:.)\-]?\s*", "", answer, flags=re.IGNORECASE)


def parse_yes_no(answer: str) -> str | None:
    words = set(re.findall(r"[a-z]+", answer.casefold()))
    found = words & {"yes", "no"}
    return found.pop() if len(found) == 1 else None


def parse_ordering(answer: str) -> tuple[str, ...] | None:
    """`B, C, D, A` / `B,C,D,A` / `B -> C -> D -> A` → ('B', 'C', 'D', 'A'); None if not an ordering."""
    s = clean_box_content(answer).upper()
    letters = re.findall(r"\b[A-Z]\b", s)
    rest = re.sub(r"\b[A-Z]\b|[\s,;>\-→]", "", s)
    if not letters or rest or len(set(letters)) != len(letters):
        return None
    return tuple(letters)


_PAIR = re.compile(r"\[\s*(-?\d+)\s*,\s*(-?\d+)\s*\]")


def parse_pairs(answer: str) -> frozenset[tuple[int, int]] | None:
    """Equilibrium cells as a set: `[[0, 1], [2, 2]]`, a single `[i, j]`, or `[]` (none)."""
    s = clean_box_content(answer).replace("(", "[").replace(")", "]")
    if re.fullmatch(r"\[\s*\]|\[\s*\[\s*\]\s*\]", s):
        return frozenset()
    pairs = _PAIR.findall(s)
    if not pairs:
        return None
    skeleton = _PAIR.sub("P", s).replace(" ", "")
    if not re.fullmatch(r"P|\[P(,P)*\]", skeleton):
        return None
    return frozenset((int(a), int(b)) for a, b in pairs)


def _match_option(predicted: str, gold: str, choices: Sequence[str] | None) -> tuple[bool, bool | None, bool]:
    """(option number matches, text matches, matched by text alone)."""
    gold_number = parse_option_number(gold)
    gold_text = normalize_text(_option_text(gold))
    number = parse_option_number(predicted)
    text = normalize_text(_option_text(predicted))
    if number is None and text and choices:
        hits = [i + 1 for i, c in enumerate(choices) if normalize_text(_option_text(c)) == text]
        if len(hits) == 1:
            return hits[0] == gold_number, text == gold_text, True
    if number is None:
        return False, None, False
    has_text = bool(text) and normalize_text(predicted) != f"option {number}"
    return number == gold_number, (text == gold_text) if has_text else None, False


def grade(
    completion: str,
    gold: str,
    answer_type: str,
    choices: Sequence[str] | None = None,
    think: ThinkMode = "required",
) -> Grade:
    """Grade a completion. Option answers are compared by number (text match reported);
    yes/no case-insensitively; orderings after normalisation; equilibrium pairs as sets."""
    ex = extract_answer(completion, think=think)
    if not ex.format_ok:
        return Grade("format_violation", False, ex.answer, ex.boxed, None, ex.reason)
    if ex.answer is None:
        return Grade("no_answer", False, None, False, None, ex.reason)
    pred = ex.answer
    if answer_type == "option":
        number_ok, text_ok, by_text = _match_option(pred, gold, choices)
        if not number_ok:
            return Grade("wrong", False, pred, ex.boxed, text_ok, "option differs or is ambiguous")
        exact = ex.boxed and text_ok is True and not by_text
        status: Status = "exact" if exact else "option_only"
        return Grade(status, True, pred, ex.boxed, text_ok, "matched by text" if by_text else ex.reason)
    if answer_type == "yes_no":
        ok = parse_yes_no(pred) is not None and parse_yes_no(pred) == parse_yes_no(gold)
    elif answer_type == "ordering":
        ok = parse_ordering(pred) is not None and parse_ordering(pred) == parse_ordering(gold)
    elif answer_type == "pairs":
        ok = parse_pairs(pred) is not None and parse_pairs(pred) == parse_pairs(gold)
    else:
        raise ValueError(f"unknown answer_type {answer_type!r}")
    return Grade("exact" if ok else "wrong", ok, pred, ex.boxed, None, ex.reason)


def grade_problem(completion: str, problem, think: ThinkMode = "required") -> Grade:
    """`grade` for a `Problem`."""
    return grade(completion, problem.gold, problem.answer_type, problem.choices, think=think)
