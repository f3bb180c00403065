"""Reward functions for TRL's GRPOTrainer, registered by name.

Signature: `reward(completions, gold, answer_type, choices=None, **columns) -> list[float]`.
TRL passes every dataset column as a list aligned with `completions` (several prompts' completions
arrive in one call), so each completion is graded against its own gold."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from recon.grading.extract import ThinkMode
from recon.grading.grade import HIERARCHICAL_REWARD, Grade, grade

RewardFn = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """TRL gives plain strings (standard format) or `[{"role": "assistant", "content": …}]`."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return ""


def grade_batch(
    completions: Sequence[Any],
    gold: Sequence[str],
    answer_type: Sequence[str],
    choices: Sequence[Sequence[str] | None] | None = None,
    think: ThinkMode = "required",
) -> list[Grade]:
    if not (len(completions) == len(gold) == len(answer_type)):
        raise ValueError(
            f"reward got {len(completions)} completions but {len(gold)} golds and {len(answer_type)} answer types"
        )
    choices = choices if choices is not None else [None] * len(completions)
    return [
        grade(completion_text(c), g, t, ch or None, think=think)
        for c, g, t, ch in zip(completions, gold, answer_type, choices)
    ]


def make_hierarchical_reward(think: ThinkMode = "required") -> RewardFn:
    def hierarchical_reward(completions, gold, answer_type, choices=None, **_columns) -> list[float]:
        """The paper's reward: +5 exact, +2 option number only, −3 wrong, −4 format, −5 no answer."""
        return [g.reward for g in grade_batch(completions, gold, answer_type, choices, think)]

    return hierarchical_reward


def make_accuracy_reward(think: ThinkMode = "required") -> RewardFn:
    def accuracy_reward(completions, gold, answer_type, choices=None, **_columns) -> list[float]:
        """1.0 when the answer is correct, else 0.0."""
        return [float(g.correct) for g in grade_batch(completions, gold, answer_type, choices, think)]

    return accuracy_reward


def make_format_reward(think: ThinkMode = "required") -> RewardFn:
    def format_reward(completions, gold, answer_type, choices=None, **_columns) -> list[float]:
        """1.0 when the completion is well formed and has a parsable answer, else 0.0."""
        grades = grade_batch(completions, gold, answer_type, choices, think)
        return [float(g.status not in ("format_violation", "no_answer")) for g in grades]

    return format_reward


REWARD_REGISTRY: dict[str, Callable[..., RewardFn]] = {
    "hierarchical": make_hierarchical_reward,
    "accuracy": make_accuracy_reward,
    "format": make_format_reward,
}


def get_reward(name: str, think: ThinkMode = "required") -> RewardFn:
    """A registered reward function by name."""
    try:
        factory = REWARD_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; registered: {sorted(REWARD_REGISTRY)}") from None
    return factory(think=think)


__all__ = ["HIERARCHICAL_REWARD", "REWARD_REGISTRY", "completion_text", "get_reward", "grade_batch"]
