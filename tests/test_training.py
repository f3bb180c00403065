"""Training (SFT, GRPO) on the tiny random model: configs, batch arithmetic, data, rewards, LoRA, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.data.problem import Problem, write_jsonl
from recon.errors import UserError

REPO = Path(__file__).resolve().parents[1]
# Training recipes (pipeline presets and accelerate configs beside them are other formats).
RECIPES = sorted([*(REPO / "recipes" / "cpu").rglob("*.yaml"), *(REPO / "recipes" / "paper").rglob("*.yaml")])
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def option_problem(i: int, n_choices: int = 4) -> Problem:
    choices = [f"choice {letter} of item {i}" for letter in "abcdef"[:n_choices]]
    gold = i % n_choices
    listing = "\n".join(f"Option {k}: {c}" for k, c in enumerate(choices, 1))
    return Problem(
        id=f"p{i}",
        category="test",
        source="test",
        question=f"Question {i}",
        choices=choices,
        answer_type="option",
        gold=f"Option {gold + 1}: {choices[gold]}",
        messages=[{"role": "user", "content": f"Question {i}: pick one.\n\nOptions:\n{listing}"}],
        meta={"solution": f"<think>item {i}</think> \\boxed{{Option {gold + 1}: {choices[gold]}}}"},
    )


@pytest.fixture()
def problems_file(tmp_path) -> Path:
    path = tmp_path / "problems.jsonl"
    write_jsonl([option_problem(i) for i in range(6)], path)
    return path


def tiny_args(model_dir, data, out, **overrides) -> list[str]:
    """Command-line arguments for a few-step CPU run of the tiny model with LoRA on every projection."""
    values = {
        "model_name_or_path": str(model_dir),
        "dataset": str(data),
        "output_dir": str(out),
        "use_cpu": "true",
        "bf16": "false",
        "activation_checkpointing": "false",
        "use_peft": "true",
        "lora_r": "8",
        "lora_alpha": "8",
        "learning_rate": "0.05",
        "max_steps": "2",
        "save_steps": "1",
        "per_device_train_batch_size": "2",
        "logging_steps": "1",
        "report_to": "none",
        **{k: str(v) for k, v in overrides.items()},
    }
    argv = [f"--{k}={v}" for k, v in values.items()]
    return [*argv, "--lora_target_modules", *LORA_TARGETS]


def weights(model) -> tuple[dict, dict]:
    """(LoRA tensors, base tensors) copied from a PEFT model."""
    lora, base = {}, {}
    for name, tensor in model.named_parameters():
        (lora if "lora_" in name else base)[name] = tensor.detach().clone()
    return lora, base


def assert_lora_trained(before, after) -> None:
    import torch

    lora_before, base_before = before
    lora_after, base_after = after
    assert lora_before, "no LoRA parameters were created"
    assert any(not torch.equal(lora_before[k], lora_after[k]) for k in lora_before), "LoRA weights did not change"
    changed = [k for k in base_before if not torch.equal(base_before[k], base_after[k])]
    assert not changed, f"base weights changed: {changed[:3]}"


# ---------------------------------------------------------------- recipes and batch arithmetic


@pytest.mark.parametrize("recipe", RECIPES, ids=[str(p.relative_to(REPO / "recipes")) for p in RECIPES])
def test_every_recipe_loads_through_the_pinned_trl_parser(recipe):
    from recon.training.args import parse_args

    kind = "grpo" if "grpo" in recipe.name else "sft"
    # GPU recipes ask for bf16, which transformers only accepts here when told to run on the CPU.
    script, config, model = parse_args(kind, ["--config", str(recipe), "--use_cpu", "true"])
    assert model.model_name_or_path and config.output_dir.startswith("runs/")
    if kind == "grpo":
        assert config.generation_batch_size % config.num_generations == 0
        assert script.rewards and config.log_completions
    assert model.use_peft and model.lora_r == 8 and model.lora_alpha == 8
    assert sorted(model.lora_target_modules) == sorted(LORA_TARGETS)


def test_paper_recipes_hold_the_paper_settings():
    """The paper's numbers (SFT_Training.ipynb / GRPO_Training.ipynb, paper §5.1) on one process."""
    from recon.training.args import parse_args

    root = REPO / "recipes" / "paper" / "r1-distill-qwen-7b"
    script, sft, _ = parse_args("sft", ["--config", str(root / "sft.yaml"), "--use_cpu", "true"])
    assert script.global_batch_size == 8 and (sft.per_device_train_batch_size, sft.gradient_accumulation_steps) == (2, 4)
    assert (sft.learning_rate, sft.num_train_epochs, sft.optim.value, sft.max_length) == (2e-4, 25, "adamw_8bit", 6144)
    assert (sft.warmup_steps, sft.lr_scheduler_type.value, sft.weight_decay, sft.seed) == (5, "linear", 0.01, 3407)
    script, grpo, _ = parse_args("grpo", ["--config", str(root / "grpo.yaml"), "--use_cpu", "true"])
    assert script.global_batch_size == 32 and (grpo.per_device_train_batch_size, grpo.gradient_accumulation_steps) == (8, 4)
    assert (grpo.num_generations, grpo.generation_batch_size, grpo.num_train_epochs) == (8, 32, 5)
    assert (grpo.learning_rate, grpo.optim.value, grpo.lr_scheduler_type.value, grpo.warmup_steps) == (5e-6, "paged_adamw_8bit", "cosine", 0.1)
    assert (grpo.adam_beta2, grpo.weight_decay, grpo.max_grad_norm, grpo.max_completion_length) == (0.99, 0.1, 0.1, 5120)
    assert not script.reshuffle_options  # the paper's published order; the preset names the deviation
    # TRL defaults that postdate the paper, pinned to the paper's behaviour
    assert (grpo.beta, grpo.loss_type, grpo.scale_rewards, grpo.temperature) == (0.04, "grpo", "group", 0.9)
    assert grpo.use_bias_correction_kl is False and grpo.vllm_importance_sampling_correction is False
    assert grpo.vllm_importance_sampling_mode == "token_truncate" and grpo.mask_truncated_completions is False
    text = (root / "grpo.yaml").read_text()
    for pinned in ("beta:", "loss_type:", "scale_rewards:", "epsilon:", "vllm_mode:", "use_bias_correction_kl:",
                   "vllm_importance_sampling_correction:", "optim:", "global_batch_size:", "num_train_epochs:"):  # fmt: skip
        line = next(line for line in text.splitlines() if line.startswith(pinned))
        assert "#" in line, f"{pinned} needs a comment saying why"
    # The recipe's comment on truncated completions states what the grader really gives them
    from recon.grading import grade

    cut = text[text.index("mask_truncated_completions:") :].split("\nmulti_objective")[0]
    truncated = grade("<think>\nThe incumbent compares", "Option 1: a", "option", ["a", "b"], think="required")
    assert truncated.reward == -4.0 and "−4" in cut and "format violation" in cut


