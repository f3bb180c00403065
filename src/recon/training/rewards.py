"""GRPO reward functions from the grading registry, plus per-batch grading metrics and stop-at-answer.

Each named reward becomes one TRL reward function (TRL logs `rewards/<name>/mean` for each and sums them
with `reward_weights`). The first one also logs how the batch graded (`grade/format_rate`,
`grade/accuracy`, one rate per grading status) and adds `status`/`predicted` columns to the
completions table."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from recon.grading import grade_batch, get_reward
from recon.grading.grade import HIERARCHICAL_REWARD

RewardFn = Callable[..., list[float]]


def grade_metrics(grades) -> dict[str, float]:
    """Rates over a batch of grades: format (well formed with a parsable answer), accuracy, each status."""
    n = max(len(grades), 1)
    metrics = {
        "grade/format_rate": sum(g.status not in ("format_violation", "no_answer") for g in grades) / n,
        "grade/accuracy": sum(g.correct for g in grades) / n,
    }
    for status in HIERARCHICAL_REWARD:
        metrics[f"grade/{status}_rate"] = sum(g.status == status for g in grades) / n
    return metrics


def make_reward_funcs(names: Sequence[str], think: str = "required") -> list[RewardFn]:
    """One TRL reward function per registry name; the first also logs grading metrics."""
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
            return _reward(completions, gold, answer_type, choices, **columns)

        scored.__name__ = f"{name}_reward"
        funcs.append(scored)
    return funcs


def answer_stop_processor(tokenizer, prompt_width: int, eos_token_id: int, think: str):
    """A logits processor that forces EOS right after a completion's final `\\boxed{…}` closes
    (after `</think>` when thinking is required), so GRPO does not pay for tokens after the answer.
    Forcing EOS (rather than stopping) keeps the completion mask right whatever the pad token is."""
    import torch
    from transformers import LogitsProcessor

    from recon.inference.base import answer_complete

    class AnswerStop(LogitsProcessor):
        def __init__(self):
            self.done: torch.Tensor | None = None

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            generated = input_ids[:, prompt_width:]
            if generated.shape[1] == 0:
                return scores
            if self.done is None:
                self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
            last = tokenizer.batch_decode(generated[:, -1:])
            for row, piece in enumerate(last):
                if "}" in piece and not self.done[row]:
                    text = tokenizer.decode(generated[row], skip_special_tokens=False)
                    thinking = think == "required" or (think == "optional" and "</think>" in text)
                    self.done[row] = answer_complete(text, thinking)
            if self.done.any():
                rows = self.done.nonzero(as_tuple=True)[0].to(scores.device)
                scores[rows] = float("-inf")
                scores[rows, eos_token_id] = 0.0
            return scores

    return AnswerStop()


def install_answer_stop(model, tokenizer, think: str) -> None:
    """Wrap `model.generate` so every call also gets a fresh `answer_stop_processor`."""
    from transformers import LogitsProcessorList

    original = model.generate
    eos = tokenizer.eos_token_id

    def generate(*args: Any, **kwargs: Any):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
        processors.append(answer_stop_processor(tokenizer, input_ids.shape[1], eos, think))
        return original(*args, logits_processor=processors, **kwargs)

    model.generate = generate
