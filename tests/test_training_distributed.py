"""The multi-process path: SFT and GRPO for two steps under `accelerate launch` with 2 CPU processes (gloo).

`accelerate launch --cpu --num_processes 2` silently starts one process, so this uses `--multi_gpu`, which
falls back to gloo on a machine without GPUs; each run proves world size 2 from its own summary."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from test_training import option_problem, tiny_args

from recon.data.problem import write_jsonl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two_processes(module: str, argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()), "-m", module, *argv]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sft", "grpo"])
def test_two_process_training(kind, tiny_model_dir, tmp_path):
    data = tmp_path / "problems.jsonl"
    write_jsonl([option_problem(i) for i in range(8)], data)
    out = tmp_path / kind
    extra = {"max_length": 96} if kind == "sft" else {"per_device_train_batch_size": 2, "num_generations": 2,
                                                        "max_completion_length": 8, "think": "none"}  # fmt: skip
    # A global batch of 4 with at most 2 per device: the recipe's accumulation (3) is overridden from the world size
    extra.update(global_batch_size=4, gradient_accumulation_steps=3)
    proc = launch_two_processes(f"recon.training.{kind}", tiny_args(tiny_model_dir, data, out, **extra), tmp_path)
    log = proc.stdout + proc.stderr
    assert "[recon.train] world_size=2" in log
    assert "2 per device × 2 processes × 1 accumulation = 4" in log
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    assert (out / "checkpoint-2" / "adapter_model.safetensors").exists()
