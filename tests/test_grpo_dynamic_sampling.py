"""GRPO's dynamic sampling (DAPO): groups whose completions all get the same reward are replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.data.problem import write_jsonl
from test_training import option_problem, tiny_args

SIGNAL_IDS = {"p0", "p2", "p4", "p6"}  # prompts whose completions the test reward tells apart


@pytest.fixture()
def problems_file(tmp_path) -> Path:
    path = tmp_path / "problems.jsonl"
    write_jsonl([option_problem(i) for i in range(8)], path)
    return path


def test_take_rows_repads_prompts_left_and_completions_right():
    import torch

    from recon.training.grpo import take_rows

    first = {"prompt_ids": torch.tensor([[9, 1, 2], [3, 4, 5]]), "prompt_mask": torch.tensor([[0, 1, 1], [1, 1, 1]]),
             "completion_ids": torch.tensor([[6, 9], [7, 8]]), "completion_mask": torch.tensor([[1, 0], [1, 1]]),
             "advantages": torch.tensor([0.5, -0.5]), "num_items_in_batch": torch.tensor(3)}  # fmt: skip
    second = {"prompt_ids": torch.tensor([[1], [2]]), "prompt_mask": torch.tensor([[1], [1]]),
              "completion_ids": torch.tensor([[5, 5, 5], [4, 9, 9]]), "completion_mask": torch.tensor([[1, 1, 1], [1, 0, 0]]),
              "advantages": torch.tensor([1.0, -1.0]), "num_items_in_batch": torch.tensor(4)}  # fmt: skip
    out = take_rows([first, second], [(0, 1), (1, 0)], pad_token_id=9)
    assert out["prompt_ids"].tolist() == [[3, 4, 5], [9, 9, 1]] and out["prompt_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert out["completion_ids"].tolist() == [[7, 8, 9], [5, 5, 5]]
    assert out["completion_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert out["advantages"].tolist() == [-0.5, 1.0] and int(out["num_items_in_batch"]) == 5


def test_groups_without_reward_variance_are_replaced(tiny_model_dir, problems_file, tmp_path, monkeypatch):
    """Half the prompts get one constant reward (no signal). With dynamic sampling every trained group has
    reward variance, the drawn fraction is logged beside it, and replacement prompts are graded against their
    own gold like any other."""
    from recon.grading import REWARD_REGISTRY
    from recon.training.args import parse_args
    from recon.training.grpo import build_grpo_trainer

    graded: list[str] = []

    def make_reward(think="required"):
        def signal_only(completions, gold, answer_type, choices=None, id=None, **_):
            graded.extend(id)
            return [float(len(set(str(c)))) if i in SIGNAL_IDS else 1.0 for c, i in zip(completions, id)]

        return signal_only

    monkeypatch.setitem(REWARD_REGISTRY, "signal_only", make_reward)
    argv = tiny_args(tiny_model_dir, problems_file, tmp_path / "grpo", per_device_train_batch_size=4, num_generations=2,
                     max_completion_length=8, think="none", beta=0.0, max_steps=2, save_strategy="no",
                     dynamic_sampling_rounds=8, temperature=1.0)  # fmt: skip
    script, config, model_cfg = parse_args("grpo", [*argv, "--rewards", "signal_only"])
    trainer = build_grpo_trainer(script, config, model_cfg)
    trained: list[list[float]] = []
    compute_loss = trainer.compute_loss

    def recording_compute_loss(model, inputs, *args, **kwargs):
        trained.append(inputs["advantages"].tolist())
        return compute_loss(model, inputs, *args, **kwargs)

    trainer.compute_loss = recording_compute_loss
    trainer.train()

    logs = [e for e in trainer.state.log_history if "signal/fraction_trained" in e]
    assert len(logs) == 2
    assert all(e["signal/fraction_trained"] == 1.0 for e in logs)
    assert any(e["signal/fraction_drawn"] < 1.0 for e in logs), "the seed drew no group without signal: the test proves nothing"
    assert sum(e["signal/extra_prompts"] for e in logs) > 0
    for advantages in trained:  # 2 groups of 2 per step, each with a non-zero advantage
        assert len(advantages) == 4 and all(abs(a) > 1e-6 for a in advantages)
    assert set(graded) - SIGNAL_IDS, "no no-signal prompt was ever drawn"


def test_dynamic_sampling_off_trains_on_what_was_drawn(tiny_model_dir, problems_file, tmp_path, monkeypatch):
    from recon.grading import REWARD_REGISTRY
    from recon.training.args import parse_args
    from recon.training.grpo import build_grpo_trainer

    monkeypatch.setitem(REWARD_REGISTRY, "constant", lambda think="required": lambda completions, *_, **__: [1.0] * len(completions))
    argv = tiny_args(tiny_model_dir, problems_file, tmp_path / "grpo", per_device_train_batch_size=4, num_generations=2,
                     max_completion_length=4, think="none", beta=0.0, max_steps=1, save_strategy="no")  # fmt: skip
    script, config, model_cfg = parse_args("grpo", [*argv, "--rewards", "constant"])
    trainer = build_grpo_trainer(script, config, model_cfg)
    trainer.train()
    [log] = [e for e in trainer.state.log_history if "signal/fraction_drawn" in e]
    assert log["signal/fraction_drawn"] == log["signal/fraction_trained"] == 0.0 and log["signal/extra_prompts"] == 0.0


def test_report_plots_the_fraction_of_groups_with_signal(tmp_path):
    from recon.report.figures import GRPO_PANELS, plot_training_curves

    grpo_log = [{"step": 1, "signal/fraction_drawn": 0.25}, {"step": 2, "signal/fraction_drawn": 0.5}]
    assert "signal/fraction_drawn" in [key for key, _, _ in GRPO_PANELS]
    assert plot_training_curves([], grpo_log, tmp_path / "curves.png") == tmp_path / "curves.png"
    assert (tmp_path / "curves.png").stat().st_size > 0
