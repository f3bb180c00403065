"""Split a teacher response into its reasoning trace and final answer, grade it, and write the
SFT completion in the paper's format (`<think>\\ntrace\\n</think>\\n\\n\\boxed{answer}`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from recon.grading import grade
from recon.grading.extract import THINK_CLOSE, THINK_OPEN

# `kept`: a correct trace written to sft.jsonl; `extra_correct`/`duplicate`: correct but not kept
# (only the first is kept / the same trace was kept already); the rest say why a sample was rejected.
Verdict = Literal[
    "kept", "extra_correct", "duplicate", "wrong", "format_violation", "no_answer", "no_trace", "truncated", "failed"
]
VERDICTS: tuple[str, ...] = (
    "kept", "extra_correct", "duplicate", "wrong", "format_violation", "no_answer", "no_trace", "truncated", "failed"
)


@dataclass(frozen=True)
class Trace:
    """A teacher response split in two. `source` says where the trace came from:
    `reasoning_content`, `think_block`, or `none` (the response had no reasoning)."""

    trace: str
    answer: str
    source: Literal["reasoning_content", "think_block", "none"]


def split_trace(text: str | None, reasoning: str | None = None) -> Trace:
    """The trace from `reasoning_content` when the server sent one, else from a `<think>…</think>`
    block in the content (the opening tag may be missing when the chat template prefilled it).
    With no closing tag the whole text is the answer and the trace is empty."""
    text = text or ""
    if reasoning and reasoning.strip():
        return Trace(reasoning.strip(), text.strip(), "reasoning_content")
    if THINK_CLOSE in text:
        head, _, tail = text.partition(THINK_CLOSE)
        head = head.strip()
        if head.startswith(THINK_OPEN):
            head = head[len(THINK_OPEN) :].strip()
        if head:
            return Trace(head, tail.strip(), "think_block")
    return Trace("", text.strip(), "none")


def joined_text(trace: Trace) -> str:
    """The response as one string the shared grader reads (`<think>` … `</think>` answer)."""
    return f"{THINK_OPEN}\n{trace.trace}\n{THINK_CLOSE}\n\n{trace.answer}"


def sft_completion(trace: str, answer: str) -> str:
    """The assistant turn the student learns: the trace in think tags, then the boxed answer."""
    return f"{THINK_OPEN}\n{trace.strip()}\n{THINK_CLOSE}\n\n\\boxed{{{answer}}}"


def normalized_trace(trace: str) -> str:
    """Whitespace- and case-insensitive form, to tell distinct correct traces apart."""
    return " ".join(trace.split()).casefold()


@dataclass(frozen=True)
class Judged:
    """One teacher sample's verdict. `grade_status` is the shared grader's status (None when
    the sample was not graded: request failed, output truncated, or no trace)."""

    verdict: Verdict
    trace: Trace | None
    grade_status: str | None
    predicted: str | None
    reason: str


def judge(
    text: str | None,
    reasoning: str | None,
    finish_reason: str | None,
    error: str | None,
    gold: str,
    answer_type: str,
    choices: list[str] | None,
) -> Judged:
    """Decide whether one teacher sample is a usable trace (before de-duplication)."""
    if error:
        return Judged("failed", None, None, None, error)
    parts = split_trace(text, reasoning)
    if finish_reason == "length":
        return Judged("truncated", parts, None, None, "output hit max_tokens")
    if parts.source == "none":
        return Judged("no_trace", parts, None, None, "no reasoning_content and no </think> block")
    g = grade(joined_text(parts), gold, answer_type, choices, think="required")
    if g.correct:
        return Judged("kept", parts, g.status, g.predicted, g.reason)
    verdict: Verdict = g.status if g.status in ("format_violation", "no_answer") else "wrong"  # type: ignore[assignment]
    return Judged(verdict, parts, g.status, g.predicted, g.reason)


def grading_gold(meta: dict[str, Any], gold: str) -> str:
    """Solver-verified gold when the item carries one, else the published gold."""
    verified = meta.get("verified_gold") if meta else None
    return verified if isinstance(verified, str) and verified.strip() else gold
