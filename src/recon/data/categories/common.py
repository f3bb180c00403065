"""Helpers shared by the category specs: the Recon multiple-choice prompt, reading a published
item's options back, placing the gold uniformly, number formatting and worked solutions."""

from __future__ import annotations

import functools
import random
import re
from fractions import Fraction
from typing import Any, Callable, Sequence

from recon.data.categories import AuditResult
from recon.data.problem import Problem

OPTION_INSTRUCTIONS = (
    "You are given a reasoning problem in Economics. Please reason step by step to solve it.\n\n"
    "Enclose your reasoning in <think> and </think>. Then, give your final answer using the format "
    "\\boxed{Option X: full choice text}.\n\n"
    "You must include both the option number and the full text of your chosen answer.\n\n"
    "Question:\n"
)
_OPTION_LINE = re.compile(r"^\s*Option\s+(\d+)\s*:\s*(.*?)\s*$")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")


def option_prompt(question: str, options: Sequence[str]) -> str:
    """The user message of a Recon multiple-choice item."""
    lines = "\n".join(f"Option {i}: {text}" for i, text in enumerate(options, 1))
    return f"{OPTION_INSTRUCTIONS}{question.strip()}\n\nOptions:\n{lines}"


def split_option_prompt(problem: Problem) -> tuple[str, list[str]]:
    """(question body, option texts) read from the user message; raises ValueError when the
    message has no numbered `Option N:` list after an `Options:` header."""
    content = problem.messages[-1]["content"]
    head, sep, tail = content.rpartition("Options:")
    if not sep:
        raise ValueError("no 'Options:' section")
    options: list[str] = []
    for line in tail.splitlines():
        match = _OPTION_LINE.match(line)
        if match:
            if int(match.group(1)) != len(options) + 1:
                raise ValueError(f"options are not numbered 1..n (saw Option {match.group(1)})")
            options.append(match.group(2))
        elif line.strip() and options:
            options[-1] += " " + line.strip()  # wrapped option text
    if not options:
        raise ValueError("no 'Option N:' lines")
    body = head.split("Question:", 1)[-1].strip()
    return body, options


def audits_option_prompt(
    audit: Callable[[Problem, str, list[str]], AuditResult],
) -> Callable[[Problem], AuditResult]:
    """An audit handed the question body and option texts read by `split_option_prompt`; an item whose
    prompt does not read that way is `unparsed`."""

    @functools.wraps(audit)
    def run(problem: Problem) -> AuditResult:
        try:
            body, options = split_option_prompt(problem)
        except ValueError as exc:
            return unparsed(str(exc))
        return audit(problem, body, options)

    return run


def pending_id(category: str) -> str:
    """The placeholder id of a generated item; `recon.data.generate` numbers it `gen-<category>-<seed>-<n>`."""
    return f"gen-{category}-pending"


def make_option_problem(
    category: str,
    question: str,
    options: Sequence[str],
    gold_index: int,
    steps: Sequence[str],
    meta: dict[str, Any] | None = None,
    template: str = "",
) -> Problem:
    """A generated multiple-choice Problem (0-based `gold_index`) with its worked solution in
    `meta["solution"]`. The final id is set by the caller (`recon.data.generate`)."""
    if len(set(options)) != len(options):
        raise ValueError(f"{category}: duplicate option texts {list(options)}")
    gold = f"Option {gold_index + 1}: {options[gold_index]}"
    meta = dict(meta or {})
    meta.update(solution=worked_solution(steps, gold), template=template, generator=category)
    return Problem(
        id=pending_id(category),
        category=category,
        source="generated",
        question=question.strip(),
        choices=list(options),
        answer_type="option",
        gold=gold,
        messages=[{"role": "user", "content": option_prompt(question, options)}],
        meta=meta,
    )


def make_pairs_problem(
    category: str,
    prompt: str,
    question: str,
    gold: str,
    steps: Sequence[str],
    meta: dict[str, Any] | None = None,
    boxed: str | None = None,
) -> Problem:
    """A generated `pairs` Problem whose user message is `prompt` + `question`, with its worked solution
    in `meta["solution"]`. The solution boxes `boxed` (default: the gold), which may be written
    differently from the gold (PTE boxes `[r, c]` for the gold `[[r, c]]`). The final id is set by the
    caller (`recon.data.generate`)."""
    meta = {"solution": worked_solution(steps, gold if boxed is None else boxed), **(meta or {}), "generator": category}
    return Problem(
        id=pending_id(category), category=category, source="generated", question=question, choices=None,
        answer_type="pairs", gold=gold, messages=[{"role": "user", "content": prompt + question}], meta=meta,
    )


