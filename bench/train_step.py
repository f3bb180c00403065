"""Training throughput of SmolLM2 on CPU: trained tokens/s of the pipeline's SFT step (the CPU recipe through
`recon.training.sft`) for each configuration beside a plain PyTorch loop on the same batches, all in one run
(configurations interleaved step by step); the padding of random vs length-grouped vs length-bucket batches;
optionally seconds per GRPO step, the share of it spent generating and the fraction of groups with signal.

    python bench/train_step.py [--steps 5] [--batch 2] [--data answer-only|sft_cot|FILE.jsonl] [--grpo] [--out runs/bench/train_step]

"Trained tokens" are the non-padding tokens of the sequences trained on (prompt + completion); the
completion tokens (the ones with a loss) are counted beside them. The first step of each configuration
is a warm-up and is not timed. Writes `train_step.json` and `train_step.md` under --out and prints the table."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
PEAK: dict = {}  # this machine's roofline (eval_throughput.roofline), measured once in main()
SHAPE: dict = {}  # the model's parameter counts (eval_throughput.model_shape)


def step_clock():
    """A TrainerCallback recording the wall time at the end of every optimizer step."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    return StepClock()


def answer_only_rows(n: int) -> list[dict]:
    """Prompt/completion rows of the published train split with an answer-only target (the demo's SFT shape:
    ~270 prompt tokens, ~25 target tokens)."""
    from recon.data.problem import even_slice
    from recon.training.data import load_problems

    return [
        {"prompt": p.messages, "completion": [{"role": "assistant", "content": f"<think>\n</think>\n\\boxed{{{p.gold}}}"}]}
        for p in even_slice(load_problems("train"), n)
    ]


def sft_trainer(data: str, model: str, out: str, steps: int, extra: list[str]):
    from recon.training.args import parse_args
    from recon.training.sft import build_sft_trainer

    argv = ["--config", str(REPO / "recipes" / "cpu" / "smollm2" / "sft.yaml"), "--model_name_or_path", model,
            "--dataset", data, "--output_dir", out, "--max_steps", str(steps), "--save_strategy", "no",
            "--heldout_size", "0", *extra]  # fmt: skip
    script, config, model_cfg = parse_args("sft", argv)
    script.max_train_samples = None  # all rows: the recipe's 64 are too few for batch 8 × steps
    return build_sft_trainer(script, config, model_cfg)


def batch_tokens(batch) -> tuple[int, int]:
    """(non-padding tokens, tokens with a loss) of a collated SFT batch."""
    return int(batch["attention_mask"].sum()), int((batch["labels"][:, 1:] != -100).sum())


def plain_loss(model, batch, completion_only: bool):
    """A bare PyTorch loss: the model's own cross-entropy over full logits, or (`completion_only`) the LM head
    run on the labelled positions only (backbone → gather → head)."""
    import torch

    if not completion_only:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    hidden = model.get_base_model().model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    mask = labels != -100
    return torch.nn.functional.cross_entropy(model.get_output_embeddings()(hidden[:, :-1][mask]), labels[mask])


