"""Training (SFT, GRPO) on the tiny random model: configs, batch arithmetic, data, rewards, LoRA, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.data.problem import Problem, write_jsonl

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
    from recon.training.args import parse_args

    root = REPO / "recipes" / "paper" / "r1-distill-qwen-7b"
    _, sft, _ = parse_args("sft", ["--config", str(root / "sft.yaml"), "--use_cpu", "true"])
    assert (sft.learning_rate, sft.per_device_train_batch_size, sft.gradient_accumulation_steps) == (2e-4, 2, 4)
    assert (sft.warmup_steps, sft.lr_scheduler_type.value, sft.weight_decay, sft.max_length) == (5, "linear", 0.01, 6144)
    _, grpo, _ = parse_args("grpo", ["--config", str(root / "grpo.yaml"), "--use_cpu", "true"])
    assert (grpo.learning_rate, grpo.per_device_train_batch_size, grpo.gradient_accumulation_steps) == (5e-6, 8, 4)
    assert (grpo.num_generations, grpo.lr_scheduler_type.value, grpo.warmup_steps, grpo.adam_beta2) == (8, "cosine", 0.1, 0.99)
    assert (grpo.weight_decay, grpo.max_grad_norm, grpo.max_completion_length) == (0.1, 0.1, 5120)
    text = (root / "grpo.yaml").read_text()
    for pinned in ("beta:", "loss_type:", "scale_rewards:", "epsilon:", "vllm_mode:"):
        line = next(line for line in text.splitlines() if line.startswith(pinned))
        assert "#" in line, f"{pinned} needs a comment saying why"


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
    with pytest.raises(SystemExit, match="unknown reward"):
        parse_args("grpo", [*base, "--rewards", "nonsense"])
    with pytest.raises(SystemExit, match="think"):
        parse_args("grpo", [*base, "--think", "sometimes"])
    with pytest.raises(SystemExit, match="no_such_field"):
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
    with pytest.raises(ValueError, match="no worked solutions"):
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
