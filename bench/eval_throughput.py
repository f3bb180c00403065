"""Evaluation throughput on the same Recon-Eval prompts: HF batch 1, HF batched, llama.cpp, the best
configuration found (`BEST` below, with early stop at the final boxed answer) and the `cpu-demo` preset's
eval configuration (its backend options as `make demo` runs them, `auto` resolved on this CPU).

    python bench/eval_throughput.py --items 50 --max-tokens 64 [--skip llama.cpp]

Prints items/s and generated tokens/s per configuration and both as ratios to HF batch 1 (target ≥ 5×),
with the CPU model and its SIMD flags beside the table (and in --json)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from recon.data.published import load_split
from recon.inference import SamplingParams, load_backend
from recon.inference.hf import auto_dtype, auto_threads, cpu_flags
from recon.pipeline.preset import load_preset

BASELINES = [
    # (label, backend, options, stop_at_answer)
    ("hf batch 1", "hf", {"batch_size": 1}, False),
    ("hf batched (16)", "hf", {"batch_size": 16}, False),
    ("llama.cpp", "llamacpp", {}, False),
]
# The fastest configuration found, reported as "best: …". bf16 uses the CPU's AMX/AVX512-BF16 units (2x
# float32 here). Measured slower here: float32 batches of 50, bf16 batches of 32 (padding to the longest
# prompt); llama.cpp with early stop. Early stop rarely fires for SmolLM2 within a short budget but costs nothing.
BEST = ("hf bf16 batched (16) + stop at answer", "hf", {"batch_size": 16, "dtype": "bfloat16"}, True)
SIMD_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def demo_config() -> tuple[str, str, dict, bool]:
    """The cpu-demo preset's eval backend and options (the evaluator always stops at the answer box)."""
    section = load_preset("cpu-demo")["eval"]
    options = dict(section.get("backend_options", {}))
    return (f"cpu-demo eval: {section['backend']} {options} + stop at answer", section["backend"], options, True)


def cpu_record() -> dict:
    """The CPU every figure of a run was measured on: model name, SIMD flags, what `auto` resolves to."""
    try:
        name = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    flags = cpu_flags()
    return {"model": name, "cpus": os.cpu_count(), "simd_flags": [f for f in SIMD_FLAGS if f in flags],
            "auto_dtype": auto_dtype("cpu"), "auto_threads": auto_threads()}


def measure(label, backend_name, options, stop_at_answer, conversations, max_tokens) -> dict:
    backend = load_backend(backend_name, "smollm2", **options)  # every configuration loads its own
    backend.generate(conversations[:1], SamplingParams(max_tokens=4))  # warm-up (threads, caches)
    params = SamplingParams(max_tokens=max_tokens, stop_at_answer=stop_at_answer)
    started = time.perf_counter()
    outputs = backend.generate(conversations, params)
    seconds = time.perf_counter() - started
    tokens = sum(c[0].completion_tokens for c in outputs)
    row = {
        "config": label,
        "seconds": round(seconds, 2),
        "items_per_s": len(conversations) / seconds,
        "tokens_per_s": tokens / seconds,
        "completion_tokens": tokens,
        "answered_early": sum(c[0].finish_reason == "stop" for c in outputs),
    }
    print(f"  {label:36s} {seconds:7.1f} s  {row['items_per_s']:6.3f} items/s  {row['tokens_per_s']:7.1f} tok/s", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument("--skip", action="append", default=[], help="leave out a configuration by label (e.g. llama.cpp)")
    args = parser.parse_args()
    if "hf batch 1" in args.skip:
        parser.error("hf batch 1 is the reference of every ratio; it cannot be skipped")
    cpu = cpu_record()
    print(f"cpu: {cpu['model']}, {cpu['cpus']} cpus, flags {' '.join(cpu['simd_flags'])}; auto = {cpu['auto_dtype']}, "
          f"{cpu['auto_threads']} threads", flush=True)

    problems = load_split("eval")
    step = max(1, len(problems) // args.items)
    prompts = [p.messages for p in problems[::step][: args.items]]
    print(f"{len(prompts)} Recon-Eval prompts (every {step}th item), max_tokens={args.max_tokens}, greedy, SmolLM2-135M", flush=True)
    rows = [measure(*config, prompts, args.max_tokens) for config in BASELINES if config[0] not in args.skip]
    best = measure(*BEST, prompts, args.max_tokens)
    rows.append({**best, "config": f"best: {best['config']}"})
    rows.append(measure(*demo_config(), prompts, args.max_tokens))

    base = rows[0]
    print(f"\n{'configuration':44s} {'items/s':>8s} {'tok/s':>8s} {'items/s ×':>10s} {'tok/s ×':>8s}")
    for row in rows:
        row["items_ratio"] = row["items_per_s"] / base["items_per_s"]
        row["tokens_ratio"] = row["tokens_per_s"] / base["tokens_per_s"]
        print(
            f"{row['config']:44s} {row['items_per_s']:8.3f} {row['tokens_per_s']:8.1f} "
            f"{row['items_ratio']:9.2f}× {row['tokens_ratio']:7.2f}×"
        )
    print(f"\ncpu: {cpu['model']}, flags {' '.join(cpu['simd_flags'])}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "items": len(prompts), "max_tokens": args.max_tokens, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
