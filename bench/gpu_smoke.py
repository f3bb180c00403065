"""GPU smoke test of `--preset paper`'s training and inference path: one command, ≤ 8 minutes on one GPU,
no network. It has NOT yet run on a GPU (written in a session without one); run it when a GPU is lent.

    python bench/gpu_smoke.py                  # CUDA: writes bench/results/gpu_smoke_<gpu>.json
    python bench/gpu_smoke.py --cpu --tiny     # the parts a CPU can check (no vLLM, 8-bit optimisers, probe)
    python bench/gpu_smoke.py --wheels DIR     # first pip-install missing pure-Python deps from DIR, offline
    python bench/gpu_smoke.py --fetch-wheels DIR --python-version 3.12   # (with network) fill DIR for that Python

Everything is built on the spot, nothing is downloaded: a byte-level BPE tokenizer trained on the smoke's
own texts with DeepSeek-R1's special tokens (`<think>`/`</think>` as ordinary added tokens, as in
R1-Distill), a small random Qwen2 model carrying the paper recipe's R1 chat template, and option problems
whose SFT targets ("</think>" then the boxed answer) a random model learns in a few steps.

Steps (each timed, each check recorded; the JSON holds versions and the GPU name):
1. SFT with the PAPER recipe (`recipes/paper/r1-distill-qwen-7b/sft.yaml`) through `accelerate launch`,
   overridden to a few steps and short lengths (a higher learning rate so the format is learnt).
2. GRPO with the PAPER recipe from the SFT adapter through `accelerate launch` (vLLM colocated when vLLM is
   installed; held-out evaluation through the trainer's vLLM): checks reward variance within groups
   (`reward_std` > 0 at some step), finite KL, the merged init model, `</think>` surviving decode.
3. Evaluation and self-play of the GRPO model through the hf backend.
4. GPU only: a memory probe of a 7B-shaped Qwen2 (R1-Distill-Qwen-7B's dimensions, random weights) with
   LoRA r=8 on all projections and activation checkpointing: one forward/backward of GRPO's per-device
   micro-batch, 8 sequences × 6,144 tokens, log-probabilities of the last 5,120 as TRL computes them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "src" / "recon" / "recipes" / "paper" / "r1-distill-qwen-7b"
ACCELERATE = REPO / "src" / "recon" / "recipes" / "accelerate_configs"
PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "vllm", "deepspeed", "bitsandbytes")
# Pure-Python packages a bare GPU image may lack, pinned to what the CPU suite runs (`--fetch-wheels`).
WHEELS = ("trl==1.16.0", "peft==0.21.2", "accelerate==1.15.0", "transformers==5.24.0", "typer", "rich", "gguf", "httpx",
          "openai", "jinja2", "pyyaml", "tqdm", "markdown")  # fmt: skip
R1_SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<｜User｜>", "<｜Assistant｜>"]
CHOICES = ["raise the price", "lower the price", "keep the price", "exit the market"]


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.import_module(name).__version__
        except Exception:  # noqa: BLE001 - absent or broken: recorded as such
            found[name] = None
    return found


def fetch_wheels(target: Path, python_version: str) -> None:
    """Download (with network) the pure-Python wheels a bare image may lack, for `python_version`."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
                    python_version, "-d", str(target), *WHEELS], check=True)  # fmt: skip


def install_wheels(source: Path) -> None:
    """Install, offline, whichever of the carried wheels' packages are missing."""
    missing = [spec for spec in WHEELS if importlib.util.find_spec(spec.split("==")[0].replace("pyyaml", "yaml")) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--find-links", str(source), *missing],
                       check=True)  # fmt: skip


# ------------------------------------------------------------------ assets built on the spot


def problems(n: int):
    from recon.data.problem import Problem

    out = []
    for i in range(n):
        gold = i % len(CHOICES)
        listing = "\n".join(f"Option {k}: {c}" for k, c in enumerate(CHOICES, 1))
        out.append(
            Problem(
                id=f"smoke-{i}", category="smoke", source="gpu_smoke", question=f"Firm {i}: what should it do?",
                choices=list(CHOICES), answer_type="option", gold=f"Option {gold + 1}: {CHOICES[gold]}",
                messages=[{"role": "user", "content": f"Firm {i} faces entry. What should it do?\n\nOptions:\n{listing}"}],
            )
        )  # fmt: skip
    return out


def sft_target(problem) -> str:
    return f"<think>\nThe firm compares payoffs.\n</think>\n\n\\boxed{{{problem.gold}}}"