@pytest.mark.parametrize(
    "kind, global_batch, max_per_device, generations, expected",
    [
        ("sft", 8, 2, 1, {1: (2, 4), 2: (2, 2), 4: (2, 1), 8: (1, 1)}),
        ("grpo", 32, 8, 8, {1: (8, 4), 2: (8, 2), 4: (8, 1), 8: (4, 1), 16: (2, 1)}),
    ],
)
def test_global_batch_is_split_by_the_world_size(kind, global_batch, max_per_device, generations, expected):
    from recon.training.args import BatchConfigError, resolve_batch

    for processes, (per_device, accum) in expected.items():
        assert resolve_batch(kind, global_batch, max_per_device, processes, generations) == (per_device, accum)
        assert per_device * processes * accum == global_batch
    with pytest.raises(BatchConfigError, match="cannot be split evenly over 3 processes"):
        resolve_batch(kind, global_batch, max_per_device, 3, generations)
    if kind == "grpo":
        with pytest.raises(BatchConfigError, match="whole number of groups"):
            resolve_batch(kind, 36, max_per_device, 1, generations)


def test_global_batch_overrides_follow_the_launch_and_win_over_the_recipe(tmp_path):
    from recon.training.args import derived_batch_args, parse_args, recipe_values

    grpo = str(REPO / "recipes" / "paper" / "r1-distill-qwen-7b" / "grpo.yaml")
    values = recipe_values(["--config", grpo, "--gradient_accumulation_steps=9", "--lora_target_modules", "q_proj", "v_proj"])
    assert values["gradient_accumulation_steps"] == 9 and values["lora_target_modules"] == ["q_proj", "v_proj"]
    assert derived_batch_args("grpo", values, 8) == ["--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1"]
    assert derived_batch_args("grpo", {**values, "global_batch_size": 0}, 8) == []
    # On one process the derived values win over a contradicting command line
    _, config, _ = parse_args("grpo", ["--config", grpo, "--use_cpu", "true", "--gradient_accumulation_steps", "9"])
    assert (config.per_device_train_batch_size, config.gradient_accumulation_steps, config.generation_batch_size) == (8, 4, 32)


