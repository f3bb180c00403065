"""GRPO with the grading registry's rewards, each completion graded against its own gold.

    python -m recon.training.grpo --config recipes/cpu/smollm2/grpo.yaml [--max_steps 2 ...]
    accelerate launch --config_file recipes/accelerate_configs/zero2.yaml -m recon.training.grpo --config …
"""

from __future__ import annotations

import sys
from typing import Sequence

import random

from recon.errors import UserError
from recon.training.args import batch_plan, print_plan
from recon.data.problem import even_slice
from recon.training.data import OptionReshuffler, epoch_callback, grpo_dataset, load_problems
from recon.inference.models import resolve_model
from recon.training.model import TRAINED_ADAPTER_DIR, compose_on_base, load_policy, score_labelled_positions_only, server_model
from recon.training.generation import install_answer_stop
from recon.training.rewards import make_reward_funcs
from recon.training.run import attach_trainer, heldout_callbacks, main_for, train_and_save


# Output tensors of TRL 1.16's `_generate_and_score_completions` laid out per completion token (right-padded)
# and per prompt token (left-padded); the value each is padded with.
COMPLETION_WIDE = {"completion_ids": None, "completion_mask": 0, "old_per_token_logps": 0.0, "ref_per_token_logps": 0.0,
                   "sampling_per_token_logps": 0.0, "importance_sampling_ratio": 1.0, "tool_mask": 1}  # fmt: skip
PROMPT_WIDE = {"prompt_ids": None, "prompt_mask": 0}


def groups_with_signal(advantages, generations: int):
    """One bool per group of `generations` completions: do their rewards differ (a non-zero advantage)?"""
    return advantages.view(-1, generations).abs().amax(dim=1) > 1e-6


def take_rows(parts: list[dict], rows: list[tuple[int, int]], pad_token_id: int) -> dict:
    """One generation batch made of `rows` = [(part, row)] of several `_generate_and_score_completions` outputs:
    prompt tensors re-padded on the left, completion tensors on the right, `num_items_in_batch` recounted."""
    import torch
    from trl.trainer.utils import pad

    out: dict = {}
    for key in parts[0]:
        if key == "num_items_in_batch":
            continue
        values = [parts[p][key][r] for p, r in rows]
        if key in PROMPT_WIDE or (key in COMPLETION_WIDE and values[0].ndim == 1):
            wide = PROMPT_WIDE if key in PROMPT_WIDE else COMPLETION_WIDE
            value = pad_token_id if wide[key] is None else wide[key]
            out[key] = pad(values, padding_value=value, padding_side="left" if key in PROMPT_WIDE else "right")
        elif key == "advantages" or key in COMPLETION_WIDE:
            out[key] = torch.stack(values)
        else:
            raise UserError(f"dynamic sampling cannot re-batch GRPO input {key!r} (multimodal or tool inputs): set dynamic_sampling_rounds 0")
    mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
    out["num_items_in_batch"] = mask.sum()
    return out


