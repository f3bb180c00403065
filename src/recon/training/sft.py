"""Supervised fine-tuning on worked solutions (prompt-completion, completion-only loss), LoRA or full.

    python -m recon.training.sft --config recipes/cpu/smollm2/sft.yaml [--max_steps 2 ...]
    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml -m recon.training.sft --config …
"""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Sequence

from recon.training.args import batch_plan, print_plan
from recon.data.problem import even_slice
from recon.training.data import sft_rows
from recon.training.model import load_policy, score_labelled_positions_only
from recon.training.run import heldout_callbacks, main_for, train_and_save


def scored_tokens_per_row(dataset) -> float | None:
    """The mean number of tokens the SFT loss scores in a row of the tokenized `dataset` (its labels other than
    -100 after the first: the loss predicts each from the one before); None without a `labels` column."""
    if "labels" not in dataset.column_names:
        return None
    counts = [sum(label != -100 for label in labels[1:]) for labels in dataset["labels"]]
    return sum(counts) / max(len(counts), 1)


def sft_trainer_class(length_buckets: bool):
    """TRL's `SFTTrainer`, whose training batches come from a `LengthBucketSampler` when `length_buckets` (rows of
    similar length per batch, batches in random order) instead of `train_sampling_strategy`'s sampler.

    With length buckets the loss is divided by a fixed token count (the dataset's mean scored tokens per row ×
    the rows of the step) instead of the step's own count, so a token weighs the same in every bucket, as it
    does on average in random batches. Divided by its own count, a bucket of short rows weighs each of its
    tokens several times more: in cpu-study (answer-only rows ~20 completion tokens, pure_nash traces ~410) a
    bucket of answer-only rows pushes its first token, `</think>`, ~18× harder per row than a bucket of traces
    pushes the trace's first line (run 10 in docs/experiments.md: no trace written at step 100)."""
    from trl import SFTTrainer

    class ReconSFTTrainer(SFTTrainer):
        @cached_property
        def _scored_tokens_per_row(self) -> float | None:
            return scored_tokens_per_row(self.train_dataset)

        def _get_num_items_in_batch(self, batch_samples, device):
            import torch

            counted = super()._get_num_items_in_batch(batch_samples, device)
            if not length_buckets or counted is None:  # None: no labels in the batches, nothing counted
                return counted
            per_row = self._scored_tokens_per_row
            if per_row is None:
                return counted
            rows = sum(len(batch["labels"]) for batch in batch_samples)
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                rows *= self.args.world_size  # the count it replaces is summed over every process
            fixed = rows * per_row
            if not torch.is_tensor(counted):
                return fixed
            for size in ("get_tp_size", "get_cp_size", "get_sp_size"):  # devices sharing one batch, as the count it replaces
                fixed /= getattr(self, size, lambda: 1)()
            return torch.as_tensor(fixed, dtype=torch.float32, device=counted.device)

        def _get_train_sampler(self, train_dataset=None):
            train_dataset = self.train_dataset if train_dataset is None else train_dataset
            if not length_buckets or train_dataset is None or not hasattr(train_dataset, "__len__"):
                return super()._get_train_sampler(train_dataset)
            from recon.training.sampling import LengthBucketSampler

            args = self.args
            columns = getattr(train_dataset, "column_names", None) or []
            if args.length_column_name in columns:
                lengths = list(train_dataset[args.length_column_name])
            else:
                name = (getattr(self.processing_class, "model_input_names", None) or ["input_ids"])[0]
                lengths = [len(ids) for ids in (train_dataset[name] if name in columns else (row[name] for row in train_dataset))]
            # One optimizer step over all processes is one bucket: accelerate deals its per-device batches
            # (consecutive slices of train_batch_size) round-robin to the processes.
            step = args.train_batch_size * args.gradient_accumulation_steps * max(1, args.world_size)
            seed = args.data_seed if args.data_seed is not None else args.seed
            return LengthBucketSampler(lengths, step, seed=seed)

    return ReconSFTTrainer


def build_sft_trainer(script, config, model_cfg):
    """An `SFTTrainer` for the run described by the three parsed configs (batch plan printed first)."""
    from datasets import Dataset

    rows = even_slice(sft_rows(script.dataset, script.data_dir, script.hub_id), script.max_train_samples)
    print_plan([f"SFT data: {script.dataset} ({len(rows)} examples)", *batch_plan("sft", config, len(rows)),
                "batches: " + ("length buckets (rows of similar length, batches in random order)" if script.length_buckets
                               else f"train_sampling_strategy {config.train_sampling_strategy}")])  # fmt: skip
    if config.completion_only_loss is False:
        print_plan(["warning: completion_only_loss is False, the prompt tokens are trained on too"])
    callbacks = heldout_callbacks(script, config)  # refuses a held-out budget before the model loads
    model, tokenizer, peft_config, described = load_policy(script, model_cfg, config)
    print_plan([f"model: {described}"])
    score_labelled_positions_only()
    return sft_trainer_class(script.length_buckets)(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )


def run_sft(script, config, model_cfg) -> dict:
    """Train (resuming when a checkpoint exists), save the final model to output_dir; returns a summary."""
    return train_and_save(build_sft_trainer(script, config, model_cfg), script, config)


def main(argv: Sequence[str] | None = None) -> dict:
    return main_for("sft", run_sft, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