def sft_rows(data: str, model: str, steps: int, batch_size: int) -> list[dict]:
    """Seconds per SFT step of each configuration on the same batches, configurations interleaved step by step
    (a loaded, shared CPU slows them alike): the pipeline's loss (SFTTrainer.compute_loss, TRL's fused LM head
    on every position as TRL 1.16 does on CPU, or on labelled positions only as Recon does) and a bare loop
    (full logits, or completion-only logits), each followed by backward and an AdamW step; then the whole
    pipeline step (`trainer.train()`, with its data loading, clipping, scheduler, logging) on the same batches."""
    import torch
    import trl.trainer.utils as trl_utils

    with tempfile.TemporaryDirectory() as out:
        trainer = sft_trainer(data, model, out, steps, ["--per_device_train_batch_size", str(batch_size)])
        compact_rule = trl_utils._use_triton  # installed by build_sft_trainer
        loader = iter(trainer.get_train_dataloader())
        batches = [next(loader) for _ in range(steps)]
        model_ = trainer.model
        model_.train()
        optimizer = torch.optim.AdamW([p for p in model_.parameters() if p.requires_grad], lr=trainer.args.learning_rate)

        def pipeline(compact: bool):
            def loss(batch):
                trl_utils._use_triton = compact_rule if compact else compact_rule.trl_use_triton
                try:
                    return trainer.compute_loss(model_, dict(batch))
                finally:
                    trl_utils._use_triton = compact_rule
            return loss

        configs = {
            "pipeline loss, LM head on every position (TRL 1.16 on CPU)": pipeline(False),
            "pipeline loss, LM head on labelled positions only (Recon)": pipeline(True),
            "plain loop, full logits": lambda batch: plain_loss(model_, batch, False),
            "plain loop, completion-only logits": lambda batch: plain_loss(model_, batch, True),
        }
        seconds = {name: [] for name in configs}
        for batch in batches:
            for name, loss_of in configs.items():
                started = time.perf_counter()
                loss_of(batch).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                seconds[name].append(time.perf_counter() - started)
        rows = [_row(name, batches[1:], sum(seconds[name][1:])) for name in configs]

        # The whole pipeline step, on the very batches timed above.
        trainer.get_train_dataloader = lambda: batches
        clock = step_clock()
        trainer.add_callback(clock)
        started = time.perf_counter()
        trainer.train()
        rows.append(_row("pipeline step (trainer.train(): + data, clipping, scheduler, logging)", batches[1:],
                         clock.ends[-1] - clock.ends[0]))  # fmt: skip
        rows[-1]["total_s_including_first_step"] = round(time.perf_counter() - started, 1)
    base = rows[2]["trained_tokens_per_s"]
    dtype = str(trainer.model.dtype if hasattr(trainer.model, "dtype") else "float32").removeprefix("torch.")
    for row in rows:
        row["ratio_to_plain_loop"] = round(row["trained_tokens_per_s"] / base, 2)
        row["peak_fraction"] = round(row["useful_flops_per_s"] / PEAK["matmul_flops"].get(dtype, PEAK["matmul_flops"]["float32"]), 4)
        row["useful_gflop_per_s"] = round(row.pop("useful_flops_per_s") / 1e9, 2)
    return rows


PADDING_SAMPLERS = {  # batch orders compared by padding_rows: name → recipe overrides
    "random": ["--train_sampling_strategy", "random"],
    "group_by_length": ["--train_sampling_strategy", "group_by_length"],
    "length_buckets": ["--train_sampling_strategy", "random", "--length_buckets", "true"],
}


def padding_rows(data: str, model: str, batch_size: int, samplers=tuple(PADDING_SAMPLERS)) -> list[dict]:
    """Share of padding in a full epoch of batches of `batch_size`, random vs length-grouped vs length buckets
    (similar lengths per batch, batches in random order; `recon.training.sampling`), no training."""
    rows = []
    for name in samplers:
        with tempfile.TemporaryDirectory() as out:
            trainer = sft_trainer(data, model, out, 1, ["--per_device_train_batch_size", str(batch_size),
                                                         "--gradient_accumulation_steps", "1", *PADDING_SAMPLERS[name]])  # fmt: skip
            batches = list(trainer.get_train_dataloader())
        real = sum(int(b["attention_mask"].sum()) for b in batches)
        padded = sum(int(b["attention_mask"].numel()) for b in batches)
        rows.append({"batches": f"{name}, batch {batch_size}", "padding_share": round(1 - real / padded, 3),
                     "sequence_tokens": real, "padded_tokens": padded})  # fmt: skip
    return rows


def train_flops(shape: dict, batch) -> float:
    """The useful work of one LoRA SFT step on `batch` (the base frozen, so no weight gradients): forward and
    input-gradient matmuls of the body over every non-padding token (2 × 2 × body params), the LM head on the
    labelled positions only (2 × 2 × head params), attention forward + backward (3 × 4 × layers × width × context
    per sequence position). A configuration doing more (the LM head on every position) shows a lower fraction."""
    body = shape["params"] - shape["lm_head_params"]
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    _, scored = batch_tokens(batch)
    attention = sum(3 * 4 * shape["layers"] * shape["attention_width"] * n * (n + 1) / 2 for n in lengths)
    return 4 * body * sum(lengths) + 4 * shape["lm_head_params"] * scored + attention


def _row(label: str, timed_batches: list, seconds: float) -> dict:
    tokens = [batch_tokens(b) for b in timed_batches]
    trained, with_loss = sum(t for t, _ in tokens), sum(c for _, c in tokens)
    return {
        "config": label,
        "batch": int(timed_batches[0]["input_ids"].shape[0]),
        "timed_steps": len(timed_batches),
        "s_per_step": round(seconds / len(timed_batches), 3),
        "trained_tokens_per_s": round(trained / seconds, 1),
        "completion_tokens_per_s": round(with_loss / seconds, 1),
        "tokens_per_step": round(trained / len(timed_batches), 1),
        "useful_flops_per_s": sum(train_flops(SHAPE, b) for b in timed_batches) / seconds,
    }


