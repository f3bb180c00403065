"""GRPO with a separate vLLM server, as one command: write the model the server must load (the SFT adapter
merged into output_dir/init-merged), start `trl vllm-serve` on its GPUs, wait until it answers, train on
the other GPUs with `--vllm_mode server`, then stop the server.

    recon train grpo-server --server-gpus 4,5,6,7 --train-gpus 0,1,2,3 \\
        --config recipes/paper/r1-distill-qwen-7b/grpo.yaml [--any_trl_or_recon_field value ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Sequence

from recon.errors import UserError


def server_command(model: str, gpus: list[str], port: int, max_model_len: int, memory: float, tensor_parallel: int = 1) -> list[str]:
    """`trl vllm-serve` for `model` on `gpus`: `tensor_parallel` GPUs per replica (1: a 7B model fits one GPU)
    and one data-parallel replica per group of them, so N server GPUs generate N batches at once instead of
    splitting one model N ways (which pays an all-reduce per layer per token)."""
    if len(gpus) % tensor_parallel:
        raise UserError(f"--server-tensor-parallel {tensor_parallel} does not divide the {len(gpus)} server GPUs {','.join(gpus)}")
    return ["trl", "vllm-serve", "--model", model, "--tensor_parallel_size", str(tensor_parallel),
            "--data_parallel_size", str(len(gpus) // tensor_parallel), "--port", str(port),
            "--max_model_len", str(max_model_len), "--gpu_memory_utilization", str(memory)]  # fmt: skip


def train_command(accelerate_config: str, gpus: list[str], port: int, argv: Sequence[str]) -> list[str]:
    """`accelerate launch` of GRPO on `gpus` (one process each) against the server on `port`."""
    return ["accelerate", "launch", "--config_file", accelerate_config, "--num_processes", str(len(gpus)),
            "-m", "recon.training.grpo", *argv, "--vllm_mode", "server",
            "--vllm_server_base_url", f"http://127.0.0.1:{port}"]  # fmt: skip


def wait_for_server(port: int, server: subprocess.Popen, timeout_s: float, interval_s: float = 5.0) -> None:
    """Poll the server's `/health` until it answers 200; fail if it exits or does not come up in time.
    (`trl vllm-serve` runs `vllm serve`, whose FastAPI app serves `/health`; the slash form `/health/` gets a
    307 redirect, which httpx does not follow.)"""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise UserError(f"trl vllm-serve exited with status {server.returncode} before answering; see its log above")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    raise UserError(f"trl vllm-serve did not answer on port {port} within {timeout_s:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recon train grpo-server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-gpus", required=True, help="Comma-separated GPU ids for the vLLM server, e.g. 7")
    parser.add_argument("--train-gpus", required=True, help="Comma-separated GPU ids for training, e.g. 0,1,2,3,4,5,6")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--accelerate-config", default="recipes/accelerate_configs/ddp.yaml",
                        help="Training launcher config (default DDP: LoRA's optimizer state is too small to be worth sharding)")
    parser.add_argument("--server-memory", type=float, default=0.9, help="vLLM's share of the server GPUs")
    parser.add_argument("--server-tensor-parallel", type=int, default=1,
                        help="GPUs per vLLM replica (default 1: one data-parallel replica per server GPU)")
    parser.add_argument("--startup-timeout", type=float, default=1200.0, help="Seconds to wait for the server")
    args, grpo_argv = parser.parse_known_args(argv)
    server_gpus, train_gpus = args.server_gpus.split(","), args.train_gpus.split(",")
    if set(server_gpus) & set(train_gpus):
        raise UserError(f"--server-gpus {args.server_gpus} and --train-gpus {args.train_gpus} must not share a GPU")
    if args.server_tensor_parallel < 1 or len(server_gpus) % args.server_tensor_parallel:
        raise UserError(f"--server-tensor-parallel {args.server_tensor_parallel} must divide the {len(server_gpus)} server GPUs")

    # Step 1: refuse a training GPU count that cannot reach the global batch before anything starts, then
    # write the model the server loads.
    from recon.training.args import derived_batch_args, parse_args, recipe_values
    from recon.training.model import server_model

    derived_batch_args("grpo", recipe_values(grpo_argv), len(train_gpus))
    script, config, model_cfg = parse_args("grpo", [*grpo_argv, "--prepare_only", "true"])
    model = server_model(script, model_cfg, config)
    print(f"[recon.serve] server model: {model}", flush=True)

    env = dict(os.environ)
    server = subprocess.Popen(
        server_command(model, server_gpus, args.port, config.vllm_max_model_length or 8192, args.server_memory,
                       args.server_tensor_parallel),
        env={**env, "CUDA_VISIBLE_DEVICES": ",".join(server_gpus)},
    )
    try:
        wait_for_server(args.port, server, args.startup_timeout)
        print(f"[recon.serve] vLLM server up on port {args.port}; training on GPUs {args.train_gpus}", flush=True)
        from recon.resources import packaged

        training = subprocess.run(
            train_command(packaged(args.accelerate_config), train_gpus, args.port, grpo_argv),
            env={**env, "CUDA_VISIBLE_DEVICES": ",".join(train_gpus)},
        )
        return training.returncode
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