@pytest.mark.parametrize("gpus, sft_line, grpo_line", [
    (1, "2 per device × 1 × 4 accumulation = 8 sequences", "8 per device × 1 × 4 accumulation = 32 completions = 4 prompts × 8"),
    (8, "1 per device × 8 × 1 accumulation = 8 sequences", "4 per device × 8 × 1 accumulation = 32 completions = 4 prompts × 8"),
])  # fmt: skip
def test_paper_dry_run_prints_the_batch_steps_and_optimisers(gpus, sft_line, grpo_line):
    from typer.testing import CliRunner

    from recon.cli import app

    result = CliRunner().invoke(app, ["pipeline", "--preset", "paper", "--dry-run", "--num-gpus", str(gpus)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert sft_line in out and grpo_line in out
    assert "sft optimizer: adamw_8bit" in out and "grpo optimizer: adamw_8bit" in out and "25 epochs" in out and "5 epochs" in out
    assert "grpo optimizer: paged" not in out and "zero2" not in out  # no managed-memory optimizer, no DeepSpeed for LoRA
    assert f"--num_processes {gpus}" in out  # the launch the plan describes


def test_dry_run_reports_a_gpu_count_that_cannot_reach_the_paper_batch():
    from typer.testing import CliRunner

    from recon.cli import app

    result = CliRunner().invoke(app, ["pipeline", "--preset", "paper", "--dry-run", "--num-gpus", "3", "--set", "grpo.dataset=train"])
    assert result.exit_code == 0, result.output
    assert "cannot be split evenly over 3 processes" in result.output


def test_training_plan_counts_the_paper_steps():
    from recon.training.args import training_plan

    grpo = {"global_batch_size": 32, "per_device_train_batch_size": 8, "num_generations": 8, "num_train_epochs": 5}
    assert "450 steps per epoch (1800 examples) = 2250 steps" in training_plan("grpo", grpo, 8, 1800)[1]
    sft = {"global_batch_size": 8, "per_device_train_batch_size": 2, "num_train_epochs": 25}
    assert "109 steps per epoch (866 examples) = 2725 steps" in training_plan("sft", sft, 1, 866)[1]


def test_num_processes_is_added_to_accelerate_launchers_only():
    from recon.training.args import launcher_processes, with_num_processes

    launcher = ["accelerate", "launch", "--config_file", "ddp.yaml"]
    assert with_num_processes(launcher, 4)[-2:] == ["--num_processes", "4"]
    assert with_num_processes(launcher, 0)[-1] == "1"
    assert launcher_processes(with_num_processes([*launcher, "--num_processes=2"], 8)) == 2
    assert with_num_processes(["python"], 8) == ["python"]


# ---------------------------------------------------------------- hardware: dtype auto


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx avx2 fma", "float32"),                      # AVX2-only EPYC: bf16 is emulated, 28× slower
    ("fpu avx2 avx512f avx512bw", "float32"),                  # AVX-512 without BF16
    ("fpu avx2 avx512f avx512_bf16", "bfloat16"),              # AVX512-BF16
    ("fpu avx2 avx512f amx_bf16 amx_tile amx_int8", "bfloat16"),  # AMX Xeon
])  # fmt: skip
def test_auto_dtype_follows_the_cpus_native_bf16(flags, expected):
    from recon.inference.hf import auto_dtype

    cpuinfo = f"processor\t: 0\nmodel name\t: test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n"
    assert auto_dtype("cpu", cpuinfo) == expected
    assert auto_dtype("cuda", cpuinfo) == auto_dtype("cuda:1", "") == "bfloat16"
    assert auto_dtype("cpu", "") == "float32"  # unknown CPU: the safe choice