def grpo_rows(model: str, steps: int) -> list[dict]:
    """Seconds per GRPO step of the CPU recipe (its first step untimed) and the share spent generating."""
    from recon.training.args import parse_args
    from recon.training.grpo import build_grpo_trainer

    with tempfile.TemporaryDirectory() as out:
        argv = ["--config", str(REPO / "recipes" / "cpu" / "smollm2" / "grpo.yaml"), "--model_name_or_path", model,
                "--output_dir", out, "--max_steps", str(steps), "--save_strategy", "no", "--heldout_size", "0"]  # fmt: skip
        script, config, model_cfg = parse_args("grpo", argv)
        trainer = build_grpo_trainer(script, config, model_cfg)
        generating: list[tuple[float, float]] = []
        generate = trainer.model.generate

        def timed_generate(*args, **kwargs):
            started = time.perf_counter()
            try:
                return generate(*args, **kwargs)
            finally:
                generating.append((started, time.perf_counter()))

        trainer.model.generate = timed_generate
        clock = step_clock()
        trainer.add_callback(clock)
        trainer.train()
    logs = [e for e in trainer.state.log_history if "loss" in e][1:]
    seconds = clock.ends[-1] - clock.ends[0]
    in_window = sum(end - start for start, end in generating if start >= clock.ends[0])
    return [{
        "config": f"{config.generation_batch_size // config.num_generations} prompts × {config.num_generations} completions "
                  f"≤ {config.max_completion_length} tokens, dynamic sampling rounds {script.dynamic_sampling_rounds}",
        "timed_steps": len(clock.ends) - 1,
        "s_per_step": round(seconds / (len(clock.ends) - 1), 1),
        "generate_share": round(in_window / seconds, 2),
        "mean_completion_tokens": round(statistics.mean(e["completions/mean_length"] for e in logs), 1),
        "signal_fraction_drawn": round(statistics.mean(e["signal/fraction_drawn"] for e in logs), 2),
        "extra_prompts_per_step": round(statistics.mean(e["signal/extra_prompts"] for e in logs), 2),
    }]


def table(rows: list[dict]) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)] + [
        "| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows
    ]


def markdown(rows: list[dict], padding: list[dict], grpo: list[dict], meta: dict) -> str:
    lines = [f"# SFT training throughput — {meta['model']} on {meta['cpu']['model']} ({meta['threads']} threads, "
             f"{meta['dtype']}, data {meta['data']}, {meta['when']})", "",
             "The first four rows ran interleaved step by step on the same batches (ratios comparable under a varying "
             "load); the last row, the whole trainer step, ran after them on the same batches.", "", *table(rows), "",
             "## Padding per epoch", "", *table(padding)]  # fmt: skip
    if grpo:
        lines += ["", "## GRPO step", "", *table(grpo)]
    return "\n".join(lines) + "\n"


def main() -> None:
    import torch

    from eval_throughput import cpu_record, model_shape, roofline

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per configuration (the first is not timed)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--data", default="answer-only", help="answer-only (published train items, boxed answer), sft_cot, or an SFT JSONL")
    parser.add_argument("--examples", type=int, default=256, help="rows of answer-only data")
    parser.add_argument("--batch", type=int, default=2, help="sequences per SFT step in the timed comparison")
    parser.add_argument("--grpo", action="store_true", help="also time GRPO steps of the CPU recipe")
    parser.add_argument("--out", default="runs/bench/train_step")
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is a warm-up)")

    global PEAK, SHAPE
    PEAK, SHAPE = roofline(), model_shape()
    print(f"roofline: matmul float32 {PEAK['matmul_flops']['float32'] / 1e9:.1f} GFLOP/s, bfloat16 "
          f"{PEAK['matmul_flops']['bfloat16'] / 1e9:.1f} GFLOP/s; memory {PEAK['memory_bytes_per_s'] / 1e9:.1f} GB/s", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data == "answer-only":
        data = str(out / "answer_only.jsonl")
        Path(data).write_text("".join(json.dumps(r) + "\n" for r in answer_only_rows(args.examples)))
    rows = sft_rows(data, args.model, args.steps, args.batch)
    padding = padding_rows(data, args.model, 8)
    grpo = grpo_rows(args.model, args.steps) if args.grpo else []
    from recon.inference.hf import auto_dtype

    meta = {"roofline": PEAK, "model_shape": SHAPE, "model": args.model, "threads": torch.get_num_threads(), "dtype": f"dtype auto = {auto_dtype('cpu')}",
            "data": args.data, "cpu": cpu_record(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    (out / "train_step.json").write_text(json.dumps({"meta": meta, "sft": rows, "padding": padding, "grpo": grpo}, indent=2) + "\n")
    text = markdown(rows, padding, grpo, meta)
    (out / "train_step.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