def dynamic_sampling_trainer(rounds: int, seed: int):
    """A `GRPOTrainer` subclass with DAPO's dynamic sampling (arXiv 2503.14476), which TRL 1.16 lacks: a group whose
    completions all get the same reward has zero advantage and teaches nothing, so it is dropped and replaced by
    the group of a freshly drawn prompt, up to `rounds` extra generation rounds per step (a batch still short
    keeps its no-signal groups, so every step has the configured size). Logs per step
    `signal/fraction_drawn` (groups with signal among those first drawn: what plain GRPO trains on),
    `signal/fraction_trained` (after replacement) and `signal/extra_prompts`. TRL's own `reward` and
    `frac_reward_zero_std` average over every group drawn (replacement prompts are drawn at random too)."""
    from trl import GRPOTrainer

    class DynamicSamplingGRPOTrainer(GRPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if rounds > 0 and self.accelerator.num_processes > 1:
                raise UserError("dynamic sampling runs on one process (every process would draw different replacements)")
            self._reserve_rng = random.Random(f"dynamic-sampling:{seed}")
            self._reserve: list[int] = []

        def _draw_prompts(self, count: int) -> list[dict]:
            rows = []
            for _ in range(count):
                if not self._reserve:
                    self._reserve = list(range(len(self.train_dataset)))
                    self._reserve_rng.shuffle(self._reserve)
                rows.append(self.train_dataset[self._reserve.pop()])
            return rows

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            if not self.model.training:
                return output
            generations = self.num_generations
            signal = groups_with_signal(output["advantages"], generations)
            metrics = self._metrics["train"]
            metrics["signal/fraction_drawn"].append(signal.float().mean().item())
            parts, kept = [output], [(0, g) for g in signal.nonzero().flatten().tolist()]
            wanted, extra = len(signal), 0
            for _ in range(rounds):
                if len(kept) >= wanted:
                    break
                prompts = self._draw_prompts(wanted - len(kept))
                extra += len(prompts)
                part = super()._generate_and_score_completions([row for row in prompts for _ in range(generations)])
                parts.append(part)
                kept += [(len(parts) - 1, g) for g in groups_with_signal(part["advantages"], generations).nonzero().flatten().tolist()]
            kept = kept[:wanted]
            trained_signal = len(kept)
            kept += [(0, g) for g in (~signal).nonzero().flatten().tolist()][: wanted - len(kept)]
            metrics["signal/fraction_trained"].append(trained_signal / wanted)
            metrics["signal/extra_prompts"].append(float(extra))
            if extra == 0:
                return output
            rows = [(p, g * generations + i) for p, g in sorted(kept) for i in range(generations)]
            return take_rows(parts, rows, self._tokenizer.pad_token_id)

    return DynamicSamplingGRPOTrainer


def build_grpo_trainer(script, config, model_cfg):
    """A `GRPOTrainer` for the run described by the three parsed configs (batch plan printed first)."""
    problems = even_slice(load_problems(script.dataset, script.data_dir, script.hub_id), script.max_train_samples)
    print_plan(
        [
            f"GRPO data: {script.dataset} ({len(problems)} prompts), rewards {script.rewards} "
            f"weights {config.reward_weights or 'all 1.0'}, think={script.think}, "
            f"options {'re-shuffled every epoch' if script.reshuffle_options else 'in fixed order'}, "
            + (f"dynamic sampling: groups without reward variance replaced, up to {script.dynamic_sampling_rounds} extra rounds"
               if script.dynamic_sampling_rounds > 0 else "no dynamic sampling"),
            *batch_plan("grpo", config, len(problems)),
        ]
    )
    callbacks = heldout_callbacks(script, config)  # refuses a held-out budget before the model loads
    model, tokenizer, peft_config, described = load_policy(script, model_cfg, config)
    print_plan([f"model: {described}"])
    score_labelled_positions_only()
    if script.reshuffle_options:
        reshuffler = OptionReshuffler(problems, seed=config.seed)
        dataset = reshuffler.dataset
        callbacks.append(epoch_callback(reshuffler))
    else:
        dataset = grpo_dataset(problems)
    trainer = dynamic_sampling_trainer(script.dynamic_sampling_rounds, config.seed)(
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
    Started from an SFT adapter merged into `init-merged`, the final adapter is rewritten as SFT ⊕ GRPO on
    the SFT run's base (`compose_on_base`). With `prepare_only`, only write the model a vLLM server must load (the merged SFT init) and return it."""
    if script.prepare_only:
        path = server_model(script, model_cfg, config)
        print_plan([f"server model: {path}"])
        return {"server_model": path}
    trainer = build_grpo_trainer(script, config, model_cfg)
    summary = train_and_save(trainer, script, config)
    source = resolve_model(model_cfg.model_name_or_path)
    if source.adapter_path is not None and script.adapter_mode == "merge" and model_cfg.use_peft and trainer.accelerator.is_main_process:
        compose_on_base(source, config.output_dir)
        print_plan([f"final adapter: SFT ⊕ GRPO on {source.hf_path} (the run's adapter on init-merged: {TRAINED_ADAPTER_DIR}/)"])
    return summary


def main(argv: Sequence[str] | None = None) -> dict:
    return main_for("grpo", run_grpo, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
