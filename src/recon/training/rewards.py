"""GRPO reward functions from the grading registry, plus per-batch grading metrics.

Each named reward becomes one TRL reward function (TRL logs `rewards/<name>/mean` for each and sums them
with `reward_weights`). The first one also logs how the batch graded (`grade/format_rate`,
`grade/accuracy`, one rate per grading status) and adds `status`/`predicted` columns to the
completions table."""

from __future__ import annotations

from typing import Callable, Sequence

from recon.grading import grade_batch, get_reward
from recon.grading.grade import HIERARCHICAL_REWARD

RewardFn = Callable[..., list[float]]


def grade_metrics(grades) -> dict[str, float]:
    """Rates over a batch of grades: format (well formed with a parsable answer), accuracy, each status."""
    n = max(len(grades), 1)
    metrics = {
        "grade/format_rate": sum(g.well_formed for g in grades) / n,
        "grade/accuracy": sum(g.correct for g in grades) / n,
    }
    for status in HIERARCHICAL_REWARD:
        metrics[f"grade/{status}_rate"] = sum(g.status == status for g in grades) / n
    return metrics


def make_reward_funcs(names: Sequence[str], think: str = "required") -> list[RewardFn]:
    """One TRL reward function per registry name; the first also logs grading metrics. The first grades
    the batch once for its metrics and, when its reward is grade-based (`from_grade`), scores those
    same grades instead of grading again."""
    if not names:
        raise ValueError("GRPO needs at least one reward")
    funcs = []
    for position, name in enumerate(names):
        reward = get_reward(name, think=think)

        def scored(completions, gold, answer_type, choices=None, _reward=reward, _first=position == 0, **columns):
            if _first:
                log_metric, log_extra = columns.get("log_metric"), columns.get("log_extra")
                grades = grade_batch(completions, gold, answer_type, choices, think)
                if log_metric is not None:
                    for key, value in grade_metrics(grades).items():
                        log_metric(key, value)
                if log_extra is not None:
                    log_extra("status", [g.status for g in grades])
                    log_extra("predicted", [g.predicted or "" for g in grades])
                from_grade = getattr(_reward, "from_grade", None)
                if from_grade is not None:
                    return [from_grade(g) for g in grades]
            return _reward(completions, gold, answer_type, choices, **columns)

        scored.__name__ = f"{name}_reward"
        funcs.append(scored)
    return funcs
