"""Grading of one completion against its gold answer, in one pass: extract → normalise for the answer
type → compare → reward. The single source of truth for the GRPO reward and the evaluator; the rules are
written down in docs/grading.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from recon.grading.extract import ThinkMode, answer_region, boxed_answers, final_statements, find_boxed
from recon.grading.normalise import Normaliser, Parsed, canonical_answer, get_normaliser
from recon.grading.text import clean_text, comparable

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
PREDICTED_MAX_CHARS = 300  # what a grade keeps of an answer it could not read
MAX_BOXES = 16  # more boxed answers than this after </think> is degenerate repetition: a format violation
MAX_ANSWER_CHARS = 2000  # a box or final statement longer than this (cleaned) is not read as an answer


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


def _read(
    region: str, boxes: list[str], normaliser: Normaliser, choices: Sequence[str] | None, gold: str
) -> tuple[Parsed | None, str | None, bool, str]:
    """(what the answer says, its text, boxed, reason): the first box after `</think>` when every box says
    the same; otherwise the final statement that states an answer."""
    def parse(span: str) -> Parsed | None:
        return normaliser.parse(span, choices, gold) if len(span) <= MAX_ANSWER_CHARS else None

    if boxes:
        parsed = [parse(box) for box in boxes]
        keys = {(p.kind, p.value) if p else ("unread", comparable(box)) for p, box in zip(parsed, boxes)}
        if len(keys) > 1:
            return Parsed("hedge", tuple(boxes)), boxes[0], True, "several different boxed answers"
        return parsed[0], boxes[0], True, "boxed" if len(boxes) == 1 else f"{len(boxes)} identical boxed answers"
    for statement in final_statements(region, normaliser.mentions):
        parsed = parse(statement)
        if parsed is not None:
            return parsed, statement.strip(), False, "unboxed final statement"
    return None, None, False, "no parsable answer"


def grade(
    completion: str,
    gold: str,
    answer_type: str,
    choices: Sequence[str] | None = None,
    think: ThinkMode = "required",
) -> Grade:
    """Grade a completion (never raises on any completion text). Option answers are compared by number
    (their text decides exact vs option-only); yes/no, orderings and equilibrium cells by canonical value.
    Hedges never earn credit (−4), negations are wrong (−3); an unboxed correct answer earns +2."""
    normaliser = get_normaliser(answer_type)
    region, reason = answer_region(completion, think)
    if region is None:
        return Grade("format_violation", False, None, False, None, reason)
    choices = list(choices) if choices else None
    found = find_boxed(region)
    if len(found) > MAX_BOXES:
        return Grade("format_violation", False, None, True, None, f"{len(found)} boxed answers (at most {MAX_BOXES})")
    parsed, text, boxed, reason = _read(region, boxed_answers(found), normaliser, choices, gold)
    shown = text[:PREDICTED_MAX_CHARS] if text else None
    if parsed is None:
        if boxed:
            return Grade("wrong", False, shown, True, None, "boxed answer is not a " + answer_type.replace("_", "/"))
        return Grade("no_answer", False, None, False, None, reason)
    if parsed.kind == "hedge":
        return Grade("format_violation", False, shown, boxed, None, f"hedge ({reason})")
    if parsed.kind == "negation":
        return Grade("wrong", False, shown, boxed, None, "negation: an answer ruled out, none given")
    gold_parsed = normaliser.parse(clean_text(gold), choices, gold)
    if gold_parsed is None or gold_parsed.kind != "answer":
        return Grade("wrong", False, shown, boxed, None, f"gold {gold[:80]!r} is not one {answer_type} answer")
    predicted = normaliser.display(parsed.value) + (f": {parsed.text}" if parsed.text and boxed else "")
    if parsed.value != gold_parsed.value:
        return Grade("wrong", False, predicted, boxed, _text_match(parsed, gold_parsed, choices), "differs from gold")
    text_match = _text_match(parsed, gold_parsed, choices)
    exact = boxed and not parsed.by_text and (answer_type != "option" or text_match is True)
    return Grade("exact" if exact else "option_only", True, predicted, boxed, text_match, reason)


def _text_match(parsed: Parsed, gold: Parsed, choices: Sequence[str] | None) -> bool | None:
    """For option answers written with a text: whether it is the gold option's text (or its choice's)."""
    if parsed.by_text:
        return parsed.value == gold.value
    if parsed.text is None:
        return None
    number = gold.value
    targets = {comparable(gold.text or "")}
    if choices and isinstance(number, int) and 0 < number <= len(choices):
        targets.add(comparable(choices[number - 1]))
    return comparable(parsed.text) in targets


def grade_problem(completion: str, problem, think: ThinkMode = "required") -> Grade:
    """`grade` for a `Problem`."""
    return grade(completion, problem.gold, problem.answer_type, problem.choices, think=think)


def parse_yes_no(answer: str) -> str | None:
    """"yes"/"no" for a bare yes/no answer, else None."""
    return canonical_answer("yes_no", answer)  # type: ignore[return-value]


def parse_ordering(answer: str) -> tuple[str, ...] | None:
    """`B, C, D, A` (any notation) → ('B', 'C', 'D', 'A'); None if not one ordering."""
    return canonical_answer("ordering", answer)  # type: ignore[return-value]


def parse_pairs(answer: str) -> frozenset[tuple[int, int]] | None:
    """Equilibrium cells as a set: `[[0, 1], [2, 2]]`, a single `[i, j]`, or `[]` (none)."""
    return canonical_answer("pairs", answer)  # type: ignore[return-value]


def parse_option_number(answer: str) -> int | None:
    """The option number of a bare option answer (`Option 3: …` → 3); None when there is none or when
    several are named (`Option 1 or Option 2`)."""
    return canonical_answer("option", answer)  # type: ignore[return-value]