def test_auto_threads_respect_omp_num_threads(monkeypatch):
    from recon.inference.hf import auto_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert auto_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert auto_threads() >= 1


def test_cpu_recipes_and_demo_default_to_auto_dtype():
    import yaml

    for name in ("sft", "grpo"):
        assert yaml.safe_load((REPO / "recipes" / "cpu" / "smollm2" / f"{name}.yaml").read_text())["dtype"] == "auto"
    demo = yaml.safe_load((REPO / "recipes" / "presets" / "cpu-demo.yaml").read_text())
    assert demo["eval"]["backend_options"]["dtype"] == demo["games"]["backend_options"]["dtype"] == "auto"


# ---------------------------------------------------------------- GPU install, held-out evaluation, server mode


def test_gpu_extras_stay_inside_what_trl_supports():
    """The `vllm` extra admits only vLLM releases TRL 1.16 supports; `deepspeed` meets TRL's floor (offline:
    TRL's own metadata). Resolved against torch 2.13.0 with pip's resolver in the README's install check."""
    import tomllib
    from importlib.metadata import requires

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    ours = {Requirement(r).name: Requirement(r) for r in extras["vllm"] + extras["deepspeed"] + extras["gpu"]}
    assert {"vllm", "deepspeed", "demo"} <= ours[project["name"]].extras  # `gpu` = both + the pipeline's games/report
    trl = {Requirement(r).name: Requirement(r) for r in requires("trl") if "extra ==" in r}
    candidates = [Version(f"0.{minor}.{patch}") for minor in range(10, 40) for patch in range(3)]
    allowed = [v for v in candidates if v in ours["vllm"].specifier]
    assert allowed and all(v in trl["vllm"].specifier for v in allowed)
    floor = Version(str(next(iter(trl["deepspeed"].specifier)).version))
    assert all(Version(s.version) >= floor for s in ours["deepspeed"].specifier if s.operator == ">=")
    assert "bitsandbytes" in ours  # the paper's adamw_8bit / paged_adamw_8bit


def test_heldout_budget_that_could_trip_the_timeout_is_refused():
    from recon.training.args import BatchConfigError
    from recon.training.run import check_heldout_budget

    with pytest.raises(BatchConfigError, match="ddp_timeout"):
        check_heldout_budget(60, 5120, 1800, processes=8)  # the old paper recipe: 60 × 5,120 tokens on rank 0
    check_heldout_budget(60, 5120, 1800, processes=1)  # nobody waits
    check_heldout_budget(8, 256, 1800, processes=8)


def test_vllm_heldout_shares_cover_every_item_once():
    from recon.training.run import TrainerVLLMHeldout

    heldout = TrainerVLLMHeldout([option_problem(i) for i in range(10)], "required", 32, "out")
    shares = [heldout.shares(rank, 3) for rank in range(3)]
    assert sorted(i for mine, _ in shares for i in mine) == list(range(10))
    assert {len(padded) for _, padded in shares} == {4}


