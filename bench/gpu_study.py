"""The GPU study a user with one GPU runs in about an hour: Recon-Eval of DeepSeek-R1-Distill-Qwen-1.5B, GRPO
from it with the paper's batch (32 completions = 4 prompts × 8) and learning rate (5e-6) for STEPS steps of
2,048-token completions (vLLM colocated), Recon-Eval again, and the before/after table.

    python bench/gpu_study.py --dry-run       # the plan and a time estimate from the GPU check's measured steps
    python bench/gpu_study.py                 # run it (needs the `gpu` extra and the model from the hub)

Every command is the project's own (`recon eval`, `accelerate launch -m recon.training.grpo` with the paper
recipe); the study's choices are the overrides listed in the plan. The time estimate scales the GPU check's
measurements (bench/results/gpu_smoke_<gpu>.json, the 7B architecture) by parameters and tokens; without
such a file the dry run says so and gives no estimate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
PARAMS_B, PARAMS_7B_B = 1.78, 7.62  # parameters (billions) of the study's model and of the GPU check's architecture
STEPS, COMPLETION_TOKENS, EVAL_TOKENS, EVAL_ITEMS = 175, 2048, 2048, 300
OUT = "runs/gpu-study"


def commands(out: str = OUT, steps: int = STEPS) -> list[tuple[str, list[str]]]:
    """(label, command) of each stage, in order."""
    evaluate = ["recon", "eval", "--backend", "vllm", "--data", "recon-eval", "--think", "required", "--prefill-think",
                "--max-tokens", str(EVAL_TOKENS), "--backend-option", "gpu_memory_utilization=0.85", "--quiet"]  # fmt: skip
    grpo = ["accelerate", "launch", "--config_file", "recipes/accelerate_configs/ddp.yaml", "--num_processes", "1",
            "-m", "recon.training.grpo", "--config", "recipes/paper/r1-distill-qwen-7b/grpo.yaml",
            "--model_name_or_path", MODEL, "--output_dir", f"{out}/grpo", "--max_steps", str(steps),
            "--max_completion_length", str(COMPLETION_TOKENS), "--vllm_max_model_length", str(COMPLETION_TOKENS + 1024),
            "--save_steps", str(steps), "--heldout_size", "0"]  # fmt: skip
    return [
        ("eval before", [*evaluate, "--model", MODEL, "--label", "before", "--out", f"{out}/eval-before"]),
        ("grpo", grpo),
        ("eval after", [*evaluate, "--model", f"{out}/grpo", "--label", "after", "--out", f"{out}/eval-after"]),
    ]


def measured(results: Path = RESULTS) -> dict | None:
    """The newest GPU check result that measured the 7B architecture's steps, or None."""
    for path in sorted(results.glob("gpu_smoke_*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        report = json.loads(path.read_text())
        arch = report.get("architecture") or {}
        if not report.get("tiny") and "grpo_step" in arch and "eval_throughput" in arch:
            return {"file": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path), "gpu": report.get("gpu"), **arch}
    return None


def estimate(m: dict, steps: int = STEPS) -> dict:
    """Minutes per stage on the GPU the check ran on. GRPO step: training = the probe's 8 × 5,120-token
    forward+backward × 4 micro-batches, plus a reference forward (⅓), scaled to 2,048 tokens and to the 1.5B's
    parameters; generation = transformers' measured per-token time for 32 completions × 2,048 tokens, scaled
    by parameters (an upper bound: the study generates with vLLM). Eval: 300 items × 2,048 tokens at the hf
    backend's measured rate scaled by parameters (vLLM is faster)."""
    scale = PARAMS_B / PARAMS_7B_B
    probe, grpo, ev = m["memory_probe"], m["grpo_step"], m["eval_throughput"]
    train_s = grpo["accumulation"] * probe["seconds"] * (1 + 1 / 3) * COMPLETION_TOKENS / probe["completion_tokens"] * scale
    gen_s = grpo["generation_seconds"] * COMPLETION_TOKENS / grpo["completion_tokens"] * scale
    eval_s = EVAL_ITEMS * EVAL_TOKENS / (ev["tokens_per_s"] / scale)
    return {"grpo_step_s": round(train_s + gen_s, 1), "grpo_min": round(steps * (train_s + gen_s) / 60, 1),
            "eval_min_each": round(eval_s / 60, 1), "total_min": round((steps * (train_s + gen_s) + 2 * eval_s) / 60, 1)}  # fmt: skip


def dry_run(results: Path = RESULTS, steps: int = STEPS) -> dict:
    print(f"GPU study (bench/gpu_study.py): {MODEL} on one GPU, about an hour\n")
    print(f"  GRPO: the paper recipe (recipes/paper/r1-distill-qwen-7b/grpo.yaml): 32 completions per step = 4 prompts × 8,")
    print(f"        learning rate 5e-6, beta 0.04, vLLM colocated; overridden: model {MODEL}, {steps} steps,")
    print(f"        {COMPLETION_TOKENS:,}-token completions (paper: 5,120), no held-out slice, one save at the end")
    print(f"  Recon-Eval before and after: {EVAL_ITEMS} published items, vLLM, greedy, {EVAL_TOKENS:,} tokens (paper: 6,144)\n")
    for i, (label, cmd) in enumerate(commands(steps=steps), 1):
        print(f"  {i}. {label}: {' '.join(cmd)}")
    m = measured(results)
    plan: dict = {"model": MODEL, "steps": steps, "completion_tokens": COMPLETION_TOKENS, "commands": [c for _, c in commands(steps=steps)]}
    if m is None:
        shown = results.relative_to(REPO) if results.is_relative_to(REPO) else results
        print(f"\nTime estimate: none — no GPU check has measured step times yet (no {shown}/gpu_smoke_<gpu>.json with "
              "the 7B architecture). Run `python3 bench/gpu_smoke.py` on a GPU first.")
        plan["estimate"] = None
        return plan
    est = estimate(m, steps)
    print(f"\nTime estimate on {m['gpu']} (from {m['file']}, scaled by parameters {PARAMS_B}B/{PARAMS_7B_B}B and tokens):")
    print(f"  GRPO {est['grpo_step_s']} s/step × {steps} = {est['grpo_min']} min (generation at transformers' rate: an upper bound)")
    print(f"  eval {est['eval_min_each']} min each (hf backend's rate: an upper bound for vLLM)")
    print(f"  total about {est['total_min']} min")
    plan["estimate"] = {**est, "from": m["file"], "gpu": m["gpu"]}
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="Print the plan and the time estimate; run nothing.")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--results", type=Path, default=RESULTS, help="Where the GPU check's results are.")
    args = parser.parse_args(argv)
    if args.dry_run:
        dry_run(args.results, args.steps)
        return 0
    for label, cmd in commands(steps=args.steps):
        print(f"[gpu_study] {label}: {' '.join(cmd)}", flush=True)
        if subprocess.run(cmd, cwd=REPO).returncode != 0:
            print(f"[gpu_study] {label} failed", file=sys.stderr)
            return 1
    table = {}
    for label in ("before", "after"):
        summary = json.loads((REPO / OUT / f"eval-{label}" / "results.json").read_text())
        table[label] = summary["overall"]["accuracy"]
    print(json.dumps({"recon_eval_accuracy": table}, indent=2))
    (REPO / OUT / "study.json").write_text(json.dumps({"recon_eval_accuracy": table, "steps": args.steps}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
