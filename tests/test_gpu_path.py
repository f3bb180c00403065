"""The GPU path, checked where no GPU is: `recon train grpo-server`'s readiness poll against a real loopback
HTTP server, the installed versions against every bound the recipes rely on, the GPU check's and the GPU
study's plans, and the GPU check's step functions on a tiny model on the CPU."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def health_server():
    """Start tests/fake_vllm_health_server.py (listening after `delay` s); yields (port, process)."""
    started = []

    def start(delay: float = 0.0):
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "fake_vllm_health_server.py"), str(port), str(delay)])
        started.append(proc)
        return port, proc

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def test_grpo_server_waits_for_vllm_health_without_trailing_slash(health_server):
    """vLLM's FastAPI app serves /health and redirects /health/ with a 307 that httpx does not follow: the
    poll must use /health, or readiness never comes (the command failed after 1,200 s)."""
    import httpx

    from recon.training.serve import wait_for_server

    port, proc = health_server(delay=1.0)
    started = time.monotonic()
    wait_for_server(port, proc, timeout_s=15, interval_s=0.2)
    assert time.monotonic() - started >= 0.9  # it waited for the server to listen
    # the server behaves like FastAPI's: the slash form is a redirect, not a 200
    assert httpx.get(f"http://127.0.0.1:{port}/health/", timeout=2).status_code == 307
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200


def test_grpo_server_wait_fails_when_server_exits_or_never_answers(health_server):
    from recon.errors import UserError
    from recon.training.serve import wait_for_server

    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    dead.wait(10)
    with pytest.raises(UserError, match="exited with status 3"):
        wait_for_server(free_port(), dead, timeout_s=5, interval_s=0.1)
    port, proc = health_server(delay=30.0)  # never listens within the timeout
    with pytest.raises(UserError, match="did not answer"):
        wait_for_server(port, proc, timeout_s=1.0, interval_s=0.2)


def test_grpo_server_runs_one_data_parallel_replica_per_server_gpu():
    from recon.errors import UserError
    from recon.training.serve import server_command

    server = server_command("m", ["4", "5", "6", "7"], 8000, 6144, 0.9)
    assert server[server.index("--data_parallel_size") + 1] == "4"
    assert server[server.index("--tensor_parallel_size") + 1] == "1"
    split = server_command("m", ["4", "5", "6", "7"], 8000, 6144, 0.9, tensor_parallel=2)
    assert split[split.index("--data_parallel_size") + 1] == "2" and split[split.index("--tensor_parallel_size") + 1] == "2"
    with pytest.raises(UserError, match="does not divide"):
        server_command("m", ["4", "5", "6"], 8000, 6144, 0.9, tensor_parallel=2)
