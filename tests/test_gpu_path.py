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


# ------------------------------------------------------------------ item 2: versions inside every bound


def pyproject_requirements(extras: tuple[str, ...] = ()) -> list:
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += [s for s in project["optional-dependencies"][extra] if not s.startswith("recon-econ")]
    return [Requirement(s) for s in specs]


def test_installed_versions_are_inside_every_pyproject_bound():
    """What `make install` put in the venv (the base dependencies and the test/demo extras) satisfies every
    bound pyproject.toml states: a drifted install fails here, not deep inside a training run."""
    from importlib.metadata import PackageNotFoundError, version

    outside, checked = [], 0
    for req in pyproject_requirements(("dev", "games", "report")):
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            outside.append(f"{req}: not installed")
            continue
        checked += 1
        if not req.specifier.contains(installed, prereleases=True):
            outside.append(f"{req}: installed {installed}")
    assert not outside, outside
    assert checked >= 15


def test_transformers_bound_admits_only_versions_the_recipes_run_on():
    """Every recipe sets `activation_checkpointing`, a TrainingArguments field since transformers 5.23.0, and
    TrlParser refuses unknown keys: the bound must exclude anything older, and cap what was never tested."""
    (transformers,) = [r for r in pyproject_requirements() if r.name == "transformers"]
    assert not transformers.specifier.contains("5.22.0") and not transformers.specifier.contains("4.56.0")
    assert transformers.specifier.contains("5.23.0") and transformers.specifier.contains("5.25.0")
    assert not transformers.specifier.contains("6.0.0"), "no upper bound: an untested major version would install"
    (trl,) = [r for r in pyproject_requirements() if r.name == "trl"]
    assert list(trl.specifier) and all(s.operator == "==" for s in trl.specifier)


@pytest.mark.parametrize("recipe", sorted(str(p.relative_to(REPO / "src" / "recon")) for p in (REPO / "src" / "recon" / "recipes").glob("*/*/*.yaml")
                                      if p.stem in ("sft", "grpo")))
def test_every_recipe_parses_with_the_installed_trl_and_transformers(recipe):
    """The real check of the bounds: TrlParser (strict: an unknown key exits) parses each recipe with the
    installed TRL and transformers. CPU overrides only turn off bf16, which this CPU lacks."""
    import yaml

    from recon.training.args import parse_args

    kind = Path(recipe).stem
    fields = yaml.safe_load((REPO / "src" / "recon" / recipe).read_text())
    script, config, model = parse_args(kind, ["--config", recipe, "--use_cpu", "true", "--bf16", "false"])
    assert config.activation_checkpointing is fields["activation_checkpointing"]
    assert config.learning_rate == fields["learning_rate"] and model.lora_r == fields.get("lora_r", model.lora_r)
