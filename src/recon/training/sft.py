"""Supervised fine-tuning on worked solutions (prompt-completion, completion-only loss), LoRA or full.

    python -m recon.training.sft --config recipes/cpu/smollm2/sft.yaml [--max_steps 2 ...]
    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml -m recon.training.sft --config …
"""

from __future__ import annotations

import sys
from typing import Sequence

from recon.training.args import batch_plan, print_plan
from recon.data.problem import even_slice
from recon.training.data import sft_rows
from recon.training.model import load_policy, score_labelled_positions_only
from recon.training.run import heldout_callbacks, main_for, train_and_save


def build_sft_trainer(script, config, model_cfg):
    """An `SFTTrainer` for the run described by the three parsed configs (batch plan printed first)."""
    from datasets import Dataset
    from trl import SFTTrainer

    rows = even_slice(sft_rows(script.dataset, script.data_dir, script.hub_id), script.max_train_samples)
    print_plan([f"SFT data: {script.dataset} ({len(rows)} examples)", *batch_plan("sft", config, len(rows))])
    if config.completion_only_loss is False:
        print_plan(["warning: completion_only_loss is False, the prompt tokens are trained on too"])
    callbacks = heldout_callbacks(script, config)  # refuses a held-out budget before the model loads
    model, tokenizer, peft_config, described = load_policy(script, model_cfg, config)
    print_plan([f"model: {described}"])
    score_labelled_positions_only()
    return SFTTrainer(
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