def test_server_mode_commands():
    from recon.training.serve import server_command, train_command

    server = server_command("runs/x/grpo/init-merged", ["6", "7"], 8001, 6144, 0.9)
    assert server[:4] == ["trl", "vllm-serve", "--model", "runs/x/grpo/init-merged"]
    assert server[server.index("--data_parallel_size") + 1] == "2"
    train = train_command("zero2.yaml", ["0", "1", "2"], 8001, ["--config", "grpo.yaml"])
    assert train[train.index("--num_processes") + 1] == "3" and train[-4:] == [
        "--vllm_mode", "server", "--vllm_server_base_url", "http://127.0.0.1:8001"]  # fmt: skip


def test_prepare_only_writes_the_merged_model_for_the_server(tiny_model_dir, problems_file, tmp_path):
    """Server mode's first step: the SFT adapter merged into output_dir/init-merged, nothing trained."""
    from recon.training.grpo import main as grpo_main
    from recon.training.sft import main as sft_main

    sft_main(tiny_args(tiny_model_dir, problems_file, tmp_path / "sft", max_steps=1, max_length=96))
    out = tmp_path / "grpo"
    result = grpo_main([*tiny_args(tmp_path / "sft", problems_file, out, num_generations=2), "--prepare_only", "true"])
    assert Path(result["server_model"]) == (out / "init-merged").resolve()
    assert (out / "init-merged" / "config.json").exists() and not (out / "train_summary.json").exists()


def test_accelerate_configs_are_complete():
    import yaml

    for name, kind in (("ddp", "MULTI_GPU"), ("zero2", "DEEPSPEED"), ("zero3", "DEEPSPEED")):
        config = yaml.safe_load((REPO / "recipes" / "accelerate_configs" / f"{name}.yaml").read_text())
        assert config["distributed_type"] == kind and config["num_processes"] >= 1