def build_model(out: Path, items, tiny: bool) -> Path:
    """A byte-level BPE tokenizer with R1's special tokens and template, and a random Qwen2 model."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    texts = [m["content"] for p in items for m in p.messages] + [sft_target(p) for p in items]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=R1_SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=R1_SPECIALS[0], eos_token=R1_SPECIALS[1], pad_token=R1_SPECIALS[2]
    )
    tokenizer.add_tokens(["<think>", "</think>"], special_tokens=False)  # as in R1-Distill: kept by decode
    tokenizer.chat_template = (PAPER / "chat_template.jinja").read_text()
    tokenizer.save_pretrained(out)
    width = 64 if tiny else 256
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192, tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(out)
    return out


# ------------------------------------------------------------------ steps


def launch(module: str, argv: list[str], cpu: bool, accelerate_config: str, log: Path) -> float:
    """`accelerate launch -m module argv` (one process), its output in `log`; returns seconds."""
    if cpu:
        head = ["--cpu", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    else:
        head = ["--config_file", accelerate_config, "--num_processes", "1"]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *head, "-m", module, *argv]
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    started = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed (exit {proc.returncode}); last lines:\n" + "\n".join(log.read_text().splitlines()[-40:]))
    return time.perf_counter() - started


def common_overrides(cpu: bool, env: dict) -> tuple[list[str], list[str]]:
    """(overrides every training run gets, deviations from the paper recipe this machine forces)."""
    args = ["--report_to", "none", "--logging_steps", "1", "--dataloader_num_workers", "0"]
    forced = []
    if cpu:
        args += ["--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--activation_checkpointing", "false"]
        forced.append("cpu: float32, no activation checkpointing")
    if cpu or env["bitsandbytes"] is None:
        args += ["--optim", "adamw_torch"]
        forced.append("optim adamw_torch (bitsandbytes missing: the paper's 8-bit optimisers cannot run)")
    return args, forced


def log_history(output_dir: Path) -> list[dict]:
    states = sorted(output_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    return json.loads(states[-1].read_text())["log_history"] if states else []


def run_sft(work: Path, model: Path, items, args: list[str], cpu: bool, steps: int) -> dict:
    from recon.data.problem import write_jsonl

    rows = work / "sft.jsonl"
    rows.write_text("".join(json.dumps({"prompt": p.messages, "completion": [{"role": "assistant", "content": sft_target(p)}]}) + "\n" for p in items))
    out = work / "sft"
    argv = ["--config", str(PAPER / "sft.yaml"), "--model_name_or_path", str(model), "--dataset", str(rows),
            "--output_dir", str(out), "--max_steps", str(steps), "--max_length", "256", "--learning_rate", "2e-2",
            "--warmup_steps", "0", "--save_strategy", "no", "--chat_template_path", str(PAPER / "chat_template.jinja"), *args]  # fmt: skip
    write_jsonl(items, work / "problems.jsonl")
    seconds = launch("recon.training.sft", argv, cpu, str(ACCELERATE / "ddp.yaml"), work / "sft.log")
    summary = json.loads((out / "train_summary.json").read_text())
    return {"seconds": round(seconds, 1), "global_step": summary["global_step"], "train_loss": summary["train_loss"],
            "adapter": (out / "adapter_config.json").exists()}  # fmt: skip


def run_grpo(work: Path, args: list[str], cpu: bool, env: dict, steps: int) -> tuple[dict, dict]:
    import pandas as pd

    out = work / "grpo"
    use_vllm = not cpu and env["vllm"] is not None
    zero2 = not cpu and env["deepspeed"] is not None
    argv = ["--config", str(PAPER / "grpo.yaml"), "--model_name_or_path", str(work / "sft"),
            "--dataset", str(work / "problems.jsonl"), "--heldout_split", str(work / "problems.jsonl"),
            "--output_dir", str(out), "--max_steps", str(steps), "--save_steps", str(steps),
            "--max_completion_length", "48", "--heldout_size", "4", "--heldout_max_tokens", "48",
            "--use_vllm", str(use_vllm).lower(), "--vllm_max_model_length", "512", *args]  # fmt: skip
    if cpu:  # a small group on 2 cores: 2 prompts × 4 generations
        argv += ["--global_batch_size", "8", "--per_device_train_batch_size", "8", "--num_generations", "4"]
    seconds = launch("recon.training.grpo", argv, cpu, str(ACCELERATE / ("zero2.yaml" if zero2 else "ddp.yaml")), work / "grpo.log")
    history = [h for h in log_history(out) if "kl" in h or "reward_std" in h]
    tables = sorted((out / "completions").glob("*.parquet"))
    completions = pd.concat([pd.read_parquet(t) for t in tables]) if tables else pd.DataFrame()
    texts = [str(c) for c in completions.get("completion", [])]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(work / "sft")
    roundtrip = tokenizer.decode(tokenizer("a</think>\n\\boxed{x}", add_special_tokens=False)["input_ids"], skip_special_tokens=True)
    merged = out / "init-merged"
    checks = {
        "reward_variance_within_groups": any(h.get("reward_std", 0) > 0 for h in history),
        "kl_finite": bool(history) and all(math.isfinite(h["kl"]) for h in history if "kl" in h),
        "merged_init_model": (merged / "config.json").exists() and any(merged.glob("*.safetensors")),
        "think_close_survives_decode": "</think>" in roundtrip and any("</think>" in t for t in texts),
        "heldout_evaluated": (out / "heldout" / "summary.jsonl").exists(),
    }
    result = {"seconds": round(seconds, 1), "use_vllm": use_vllm, "accelerate_config": "zero2" if zero2 else "ddp",
              "steps_logged": len(history), "reward_std": [h.get("reward_std") for h in history],
              "kl": [h.get("kl") for h in history], "completions_logged": len(texts)}  # fmt: skip
    return result, checks


def eval_and_selfplay(work: Path, items, cpu: bool) -> dict:
    from recon.evaluation import EvalConfig, evaluate
    from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay
    from recon.inference import load_backend
    from recon.inference.base import closing_backend

    started = time.perf_counter()
    with closing_backend(load_backend("hf", str(work / "grpo"), batch_size=8, device="cpu" if cpu else None)) as backend:
        config = EvalConfig(model="grpo", backend="hf", data="smoke", max_tokens=48, think="required", temperature=0.0)
        results = evaluate(backend, items[:8], config, work / "eval", show_progress=False)
        selfplay = run_selfplay(backend, "all", SelfPlayConfig(trials=1, max_tokens=32, max_retries=0), work / "selfplay", progress=False)
    return {"seconds": round(time.perf_counter() - started, 1), "eval_accuracy": results["overall"]["accuracy"],
            "selfplay_games": len(selfplay["games"])}  # fmt: skip


def memory_probe(batch: int = 8, tokens: int = 6144, completion: int = 5120) -> dict:
    """Peak GPU memory of one GRPO-style forward/backward on a 7B-shaped Qwen2 with LoRA and checkpointing."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl.trainer.utils import selective_log_softmax

    config = Qwen2Config(  # DeepSeek-R1-Distill-Qwen-7B's shape
        vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
        num_key_value_heads=4, max_position_embeddings=32768, tie_word_embeddings=False,
    )  # fmt: skip
    config._attn_implementation = "sdpa"
    started = time.perf_counter()
    torch.cuda.reset_peak_memory_stats()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16 on the GPU: no float32 copy of 7.6B weights
    try:
        with torch.device("cuda"):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(torch.float32)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=8, lora_dropout=0.0, target_modules=targets))
    weights_gb = torch.cuda.memory_allocated() / 2**30
    ids = torch.randint(0, config.vocab_size, (batch, tokens), device="cuda")
    result = {"batch": batch, "tokens": tokens, "weights_gb": round(weights_gb, 2)}
    try:
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), logits_to_keep=completion + 1).logits[:, :-1]
        logps = selective_log_softmax(logits, ids[:, -completion:])
        logps.mean().backward()
        torch.cuda.synchronize()
        result.update(ok=True, peak_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2))
    except torch.OutOfMemoryError as exc:
        result.update(ok=False, error=str(exc).splitlines()[0], peak_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2))
    result.update(total_gb=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
                  seconds=round(time.perf_counter() - started, 1))  # fmt: skip
    del model
    torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="Run on the CPU (no vLLM, no 8-bit optimisers, no memory probe).")
    parser.add_argument("--tiny", action="store_true", help="Smallest sizes and fewest steps (for checking the logic).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/recon-gpu-smoke"), help="Scratch folder.")
    parser.add_argument("--out", type=Path, default=None, help="Result JSON (default: bench/results/gpu_smoke_<gpu>.json on CUDA).")
    parser.add_argument("--wheels", type=Path, default=None, help="Install missing pure-Python deps from this folder first.")
    parser.add_argument("--fetch-wheels", type=Path, default=None, help="Download the wheels into this folder and exit.")
    parser.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    parser.add_argument("--skip-probe", action="store_true")
    args = parser.parse_args(argv)
    if args.fetch_wheels:
        fetch_wheels(args.fetch_wheels, args.python_version)
        return 0
    if args.wheels:
        install_wheels(args.wheels)
    sys.path.insert(0, str(REPO / "src"))
    import shutil

    import torch

    env = versions()
    cuda = torch.cuda.is_available() and not args.cpu
    if not cuda and not args.cpu:
        raise SystemExit("no CUDA device: run with --cpu --tiny to check the logic on a CPU")
    started = time.perf_counter()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    items = problems(16 if args.tiny else 64)
    model = build_model(args.work / "model", items, args.tiny)
    overrides, forced = common_overrides(args.cpu, env)
    report = {
        "what": "bench/gpu_smoke.py: paper recipes (SFT, GRPO) through accelerate launch on a random Qwen2 with the R1 "
        "template, eval + self-play through hf, 7B-shaped memory probe",
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "cpu_mode": args.cpu, "tiny": args.tiny, "python": platform.python_version(), "versions": env,
        "forced_deviations": forced,
    }  # fmt: skip
    report["sft"] = run_sft(args.work, model, items, overrides, args.cpu, steps=40 if args.tiny else 60)
    report["grpo"], checks = run_grpo(args.work, overrides, args.cpu, env, steps=2 if args.tiny else 3)
    report["eval_selfplay"] = eval_and_selfplay(args.work, items, args.cpu)
    if cuda and not args.skip_probe:
        report["memory_probe_7b_lora_8x6144"] = memory_probe()
        checks["memory_probe_fits"] = report["memory_probe_7b_lora_8x6144"]["ok"]
    report["checks"] = checks
    report["passed"] = all(checks.values())
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    out = args.out or (REPO / "bench" / "results" / f"gpu_smoke_{report['gpu'].split()[-1].lower()}.json" if cuda else args.work / "smoke.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
