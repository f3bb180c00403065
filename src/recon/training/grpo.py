"""GRPO with the grading registry's rewards, each completion graded against its own gold.

    python -m recon.training.grpo --config recipes/cpu/smollm2/grpo.yaml [--max_steps 2 ...]
    accelerate launch --config_file recipes/accelerate_configs/zero2.yaml -m recon.training.grpo --config …
"""

from __future__ import annotations

import sys
from typing import Sequence

from recon.training.args import batch_plan, print_plan
from recon.data.problem import even_slice
from recon.training.data import OptionReshuffler, epoch_callback, grpo_dataset, load_problems
from recon.training.model import load_policy, server_model
from recon.training.generation import install_answer_stop
from recon.training.rewards import make_reward_funcs
from recon.training.run import attach_trainer, heldout_callbacks, main_for, train_and_save


def build_grpo_trainer(script, config, model_cfg):
    """A `GRPOTrainer` for the run described by the three parsed configs (batch plan printed first)."""
    from trl import GRPOTrainer

    problems = even_slice(load_problems(script.dataset, script.data_dir, script.hub_id), script.max_train_samples)
    print_plan(
        [
            f"GRPO data: {script.dataset} ({len(problems)} prompts), rewards {script.rewards} "
            f"weights {config.reward_weights or 'all 1.0'}, think={script.think}, "
            f"options {'re-shuffled every epoch' if script.reshuffle_options else 'in fixed order'}",
            *batch_plan("grpo", config, len(problems)),
        ]
    )
    callbacks = heldout_callbacks(script, config)  # refuses a held-out budget before the model loads
    model, tokenizer, peft_config, described = load_policy(script, model_cfg, config)
    print_plan([f"model: {described}"])
    if script.reshuffle_options:
        reshuffler = OptionReshuffler(problems, seed=config.seed)
        dataset = reshuffler.dataset
        callbacks.append(epoch_callback(reshuffler))
    else:
        dataset = grpo_dataset(problems)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=make_reward_funcs(script.rewards, script.think),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    attach_trainer(callbacks, trainer)
    if script.stop_at_answer and not config.use_vllm:
        install_answer_stop(trainer.model, tokenizer, script.think)
    return trainer


def run_grpo(script, config, model_cfg) -> dict:
    """Train (resuming when a checkpoint exists), save the final model to output_dir; returns a summary.
    With `prepare_only`, only write the model a vLLM server must load (the merged SFT init) and return it."""
    if script.prepare_only:
        path = server_model(script, model_cfg, config)
        print_plan([f"server model: {path}"])
        return {"server_model": path}
    return train_and_save(build_grpo_trainer(script, config, model_cfg), script, config)


def main(argv: Sequence[str] | None = None) -> dict:
    return main_for("grpo", run_grpo, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
