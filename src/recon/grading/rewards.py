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


# Each grade-based reward is one score of a `Grade`; the reward functions built from this table expose it
# as `from_grade`, so a caller that already graded the batch can score it without grading again.
GRADE_SCORES: dict[str, tuple[Callable[[Grade], float], str]] = {
    "hierarchical": (
        lambda g: g.reward,
        "The paper's reward (docs/grading.md): +5 exact, +2 option number only or unboxed, −3 wrong,"
        " −4 format violation or hedge, −5 no answer.",
    ),
    "accuracy": (lambda g: float(g.correct), "1.0 when the answer is correct, else 0.0."),
    "format": (
        lambda g: float(g.well_formed),
        "1.0 when the completion is well formed and has a parsable answer, else 0.0.",
    ),
}


def _grade_reward_factory(name: str) -> Callable[..., RewardFn]:
    score, doc = GRADE_SCORES[name]

    def factory(think: ThinkMode = "required") -> RewardFn:
        def reward(completions, gold, answer_type, choices=None, **_columns) -> list[float]:
            return [score(g) for g in grade_batch(completions, gold, answer_type, choices, think)]

        reward.__name__ = reward.__qualname__ = f"{name}_reward"
        reward.__doc__ = doc
        reward.from_grade = score  # type: ignore[attr-defined]
        return reward

    factory.__name__ = f"make_{name}_reward"
    return factory


REWARD_REGISTRY: dict[str, Callable[..., RewardFn]] = {name: _grade_reward_factory(name) for name in GRADE_SCORES}


def get_reward(name: str, think: ThinkMode = "required") -> RewardFn:
    """A registered reward function by name."""
    try:
        factory = REWARD_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; registered: {sorted(REWARD_REGISTRY)}") from None
    return factory(think=think)


__all__ = ["HIERARCHICAL_REWARD", "REWARD_REGISTRY", "completion_text", "get_reward", "grade_batch"]
