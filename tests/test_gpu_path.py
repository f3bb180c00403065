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


# ------------------------------------------------------------------ item 3: the GPU check's plan and its steps on CPU


def load_bench(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_dry_run_lists_pinned_wheels_within_64_mib_and_the_checks(tmp_path, capsys):
    smoke = load_bench("gpu_smoke")
    assert smoke.main(["--dry-run"]) == 0
    printed = capsys.readouterr().out
    plan = smoke.dry_run(tmp_path)  # an empty folder: every wheel reported missing, sizes from the pins
    names = [w["name"] for w in plan["wheels"]]
    # what the image (torch 2.11, transformers 5.17) lacks or holds too old, at the versions this venv runs
    from importlib.metadata import version

    for name in ("trl", "transformers", "datasets", "dill", "multiprocess", "huggingface_hub", "accelerate", "peft"):
        assert name in names and f"{name:<18} {version(name):<10}" in printed
    assert len(set(names)) == len(names) and "torch" not in names and "vllm" not in names
    assert all(w["in_dir"] == "missing" for w in plan["wheels"])
    assert plan["wheels_bytes"] == sum(w["bytes"] for w in plan["wheels"]) <= 64 * 2**20 and plan["fits"]
    assert f"total {len(names)} wheels: {plan['wheels_bytes'] / 2**20:.2f} MiB" in printed
    assert plan["checks"] == ["correctness", "sft_step_7b", "grpo_step_7b", "memory_probe_7b", "eval_throughput_7b", "projection"]
    for check in plan["checks"]:
        assert f". {check}: " in printed
    # a wheel of the wrong size is reported, not silently carried
    first = plan["wheels"][0]
    (tmp_path / first["file"]).write_bytes(b"x")
    assert smoke.wheel_plan(tmp_path)[0]["in_dir"] == f"size 1 != {first['bytes']}"


def test_gpu_check_wheels_satisfy_each_others_requirements():
    """Every carried wheel's pinned version is the one installed here (where the suite runs them), and the
    preflight finds nothing unmet: the set is closed over its own requirements plus the image's packages."""
    smoke = load_bench("gpu_smoke")
    found = smoke.preflight()
    assert found["unmet"] == []
    assert all(found["versions"][name] == pinned for name, pinned, *_ in smoke.WHEELS)


def test_gpu_check_steps_run_on_a_tiny_model_on_cpu(tmp_path):
    """The measuring steps (SFT step, GRPO step, memory probe through GRPOTrainer.compute_loss, hf eval
    throughput, projection) on a 2-layer model on the CPU, through the same functions the GPU runs."""
    smoke = load_bench("gpu_smoke")
    out = smoke.architecture_checks(tmp_path, cpu=True, full=False)
    sft, grpo, probe = out["sft_step"], out["grpo_step"], out["memory_probe"]
    assert sft["sequences_per_step"] == 4 and sft["tokens_per_sequence"] == [128] and sft["activation_checkpointing"] is True
    assert sft["lora_r"] == 8 and sft["step_seconds"] > 0 and len(sft["all_steps"]) == 2
    assert grpo["completions_per_step"] == 8 and grpo["num_generations"] == 4
    assert 0 < grpo["generation_seconds"] < grpo["step_seconds"]
    assert probe["ok"] and probe["completion_tokens"] == 64 and probe["batch"] == 4
    assert out["eval_throughput"]["tokens"] > 0 and out["eval_throughput"]["tokens_per_s"] > 0
    projected = out["projection"]
    assert projected["sft_hours"] == round(2725 * sft["step_seconds"] / 3600, 1)
    assert projected["total_hours_with_transformers_generation"] >= projected["sft_hours"]


@pytest.mark.slow
def test_gpu_check_correctness_run_learns_on_cpu(tmp_path):
    """The correctness run, as the GPU runs it, on the CPU: the paper SFT recipe through `accelerate launch`
    drives a tiny random model from a loss above 1 to below the bound (under the ≈0.060 a template-only model
    keeps), greedy answers beat chance, then GRPO from an early checkpoint shows reward variance and a finite KL."""
    smoke = load_bench("gpu_smoke")
    result, checks = smoke.correctness(tmp_path, cpu=True)
    assert result["final_loss_mean_last5"] < smoke.LOSS_BOUND < 0.06 and result["first_loss"] > 1.0
    assert all(checks.values()), (checks, result)


# ------------------------------------------------------------------ item 8: the one-GPU study's plan


def test_gpu_study_dry_run_without_measurements_says_so(tmp_path, capsys):
    study = load_bench("gpu_study")
    plan = study.dry_run(tmp_path, steps=175)
    printed = capsys.readouterr().out
    assert plan["estimate"] is None and "Time estimate: none" in printed and "no GPU check has measured" in printed
    assert "DeepSeek-R1-Distill-Qwen-1.5B" in printed and "175 steps" in printed and "2,048-token completions" in printed
    grpo = plan["commands"][1]
    assert grpo[grpo.index("--max_steps") + 1] == "175" and grpo[grpo.index("--max_completion_length") + 1] == "2048"
    assert "recipes/paper/r1-distill-qwen-7b/grpo.yaml" in grpo  # the paper's batch (32 = 4 × 8) and lr 5e-6
    assert [c[:2] for c in plan["commands"][::2]] == [["recon", "eval"], ["recon", "eval"]]


def test_gpu_study_dry_run_estimates_from_a_measured_gpu_check(tmp_path, capsys):
    """With a GPU check result, the estimate scales its measured times by parameters and tokens."""
    study = load_bench("gpu_study")
    arch = {"memory_probe": {"seconds": 6.0, "completion_tokens": 5120}, "eval_throughput": {"tokens_per_s": 1000.0},
            "grpo_step": {"accumulation": 4, "generation_seconds": 20.0, "completion_tokens": 512}}
    (tmp_path / "gpu_smoke_h100.json").write_text(json.dumps({"gpu": "NVIDIA H100 80GB HBM3", "tiny": False, "architecture": arch}))
    plan = study.dry_run(tmp_path, steps=175)
    scale = study.PARAMS_B / study.PARAMS_7B_B
    step = 4 * 6.0 * (4 / 3) * 2048 / 5120 * scale + 20.0 * 2048 / 512 * scale
    assert plan["estimate"]["grpo_step_s"] == round(step, 1)
    assert plan["estimate"]["grpo_min"] == round(175 * step / 60, 1)
    assert "Time estimate on NVIDIA H100 80GB HBM3" in capsys.readouterr().out


# ------------------------------------------------------------------ item 7: the paper plan counts filtered SFT rows


def test_paper_dry_run_counts_the_sft_steps_after_the_eval_overlap_filter(data_dir, tmp_path):
    """The SFT stage trains on the traces left after its eval-overlap filter; the plan's step count must be
    that of the filtered rows, and say how many were dropped."""
    import re

    from recon.data.build import filter_training_source
    from recon.pipeline.preset import load_preset
    from recon.pipeline.run import plan

    run_dir = tmp_path / "paper"
    (run_dir / "data").mkdir(parents=True)
    from recon.data.problem import iter_jsonl, write_jsonl
    from recon.data.registry import load_problems

    write_jsonl(load_problems("recon-eval")[:120], run_dir / "data" / "eval.jsonl")  # a built eval: the stage's filter input
    expected = filter_training_source("sft_cot", run_dir / "data" / "eval.jsonl", tmp_path / "kept.jsonl")
    kept = expected["items"] - expected["removed"]
    assert 0 < expected["removed"] and kept == len(list(iter_jsonl(tmp_path / "kept.jsonl")))
    lines = "\n".join(plan(load_preset("paper", ["eval.backend=hf", "games.backend=hf"]), run_dir))
    assert f"data filter: {kept} of {expected['items']} items kept, {expected['removed']} overlap" in lines
    steps = re.search(r"sft steps: 25 epochs × (\d+) steps per epoch \((\d+) examples\) = (\d+) steps", lines)
    assert steps and int(steps.group(2)) == kept and int(steps.group(1)) == -(-kept // 8) and int(steps.group(3)) == 25 * -(-kept // 8)
    # before the data stage has built the run's eval, the plan filters against the audited published eval items
    fresh = "\n".join(plan(load_preset("paper", ["eval.backend=hf", "games.backend=hf"]), tmp_path / "fresh"))
    assert "overlap the audited published eval items" in fresh and "(866 examples)" not in fresh


# ------------------------------------------------------------------ item 6: per-rank loading


def test_each_rank_loads_the_policy_onto_its_own_gpu(monkeypatch):
    """On CUDA every process reads the weights straight onto its local GPU (no host-RAM copy per rank); on the
    CPU, or under ZeRO-3 (which shards the weights itself), no device map."""
    from types import SimpleNamespace

    import torch

    from recon.training.model import rank_device_map

    assert rank_device_map(SimpleNamespace(use_cpu=True)) is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert rank_device_map(SimpleNamespace(use_cpu=False)) == {"": 3}
    monkeypatch.setattr("transformers.integrations.is_deepspeed_zero3_enabled", lambda: True)
    assert rank_device_map(SimpleNamespace(use_cpu=False)) is None
