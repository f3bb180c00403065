"""GPU smoke check and throughput: the hf backend and one SFT + GRPO run on CUDA.

Uses a randomly initialised model with SmolLM2-135M's exact architecture and tokenizer (weights do not
matter for speed), so it needs no hub access. Prints tokens/s for batch 1 vs batched generation and
seconds per SFT / GRPO step.

    python bench/gpu_check.py --tokenizer DIR [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def build_model(tokenizer_dir: Path, out: Path, tiny: bool = False) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.save_pretrained(out)
    size = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    if not tiny:  # SmolLM2-135M's architecture
        size = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3)
    config = LlamaConfig(
        vocab_size=len(tok), max_position_embeddings=8192, rope_theta=100000.0, tie_word_embeddings=True, **size,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def generation_throughput(model_dir: Path, problems, max_tokens: int, device: str) -> dict:
    from recon.inference import SamplingParams, load_backend

    params = SamplingParams(max_tokens=max_tokens, temperature=0.0, stop_at_answer=False)
    results = {}
    for label, batch_size, count in (("batch1", 1, min(8, len(problems))), ("batched", 64, len(problems))):
        backend = load_backend("hf", model=str(model_dir), device=device, batch_size=batch_size)
        conversations = [p.messages for p in problems[:count]]
        backend.generate(conversations[:2], params)  # warm-up
        t0 = time.perf_counter()
        outputs = backend.generate(conversations, params)
        seconds = time.perf_counter() - t0
        tokens = sum(c.completion_tokens for out in outputs for c in out)
        results[label] = {"items": count, "tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}
        del backend
    results["batched_over_batch1"] = round(results["batched"]["tokens_per_s"] / results["batch1"]["tokens_per_s"], 2)
    return results


def train(kind: str, model: str, dataset: Path, out: Path, steps: int, extra: list[str], device: str) -> dict:
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "cpu" / "smollm2" / f"{kind}.yaml"
    command = [
        sys.executable, "-m", f"recon.training.{kind}", "--config", str(recipe),
        "--model_name_or_path", model, "--dataset", str(dataset), "--output_dir", str(out),
        *(["--use_cpu", "false", "--bf16", "true", "--dtype", "bfloat16"] if device == "cuda" else ["--use_cpu", "true", "--bf16", "false"]),
        "--max_steps", str(steps),
        "--save_steps", str(steps), "--heldout_size", "0", "--max_train_samples", "64", *extra,
    ]
    t0 = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    summary_file = out / "train_summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return {
        "returncode": completed.returncode,
        "wall_s": round(seconds, 1),
        "train_s": summary.get("seconds"),
        "steps": summary.get("global_step"),
        "s_per_step": round(summary["seconds"] / summary["global_step"], 2) if summary.get("global_step") else None,
        "log_tail": (completed.stdout + completed.stderr)[-1500:] if completed.returncode else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("gpu-check"))
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a dry run of the script itself")
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6, help="SFT steps (GRPO runs half as many)")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model instead of SmolLM2-135M's shape (dry run)")
    args = parser.parse_args()
    import torch

    from recon.data.generate import generate_problems
    from recon.data.problem import write_jsonl

    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device")
    report["device"] = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    model_dir = build_model(args.tokenizer, args.out / "smollm2-arch-random", args.tiny)
    problems = generate_problems("all", 4, "gpu-check", 0)
    data = args.out / "problems.jsonl"
    write_jsonl(problems, data)
    report["generation"] = generation_throughput(model_dir, problems[: args.problems], args.max_tokens, args.device)
    print(json.dumps(report, indent=2), flush=True)
    report["sft"] = train("sft", str(model_dir), data, args.out / "sft", args.steps, ["--per_device_train_batch_size", "8"], args.device)
    print(json.dumps(report["sft"], indent=2), flush=True)
    report["grpo"] = train(
        "grpo", str(args.out / "sft"), data, args.out / "grpo", max(1, args.steps // 2),
        ["--per_device_train_batch_size", "8", "--num_generations", "8", "--max_completion_length", "128"],
        args.device,
    )
    print(json.dumps(report, indent=2))
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