def worked_solution(steps: Sequence[str], gold: str) -> str:
    """`<think>…</think>` from the solver's steps, then the boxed answer."""
    return "<think>\n" + "\n".join(steps) + "\n</think>\n\n\\boxed{" + gold + "}"


def place_options(rng: random.Random, correct: str, distractors: Sequence[str], n_options: int | None = None) -> tuple[list[str], int]:
    """Options with the correct one at a uniformly random position; distractors keep a random order."""
    chosen = list(distractors)
    rng.shuffle(chosen)
    if n_options is not None:
        chosen = chosen[: n_options - 1]
    gold = rng.randrange(len(chosen) + 1)
    chosen.insert(gold, correct)
    return chosen, gold


def fmt(x: Fraction | int | float) -> str:
    """An exact number as text: integers plainly, terminating decimals with up to 4 places,
    otherwise a fraction `p/q`."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    den = x.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        text = f"{float(x):.4f}".rstrip("0").rstrip(".")
        if Fraction(text) == x:
            return text
    return f"{x.numerator}/{x.denominator}"


def max_scan(cells: Sequence[tuple[str, Fraction]]) -> tuple[str, list[str]]:
    """`c0=1 c1=8 c2=3 → max 8 → c0=1 no c1=8 yes c2=3 no`: labelled values, the max value, then a scan
    that copies each cell again beside a yes/no for "equals the max"; returns the text and the labels of
    the max. A 135M model finds the larger number but, in one step, not the label attached to it (on 480
    backward-induction traces the action followed the larger number on 46% of tree lines); with the scan,
    the option scan that took bertrand's option step from 38% to 98%, the label follows its own `yes` on
    85-99% of backward-induction lines, and on 60% of pure_nash's, where it is cut out of the middle of
    a line (docs/experiments.md)."""
    top = max(v for _, v in cells)
    scan = " ".join(f"{k}={fmt(v)} {'yes' if v == top else 'no'}" for k, v in cells)
    return f"{labelled(cells)} → max {fmt(top)} → {scan}", [k for k, v in cells if v == top]


def labelled(cells: Sequence[tuple[str, Fraction]]) -> str:
    """`c0=1 c1=8 c2=3`: each value with its label."""
    return " ".join(f"{k}={fmt(v)}" for k, v in cells)


def numbers(text: str) -> list[Fraction]:
    """All numbers in a text, in order (thousands separators allowed)."""
    return [Fraction(n.replace(",", "")) for n in _NUMBER.findall(text)]


def verdict_for(problem: Problem, options: Sequence[str], correct: Sequence[int], solver_answer: str, reason: str, **details: Any) -> AuditResult:
    """agree / disagree / ambiguous from the 0-based indices of the options the solver finds correct."""
    gold = problem.gold_option
    correct = sorted(set(correct))
    if len(correct) != 1:
        what = "no option" if not correct else "options " + ", ".join(str(i + 1) for i in correct)
        return AuditResult("ambiguous", solver_answer, f"{what} correct: {reason}", {"correct": [i + 1 for i in correct], **details})
    answer = f"Option {correct[0] + 1}: {options[correct[0]]}"
    if gold is None:
        return AuditResult("unparsed", answer, f"gold {problem.gold!r} names no option", details)
    verdict = "agree" if gold == correct[0] + 1 else "disagree"
    return AuditResult(verdict, answer, reason, details)


def unparsed(reason: str) -> AuditResult:
    """The verdict for an item whose text the parser cannot read."""
    return AuditResult("unparsed", None, reason)


def not_computable(reason: str):
    """An audit function that marks every item of a category not computable."""

    def audit(problem: Problem) -> AuditResult:
        return AuditResult("not_computable", None, reason)

    return audit


# Generators retry until the solver confirms a well-formed item; this many tries is plenty.
MAX_TRIES = 500


class ParseError(ValueError):
    """A published item whose numbers the parser cannot read."""


def incomplete(reason: str) -> AuditResult:
    """The verdict for an item whose text lacks the numbers its question needs."""
    return AuditResult("incomplete", None, reason)


def decimals(x: Fraction, places: int = 2) -> str:
    """A payoff with a fixed number of decimals (exact numbers are drawn on that grid)."""
    return f"{float(x):.{places}f}"
