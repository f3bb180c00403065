"""Seconds per SFT step and per GRPO step for SmolLM2 on CPU (the CPU recipes), and the share of a GRPO
step spent generating — with and without stopping at the closed answer box.

    python bench/train_step.py [--steps 3] [--model smollm2] [--out runs/bench/train_step]

Writes `train_step.json` and `train_step.md` under --out and prints the markdown table."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def step_timer():
    """A TrainerCallback recording wall seconds per optimizer step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []
            self._start = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds.append(time.perf_counter() - self._start)

    return StepTimer()


def time_generate(model) -> list[float]:
    """Wrap `model.generate` (already wrapped for stop-at-answer, if on) to record seconds per call."""
    calls: list[float] = []
    original = model.generate

    def generate(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            calls.append(time.perf_counter() - start)

    model.generate = generate
    return calls


def run(kind: str, model: str, steps: int, extra: list[str]) -> dict:
    from recon.training.args import parse_args

    recipe = REPO / "recipes" / "cpu" / "smollm2" / f"{kind}.yaml"
    with tempfile.TemporaryDirectory() as out:
        argv = ["--config", str(recipe), "--model_name_or_path", model, "--output_dir", out,
                "--max_steps", str(steps), "--save_strategy", "no", "--heldout_size", "0", *extra]  # fmt: skip
        script, config, model_cfg = parse_args(kind, argv)
        if kind == "sft":
            from recon.training.sft import build_sft_trainer

            trainer = build_sft_trainer(script, config, model_cfg)
            generate_calls: list[float] = []
        else:
            from recon.training.grpo import build_grpo_trainer

            trainer = build_grpo_trainer(script, config, model_cfg)
            generate_calls = time_generate(trainer.model)
        timer = step_timer()
        trainer.add_callback(timer)
        trainer.train()
        logs = [e for e in trainer.state.log_history if "loss" in e]
    row = {
        "kind": kind,
        "settings": " ".join(extra) or "recipe",
        "steps": len(timer.seconds),
        "s_per_step": round(statistics.mean(timer.seconds), 2),
        "s_per_step_after_first": round(statistics.mean(timer.seconds[1:]), 2) if len(timer.seconds) > 1 else None,
        "batch": f"{config.per_device_train_batch_size}×{config.gradient_accumulation_steps}",
    }
    if kind == "sft":
        row["tokens_per_step"] = round(logs[-1]["num_tokens"] / len(logs)) if logs else None
    else:
        row["generate_share"] = round(sum(generate_calls) / sum(timer.seconds), 3)
        row["mean_completion_tokens"] = round(statistics.mean(e["completions/mean_length"] for e in logs), 1)
        row["clipped_ratio"] = round(statistics.mean(e["completions/clipped_ratio"] for e in logs), 2)
        row["max_completion_length"] = config.max_completion_length
    return row


def markdown(rows: list[dict], meta: dict) -> str:
    keys = ["kind", "settings", "steps", "s_per_step", "s_per_step_after_first", "batch", "tokens_per_step",
            "generate_share", "mean_completion_tokens", "clipped_ratio", "max_completion_length"]  # fmt: skip
    lines = [f"# Training step time — {meta['model']} on CPU ({meta['threads']} threads, {meta['when']})", "",
             "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]  # fmt: skip
    lines += ["| " + " | ".join("" if r.get(k) is None else str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per measurement")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--out", default="runs/bench/train_step")
    parser.add_argument("--skip-sft", action="store_true")
    args = parser.parse_args()

    rows = []
    if not args.skip_sft:
        rows.append(run("sft", args.model, args.steps, []))
    rows.append(run("grpo", args.model, args.steps, ["--stop_at_answer", "true"]))
    rows.append(run("grpo", args.model, args.steps, ["--stop_at_answer", "false"]))
    meta = {"model": args.model, "threads": torch.get_num_threads(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_step.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    text = markdown(rows, meta)
    (out / "train_step.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
