"""What SFT and GRPO share: the entry point, auto-resume, the final save and held-out evaluation."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from recon.training.args import BatchConfigError, last_checkpoint, parse_args, print_plan


def main_for(kind: str, run: Callable, argv: Sequence[str]) -> dict:
    """Parse the recipe and overrides, then run; a batch configuration that cannot work exits with
    status 2 and says why, before any model is loaded."""
    try:
        script, config, model_cfg = parse_args(kind, argv)
        return run(script, config, model_cfg)
    except BatchConfigError as exc:
        print(f"[recon.train] {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def resume_checkpoint(script, config) -> str | None:
    """An explicit `resume_from_checkpoint`, else the last checkpoint in output_dir (when auto_resume)."""
    if config.resume_from_checkpoint:
        return config.resume_from_checkpoint
    return last_checkpoint(config.output_dir) if script.auto_resume else None


def _start_step_callback(summary: dict):
    from transformers import TrainerCallback

    class StartStep(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            summary["start_step"] = state.global_step

    return StartStep()


def train_and_save(trainer, script, config) -> dict:
    """Train (auto-resuming), save the final model and tokenizer to output_dir, write `train_summary.json`."""
    resume = resume_checkpoint(script, config)
    if resume:
        print_plan([f"resuming from {resume}"])
    summary: dict = {"output_dir": config.output_dir, "resumed_from": resume, "world_size": trainer.accelerator.num_processes}
    trainer.add_callback(_start_step_callback(summary))
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(config.output_dir)
    summary.update(
        global_step=trainer.state.global_step,
        train_loss=result.training_loss,
        seconds=round(time.perf_counter() - started, 2),
        checkpoints=sorted(
            (p.name for p in Path(config.output_dir).glob("checkpoint-*")), key=lambda name: int(name.split("-")[-1])
        ),
    )
    if trainer.accelerator.is_main_process:
        Path(config.output_dir, "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print_plan([f"done: step {summary['global_step']}, loss {summary['train_loss']:.4f}, saved to {config.output_dir}"])
    return summary


def heldout_callbacks(script, config) -> list:
    """[a callback evaluating every saved checkpoint on a fixed held-out slice], or [] when heldout_size is 0."""
    if script.heldout_size <= 0:
        return []
    from recon.data.problem import even_slice
    from recon.training.data import load_problems

    problems = even_slice(load_problems(script.heldout_split, script.data_dir), script.heldout_size)
    max_tokens = script.heldout_max_tokens or getattr(config, "max_completion_length", None) or 512
    return [heldout_eval_callback(problems, script.think, max_tokens, config.output_dir)]


def heldout_eval_callback(problems, think: str, max_tokens: int, output_dir: str):
    """Greedy evaluation of each checkpoint through `recon.evaluation.evaluate` (main process only), written to
    `output_dir/heldout/checkpoint-N/`; one summary line per checkpoint in `output_dir/heldout/summary.jsonl`."""
    from transformers import TrainerCallback

    class HeldoutEval(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            name = f"checkpoint-{state.global_step}"
            checkpoint = Path(output_dir) / name
            if not checkpoint.is_dir():
                return
            out = Path(output_dir) / "heldout" / name
            result = evaluate_checkpoint(checkpoint, problems, think, max_tokens, out)
            line = {"step": state.global_step, "checkpoint": str(checkpoint), "results": str(out), **result}
            with (Path(output_dir) / "heldout" / "summary.jsonl").open("a") as fh:
                fh.write(json.dumps(line) + "\n")
            print_plan([f"held-out eval at step {state.global_step}: {json.dumps(result)}"])

    return HeldoutEval()


def evaluate_checkpoint(checkpoint: Path, problems, think: str, max_tokens: int, out_dir: Path) -> dict:
    """Greedy evaluation of a saved checkpoint on `problems` with the transformers backend (the
    evaluator's own run folder: samples, results JSON and markdown); returns the headline numbers."""
    import gc

    import torch

    from recon.evaluation import EvalConfig, evaluate
    from recon.inference import load_backend

    backend = load_backend("hf", model=str(checkpoint), batch_size=8)
    config = EvalConfig(
        model=str(checkpoint), backend="hf", data="heldout", max_tokens=max_tokens, think=think,
        temperature=0.0, label=checkpoint.name,
    )  # fmt: skip
    try:
        results = evaluate(backend, list(problems), config, out_dir, show_progress=False)
    finally:
        del backend
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return headline(results)


def headline(results: dict) -> dict:
    """The scalar numbers of the evaluator's overall results (accuracy, format rate, …)."""
    return {k: v for k, v in results["overall"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
