"""Training data: SFT prompt/completion rows and GRPO problem rows (with per-epoch option re-shuffling)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, Sequence

from recon.data.problem import Problem, iter_jsonl
from recon.data.registry import published_split
from recon.errors import UserError

# Columns the GRPO reward needs beside `prompt`; `id` lets tests and logs trace a row back.
GRPO_COLUMNS = ("prompt", "gold", "answer_type", "choices", "id")


def load_problems(source: str, data_dir: str | None = None, hub_id: str | None = None) -> list[Problem]:
    """A dataset by its registry name (`recon-train`/`train`, `recon-sft-cot`/`sft_cot`, `verified:DIR`,
    a JSONL path; see `recon.data.registry`), the `train` part of a verified folder."""
    from recon.data.registry import load_problems as load_named

    return load_named(source, part="train", data_dir=data_dir, hub_id=hub_id)


def _worked_solution(problem: Problem) -> str | None:
    text = problem.meta.get("solution") or problem.meta.get("response")
    return text.strip() if isinstance(text, str) and text.strip() else None


def sft_rows(source: str, data_dir: str | None = None, hub_id: str | None = None) -> list[dict[str, Any]]:
    """Conversational prompt/completion rows for SFT (completion-only loss).

    - the published `sft_cot` split: the 866 teacher traces (`meta["response"]`);
    - a JSONL of `{"prompt", "completion"}` rows (strings or message lists), kept as they are;
    - a problems JSONL whose rows carry a worked solution in `meta["solution"]` (or `meta["response"]`)."""
    path = Path(source)
    if published_split(source) is None and path.is_file():
        first = next(iter_jsonl(path), None)
        if first is None:
            raise UserError(f"dataset {source!r} is empty")
        if "completion" in first:
            rows = []
            for lineno, row in enumerate(iter_jsonl(path), 1):
                if "prompt" not in row or "completion" not in row:
                    raise UserError(f"{path}: row {lineno} needs both `prompt` and `completion`")
                rows.append({"prompt": row["prompt"], "completion": row["completion"]})
            return rows
    problems = load_problems(source, data_dir, hub_id)
    rows = [
        {"prompt": p.messages, "completion": [{"role": "assistant", "content": solution}]}
        for p in problems
        if (solution := _worked_solution(p)) is not None
    ]
    if not rows:
        raise UserError(
            f"dataset {source!r} has no worked solutions (meta.solution / meta.response) to fine-tune on; "
            "use `sft_cot`, a prompt/completion JSONL, or generated problems with solutions"
        )
    return rows


def grpo_row(problem: Problem) -> dict[str, Any]:
    """The columns GRPO passes to the reward: the prompt and what grades it."""
    return {
        "prompt": problem.messages,
        "gold": problem.gold,
        "answer_type": problem.answer_type,
        "choices": problem.choices or [],
        "id": problem.id,
    }


def grpo_dataset(problems: Sequence[Problem]):
    """A fixed-order `datasets.Dataset` of GRPO rows (the paper's behaviour)."""
    from datasets import Dataset

    return Dataset.from_list([grpo_row(p) for p in problems])


class OptionReshuffler:
    """GRPO rows whose option order is re-drawn every epoch (gold remapped by `shuffle_options`).

    `dataset` is a `datasets.Dataset` whose rows are shuffled as they are read; the order depends only on
    (seed, epoch, problem id), so every completion of a prompt group and every process sees the same
    prompt. `epoch` is advanced by `epoch_callback` at the start of each epoch (also after a resume)."""

    def __init__(self, problems: Sequence[Problem], seed: int = 0):
        self.by_id = {p.id: p for p in problems}
        if len(self.by_id) != len(problems):
            raise ValueError("problem ids must be unique to re-shuffle options per epoch")
        self.seed = seed
        self.epoch = 0
        for problem in problems:  # fail now, not mid-epoch, on a prompt whose options cannot be rewritten
            self.shuffled(problem)
        self.dataset = grpo_dataset(problems)
        self.dataset.set_transform(self._transform)

    def shuffled(self, problem: Problem) -> Problem:
        from recon.data.options import shuffle_options

        return shuffle_options(problem, random.Random(f"{self.seed}:{self.epoch}:{problem.id}"))

    def _transform(self, batch: dict[str, list]) -> dict[str, list]:
        rows = [grpo_row(self.shuffled(self.by_id[pid])) for pid in batch["id"]]
        return {column: [row[column] for row in rows] for column in GRPO_COLUMNS}


def epoch_callback(reshuffler: OptionReshuffler):
    """A TrainerCallback that tells the dataset which epoch is starting (also right after a resume)."""
    from transformers import TrainerCallback

    class EpochCallback(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kwargs):
            reshuffler.epoch = math.floor((state.epoch or 0.0) + 1e-6)

    return EpochCallback()
