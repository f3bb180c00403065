"""`recon data build` / `audit` / `generate`: verified splits, no eval overlap, honest baselines."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data import build as build_module
from recon.data.build import balanced_gold_positions, build_splits, filter_training_source, fixed_guess_excess, item_size, trim_for_balance
from recon.data.categories.common import make_option_problem, split_option_prompt
from recon.data.contamination import overlapping
from recon.data.problem import read_problems, write_jsonl
from recon.data.published import load_split
from recon.data.report import baseline_accuracies
from recon.grading import grade_problem


@pytest.fixture(scope="module")
def built(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("built")
    # the shortcut audit on generated items has its own tests (tests/test_data_shortcuts.py, below)
    report = build_splits(out, seed=7, generated_per_category=12, eval_generated_per_category=10, data_dir=data_dir, shortcut_items=0)
    return out, report


def test_build_writes_consistent_splits(built):
    out, report = built
    for name in ("train", "eval", "sft_cot"):
        assert (out / f"{name}.jsonl").exists() and (out / "datasets" / name).is_dir()
    assert json.loads((out / "build_report.json").read_text()) == report
    assert "Trivial baselines" in (out / "build_report.md").read_text()
    train, evaluation = read_problems(out / "train.jsonl"), read_problems(out / "eval.jsonl")
    for p in train + evaluation:
        if p.source != "generated":
            assert p.meta["audit"]["verdict"] in ("agree", "not_computable")
            assert p.meta["verified"] == (p.meta["audit"]["verdict"] == "agree")
        if p.answer_type == "option":
            assert split_option_prompt(p)[1] == p.choices
            assert grade_problem(f"<think>x</think>\\boxed{{{p.gold}}}", p).status == "exact"
        if "solution" in p.meta:
            assert grade_problem(p.meta["solution"], p).status == "exact"
    assert {p.category for p in evaluation if p.source == "generated"} >= {"cournot", "tax_incidence", "condorcet_criterion"}
    sft = read_problems(out / "sft_cot.jsonl")
    # teacher traces are renumbered with their options: most still reach the (remapped) gold
    assert sum(p.meta["response_correct"] for p in sft) >= 0.8 * len(sft)
    assert report["sft_cot_responses_reaching_gold"] == sum(p.meta["response_correct"] for p in sft)


def test_eval_has_no_overlap_with_any_training_file(built):
    out, report = built
    evaluation = read_problems(out / "eval.jsonl")
    train = read_problems(out / "train.jsonl")
    sft = read_problems(out / "sft_cot.jsonl")
    for training in (train, sft, [p for p in train if p.source == "generated"]):
        assert not overlapping(evaluation, training) and not overlapping(evaluation, training, near=True)
    assert all(v == {"exact": 0, "near": 0} for v in report["eval_overlap_with_training"].values())
    # matrix and Bayesian games are keyed by their game, not their shape: the published train items stay
    counts = report["counts"]["train"]
    assert counts["pure_nash"]["published"] >= 90 and counts["pte"]["published"] >= 90 and counts["bayes_nash"]["published"] >= 45


def test_every_training_source_is_filtered_against_the_eval(built, tmp_path, data_dir):
    out, _ = built
    evaluation = read_problems(out / "eval.jsonl")
    result = filter_training_source("sft_cot", out / "eval.jsonl", tmp_path / "sft.jsonl", data_dir)
    kept = read_problems(tmp_path / "sft.jsonl")
    assert result["items"] == 866 and result["removed"] >= 16 and len(kept) == 866 - result["removed"]
    assert result["overlap"] == {"exact": 0, "near": 0} and not overlapping(evaluation, kept, near=True)
    # a prompt/completion file (e.g. a `recon distill` output) is keyed by the question in its prompt
    in_eval = [p for p in load_split("eval", data_dir) if p.id in {q.id for q in evaluation}]
    chosen = [p for p in in_eval if p.category == "pure_nash"][:3] + [p for p in in_eval if p.category == "auction_risk"][:3]
    rows = [{"prompt": p.messages, "completion": "x"} for p in chosen] + [{"prompt": "Question:\nSomething new?", "completion": "y"}]
    write_jsonl(rows, tmp_path / "pc.jsonl")
    result = filter_training_source(str(tmp_path / "pc.jsonl"), out / "eval.jsonl", tmp_path / "pc_kept.jsonl")
    assert len(chosen) == 6 and result["items"] == 7 and result["removed"] == 6
    assert "Something new?" in (tmp_path / "pc_kept.jsonl").read_text()


def test_train_covers_every_eval_stratum(built):
    out, report = built
    assert report["strata"] and all(row["train_same_size"] > 0 for row in report["strata"] if row["eval"])
    train, evaluation = read_problems(out / "train.jsonl"), read_problems(out / "eval.jsonl")
    assert {(p.category, item_size(p)) for p in evaluation} <= {(p.category, item_size(p)) for p in train}
    assert {item_size(p) for p in evaluation if p.category == "pte"} >= {"3x3", "5x5"}
    for category in ("cournot", "trigger"):  # generated eval items spread evenly over difficulties 1..3
        levels = [p.meta["difficulty"] for p in evaluation if p.category == category and p.source == "generated"]
        assert max(levels.count(d) for d in (1, 2, 3)) - min(levels.count(d) for d in (1, 2, 3)) <= 1
    assert "## Eval stratification" in (out / "build_report.md").read_text()
    predictions = (out / "shortcut_predictions.jsonl").read_text().splitlines()
    assert len(predictions) == len(evaluation)


def test_build_fails_naming_the_category_and_cue(tmp_path, data_dir, monkeypatch):
    import random

    from recon.data.shortcuts import ShortcutError

    def cued(seed):
        rng = random.Random(seed)
        items = []
        for i in range(200):
            values = rng.sample(range(10, 99), 4)
            items.append(make_option_problem("cournot", f"Price {i}?", [f"${v}" for v in values], values.index(min(values)), ["x"]))
        return build_module.shuffle_balanced(items, seed)

    monkeypatch.setattr(build_module, "shortcut_sample", lambda seed, n, difficulty: (cued("t"), cued("e")))
    with pytest.raises(ShortcutError, match=r"cournot \((rank_1_smallest|ngram|option_only)"):
        build_splits(tmp_path, seed=1, generated_per_category=2, eval_generated_per_category=2, data_dir=data_dir, save_datasets=False)
    assert json.loads((tmp_path / "build_report.json").read_text())["shortcuts_generated"]["failures"][0]["category"] == "cournot"


def test_baselines_at_most_chance_plus_three_points(built):
    out, report = built
    train, evaluation = read_problems(out / "train.jsonl"), read_problems(out / "eval.jsonl")
    table = baseline_accuracies(train, evaluation)
    option_categories = {p.category for p in evaluation if p.answer_type == "option"}
    assert len(option_categories) >= 15
    for category in option_categories:
        row = table[category]
        for name, accuracy in row.items():
            if name != "random" and accuracy is not None:
                assert accuracy <= row["random"] + 0.03 + 1e-9, (category, name, accuracy, row["random"])
    assert report["baselines"]["all_ok"]


def test_balanced_positions_keep_fixed_guesses_near_chance():
    import random

    problems = [make_option_problem("demo", f"Q{i}?", ["a", "b", "c", "d"][: 2 + 2 * (i % 3 == 0)], 0, ["a"]) for i in range(15)]
    positions = balanced_gold_positions(problems, random.Random(0))
    assert all(1 <= pos <= len(p.choices) for pos, p in zip(positions, problems))
    for k in (2, 4):  # within each option count the golds are spread evenly
        counts = [sum(1 for p, pos in zip(problems, positions) if len(p.choices) == k and pos == j) for j in range(1, k + 1)]
        assert max(counts) - min(counts) <= 1
    assert fixed_guess_excess(problems, positions) <= 0.03
    # 16 three-option items cannot be balanced within 3 points; trimming one generated item fixes it
    items = [make_option_problem("demo", f"Q{i}?", ["a", "b", "c"], 0, ["a"]) for i in range(16)]
    assert fixed_guess_excess(items, balanced_gold_positions(items, random.Random(0))) > 0.03
    kept = trim_for_balance(items[:10], items[10:])
    assert len(kept) == 5


def test_cli_audit_and_generate(tmp_path, data_dir):
    runner = CliRunner()
    result = runner.invoke(app, ["data", "audit", "--data-dir", str(data_dir), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["train"]["all"]["n"] == 1800 and summary["eval"]["all"]["n"] == 300
    assert sum(1 for _ in (tmp_path / "audit.jsonl").open()) == 2100
    assert "| **all** | 300 |" in (tmp_path / "audit.md").read_text()
    result = runner.invoke(app, ["data", "generate", "--category", "bargaining", "--n", "5", "--seed", "1", "--out", str(tmp_path / "g.jsonl")])
    assert result.exit_code == 0, result.output
    assert len(read_problems(tmp_path / "g.jsonl")) == 5
    result = runner.invoke(app, ["data", "generate", "--category", "nope", "--n", "1", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code != 0