def test_grpo_refuses_a_generation_batch_that_splits_groups(tmp_path, capsys):
    from recon.training.grpo import main

    argv = ["--model_name_or_path", "x", "--output_dir", str(tmp_path), "--use_cpu", "true",
            "--per_device_train_batch_size", "3", "--num_generations", "2"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "refusing to launch GRPO" in err and "num_generations" in err


def test_batch_plan_prints_the_arithmetic_and_refuses_too_little_data():
    from recon.training.args import BatchConfigError, batch_plan, parse_args

    _, config, _ = parse_args("grpo", ["--model_name_or_path", "x", "--output_dir", "o", "--use_cpu", "true",
                                       "--per_device_train_batch_size", "4", "--num_generations", "4",
                                       "--gradient_accumulation_steps", "2"])  # fmt: skip
    lines = batch_plan("grpo", config, n_train=10, processes=1)
    assert "4 per device × 1 processes × 2 accumulation = 8 completions" in lines[1]
    assert "2 prompts × 4 generations" in lines[2]
    with pytest.raises(BatchConfigError, match="cannot fill one generation batch"):
        batch_plan("grpo", config, n_train=1, processes=1)
    _, sft, _ = parse_args("sft", ["--model_name_or_path", "x", "--output_dir", "o", "--use_cpu", "true",
                                   "--per_device_train_batch_size", "4"])  # fmt: skip
    with pytest.raises(BatchConfigError, match="cannot fill one micro-batch"):
        batch_plan("sft", sft, n_train=3, processes=1)


def test_unknown_reward_and_think_mode_are_refused():
    from recon.training.args import parse_args

    base = ["--model_name_or_path", "x", "--output_dir", "o", "--use_cpu", "true"]
    with pytest.raises(UserError, match="unknown reward"):
        parse_args("grpo", [*base, "--rewards", "nonsense"])
    with pytest.raises(UserError, match="think"):
        parse_args("grpo", [*base, "--think", "sometimes"])
    with pytest.raises(UserError, match="no_such_field"):
        parse_args("sft", [*base, "--no_such_field", "1"])


def test_cli_lists_both_commands():
    from typer.testing import CliRunner

    from recon.cli import app

    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0 and "sft" in result.output and "grpo" in result.output


# ---------------------------------------------------------------- data


def test_sft_rows_from_each_source(tmp_path, problems_file, data_dir):
    from recon.data.problem import even_slice
    from recon.training.data import sft_rows

    rows = sft_rows(str(problems_file))
    assert len(rows) == 6 and rows[0]["completion"][0]["role"] == "assistant"
    assert rows[0]["completion"][0]["content"].startswith("<think>item 0</think>")
    assert rows[0]["prompt"][0]["content"].startswith("Question 0")

    pc = tmp_path / "pc.jsonl"
    pc.write_text(json.dumps({"prompt": "Q?", "completion": "A.", "extra": 1}) + "\n")
    assert sft_rows(str(pc)) == [{"prompt": "Q?", "completion": "A."}]

    bare = tmp_path / "bare.jsonl"
    write_jsonl([Problem.from_dict({**option_problem(0).to_dict(), "meta": {}})], bare)
    with pytest.raises(UserError, match="no worked solutions"):
        sft_rows(str(bare))

    cot = sft_rows("sft_cot", str(data_dir))
    assert len(cot) == 866
    assert all("\\boxed" in r["completion"][0]["content"] for r in even_slice(cot, 20))
    assert [r["prompt"] for r in even_slice(cot, 4)] == [cot[i]["prompt"] for i in (0, 216, 433, 649)]


def test_option_reshuffle_changes_per_epoch_and_remaps_gold():
    from recon.training.data import OptionReshuffler

    problems = [option_problem(i, n_choices=6) for i in range(4)]
    reshuffler = OptionReshuffler(problems, seed=1)
    orders = []
    for epoch in range(3):
        reshuffler.epoch = epoch
        rows = [reshuffler.dataset[i] for i in range(len(problems))]
        assert rows == [reshuffler.dataset[i] for i in range(len(problems))]  # stable within an epoch
        for row, problem in zip(rows, problems):
            number = int(row["gold"].split(":")[0].split()[1])
            original = problem.choices[problem.gold_option - 1]
            assert row["choices"][number - 1] == original and row["gold"].endswith(original)
            assert f"Option {number}: {original}" in row["prompt"][-1]["content"]
        orders.append([tuple(r["choices"]) for r in rows])
    assert orders[0] != orders[1] != orders[2]


# ---------------------------------------------------------------- rewards


def test_each_completion_is_graded_against_its_own_gold():
    from recon.training.rewards import make_reward_funcs

    p0, p1 = option_problem(0), option_problem(1)  # golds Option 1 and Option 2
    answer = lambda p: f"\\boxed{{{p.gold}}}"  # noqa: E731
    # Two prompts × two completions, as TRL passes them: columns repeated per completion.
    completions = [answer(p0), answer(p1), answer(p1), answer(p0)]
    gold = [p0.gold, p0.gold, p1.gold, p1.gold]
    metrics: dict = {}
    extra: dict = {}
    [reward] = make_reward_funcs(["hierarchical"], think="none")
    values = reward(
        completions=completions, gold=gold, answer_type=["option"] * 4, choices=[p0.choices, p0.choices, p1.choices, p1.choices],
        prompts=[p0.messages] * 2 + [p1.messages] * 2, log_metric=metrics.__setitem__, log_extra=extra.__setitem__,
    )  # fmt: skip
    assert values == [5.0, -3.0, 5.0, -3.0]
    assert metrics["grade/accuracy"] == 0.5 and metrics["grade/format_rate"] == 1.0 and metrics["grade/wrong_rate"] == 0.5
    assert extra["status"] == ["exact", "wrong", "exact", "wrong"]
    assert reward.__name__ == "hierarchical_reward"


def test_answer_stop_forces_eos_once_the_box_closes(tiny_model_dir):
    import torch
    from transformers import AutoTokenizer

    from recon.training.generation import answer_stop_processor

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = tok("Question?")["input_ids"]
    text = "<think>reasoning {x}</think> The answer is \\boxed{Option 2: b}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    stop = answer_stop_processor(tok, len(prompt), tok.eos_token_id, think="required")
    forced_at = None
    for n in range(1, len(ids) + 1):
        scores = torch.zeros(1, len(tok))
        out = stop(torch.tensor([prompt + ids[:n]]), scores)
        if out[0].argmax().item() == tok.eos_token_id and torch.isinf(out[0]).sum() == len(tok) - 1:
            forced_at = n
            break
    assert forced_at is not None, "EOS was never forced"
    assert tok.decode(ids[:forced_at]).rstrip().endswith("\\boxed{Option 2: b}")


# ---------------------------------------------------------------- training runs (tiny model)


def test_sft_trains_lora_only_and_resumes(tiny_model_dir, problems_file, tmp_path):
    import math

    from recon.training.args import parse_args
    from recon.training.run import train_and_save
    from recon.training.sft import build_sft_trainer

    out = tmp_path / "sft"
    script, config, model_cfg = parse_args("sft", tiny_args(tiny_model_dir, problems_file, out, max_length=96))
    trainer = build_sft_trainer(script, config, model_cfg)
    before = weights(trainer.model)
    summary = train_and_save(trainer, script, config)
    assert_lora_trained(before, weights(trainer.model))
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert summary["global_step"] == 2 and summary["resumed_from"] is None
    assert (out / "adapter_config.json").exists() and (out / "checkpoint-2" / "adapter_model.safetensors").exists()
    assert json.loads((out / "train_summary.json").read_text())["global_step"] == 2

    # A second launch with a larger budget continues from checkpoint-2 instead of starting over.
    script, config, model_cfg = parse_args("sft", tiny_args(tiny_model_dir, problems_file, out, max_length=96, max_steps=3))
    summary = train_and_save(build_sft_trainer(script, config, model_cfg), script, config)
    assert summary["resumed_from"].endswith("checkpoint-2")
    assert summary["start_step"] == 2 and summary["global_step"] == 3
    assert "checkpoint-3" in summary["checkpoints"]


def test_grpo_trains_lora_with_each_rows_gold(tiny_model_dir, problems_file, tmp_path, monkeypatch):
    import math

    from recon.grading import REWARD_REGISTRY
    from recon.training.args import parse_args
    from recon.training.grpo import build_grpo_trainer
    from recon.training.run import train_and_save

    seen: list[tuple[str, str]] = []

    def make_recording_reward(think="required"):
        def spread(completions, gold, answer_type, choices=None, prompts=None, **_):
            """Records what each completion is graded against; rewards distinct characters so the
            random model's group has non-zero advantages."""
            seen.extend((p[-1]["content"], g) for p, g in zip(prompts, gold))
            return [float(len(set(str(c)))) for c in completions]

        return spread

    monkeypatch.setitem(REWARD_REGISTRY, "spread", make_recording_reward)
    out = tmp_path / "grpo"
    argv = tiny_args(tiny_model_dir, problems_file, out, per_device_train_batch_size=4, num_generations=2,
                     max_completion_length=8, think="none", log_completions="true", beta=0.0)  # fmt: skip
    script, config, model_cfg = parse_args("grpo", [*argv, "--rewards", "hierarchical", "spread"])
    trainer = build_grpo_trainer(script, config, model_cfg)
    before = weights(trainer.model)
    summary = train_and_save(trainer, script, config)
    assert_lora_trained(before, weights(trainer.model))
    logs = [e for e in trainer.state.log_history if "loss" in e]
    assert len(logs) == 2 and all(math.isfinite(e["loss"]) for e in logs)
    assert all("grade/format_rate" in e and "rewards/spread_reward/mean" in e for e in logs)
    assert summary["global_step"] == 2
    assert sorted(p.name for p in (out / "completions").glob("*.parquet")) == [
        "completions_00001.parquet", "completions_00002.parquet"
    ]  # fmt: skip
    # 2 steps × 2 prompts × 2 completions, each graded against the gold of its own (re-shuffled) prompt
    assert len(seen) == 8 and len({prompt for prompt, _ in seen}) == 4
    for prompt, gold in seen:
        assert gold in prompt, f"{gold!r} is not an option of the prompt it grades"


def test_heldout_slice_is_evaluated_at_every_checkpoint(tiny_model_dir, problems_file, tmp_path):
    from recon.training.sft import main

    out = tmp_path / "sft-eval"
    argv = tiny_args(tiny_model_dir, problems_file, out, max_length=96, heldout_split=problems_file,
                     heldout_size=2, heldout_max_tokens=4, think="none")  # fmt: skip
    main(argv)
    lines = [json.loads(line) for line in (out / "heldout" / "summary.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2]
    for line in lines:
        results = json.loads((Path(line["results"]) / "results.json").read_text())
        assert results["overall"]["n_items"] == 2 and line["accuracy"] == results["overall"]["accuracy"]
        assert results["config"]["temperature"] == 0.0 and results["config"]["max_tokens"] == 4


def test_vllm_heldout_generates_through_the_trainers_engine_greedily(tiny_model_dir, tmp_path):
    """The GRPO held-out evaluation drives the trainer's own vLLM generation object: fresh weights pushed
    first, greedy sampling and the held-out budget only for its call, the trainer's sampling restored after;
    the main process grades the completions into heldout/summary.jsonl."""
    import types

    from transformers import AutoTokenizer

    from recon.training.run import TrainerVLLMHeldout, attach_trainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    problems = [option_problem(i) for i in range(5)]

    class Generation:  # the attributes and calls of TRL 1.16's VLLMGeneration that the evaluation uses
        temperature, top_p, top_k, min_p, repetition_penalty, max_completion_length = 0.9, 1.0, 0, None, 1.0, 5120

        def __init__(self):
            self.synced, self.seen = 0, []

        def sync_weights(self):
            self.synced += 1

        def generate(self, prompts, images, num_generations):
            self.seen.append((self.temperature, self.max_completion_length, num_generations, prompts))
            answers = [f"</think> \\boxed{{Option {1 + i % 2}}}" for i in range(len(prompts))]
            return prompts, [tokenizer(a, add_special_tokens=False)["input_ids"] for a in answers], None, None

    generation = Generation()
    state = types.SimpleNamespace(global_step=7, is_world_process_zero=True)
    trainer = types.SimpleNamespace(processing_class=tokenizer, vllm_generation=generation, state=state,
                                    accelerator=types.SimpleNamespace(process_index=0, num_processes=1))  # fmt: skip
    callback = TrainerVLLMHeldout(problems, "required", 64, str(tmp_path)).as_callback()
    attach_trainer([callback], trainer)
    (tmp_path / "heldout").mkdir()
    callback.on_save(None, state, None)

    [(temperature, budget, n, prompts)] = generation.seen
    assert (temperature, budget, n, generation.synced) == (0.0, 64, 1, 1)
    expected = tokenizer.apply_chat_template(problems[0].messages, tokenize=True, add_generation_prompt=True, return_dict=True)
    assert prompts[0] == list(expected["input_ids"])  # the ids TRL itself would generate from
    assert (generation.temperature, generation.max_completion_length) == (0.9, 5120)  # restored
    [line] = [json.loads(line) for line in (tmp_path / "heldout" / "summary.jsonl").read_text().splitlines()]
    # gold of problem i is Option (i % 4) + 1 and the scripted answer Option (i % 2) + 1: items 0, 1 and 4 right
    assert line["step"] == 7 and line["n_items"] == 5 and line["accuracy"] == pytest.approx(3 / 5)
