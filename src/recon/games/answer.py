"""Where a game reply's answer is, for both suites: outside any thinking block, and never inside a
reasoning trace that was cut off. Also the token budgets that follow from the model's thinking mode."""

from __future__ import annotations

from recon.grading.extract import THINK_CLOSE, THINK_OPEN

# Completion budget per game question for a model that thinks (R1-style reasoning is not cut off: the
# paper's evaluation budget, App. A.4) and for one that answers directly (GTBench's model configs).
THINKING_MAX_TOKENS = 6144
DIRECT_MAX_TOKENS = 1024


def answer_region(text: str | None, thinking: bool) -> str | None:
    """The part of a reply that may hold the answer, or None when it has none.

    Text up to the last `</think>` is thinking. With `thinking` on, the `<think>` may have been put in
    the prompt (R1 chat templates prefill it), so the completion need not open one: a completion
    without `</think>` is all thinking (cut off or never finished) and has no answer. With `thinking`
    off, a `<think>` that is opened and never closed starts thinking too; the text before it counts.
    """
    text = text or ""
    if THINK_CLOSE in text:
        text = text[text.rindex(THINK_CLOSE) + len(THINK_CLOSE) :]
    elif thinking:
        return None
    if THINK_OPEN in text:
        text = text[: text.index(THINK_OPEN)]
    return text


def token_budget(max_tokens: int | None, thinking: bool) -> int:
    """`max_tokens` when given, else the budget for the thinking mode."""
    if max_tokens is not None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        return max_tokens
    return THINKING_MAX_TOKENS if thinking else DIRECT_MAX_TOKENS
