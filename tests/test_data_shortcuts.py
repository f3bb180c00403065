"""The payoff-blind shortcut audit: it catches planted cues, passes the generators this issue fixed,
and keeps per-item predictions for evaluation."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data.build import shortcut_sample, shuffle_balanced
from recon.data.categories.common import make_option_problem
from recon.data.problem import write_jsonl
from recon.data.shortcuts import MIN_ITEMS, accuracy_where_blind_wrong, binomial_sf, shortcut_audit

# Categories whose generators this issue owns (market and behavioural); the game-theory ones are audited
# in the build and fixed elsewhere.
OWNED = ("auction_risk", "bargaining", "bertrand", "certainty_effect", "condorcet_criterion", "cournot", "endowment_effect",
         "market_equilibrium", "stackelberg", "tax_incidence", "time_inconsistency")


def _cued(n: int, seed: str, rank: int | None):
    """Items whose gold is always the `rank`-th smallest number (None: a uniformly drawn rank)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        values = rng.sample(range(10, 99), 4)
        gold_rank = rng.randrange(4) if rank is None else rank
        gold = sorted(values)[gold_rank]
        items.append(make_option_problem("demo", f"What is the price in market {i}?", [f"${v}" for v in values], values.index(gold), ["x"]))
    return shuffle_balanced(items, seed)


def test_binomial_tail():
    assert binomial_sf(0, 10, 0.3) == 1.0
    assert binomial_sf(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert binomial_sf(6, 10, 0.5) == pytest.approx(sum(__import__("math").comb(10, k) for k in range(6, 11)) / 1024)


def test_a_numeric_rank_cue_fails_and_no_cue_passes():
    report, predictions = shortcut_audit(_cued(200, "t", 1), _cued(200, "e", 1), min_items=200)
    assert not report["all_ok"]
    failure = report["failures"][0]
    assert failure["category"] == "demo" and failure["cue"] in ("rank_2_smallest", "ngram", "option_only")
    assert report["per_category"]["demo"]["accuracy"]["rank_2_smallest"] == 1.0
    assert len(predictions) == 200 and all(row["correct"] for row in predictions)
    fair, _ = shortcut_audit(_cued(200, "t", None), _cued(200, "e", None), min_items=200)
    assert fair["all_ok"], fair["per_category"]["demo"]


def test_too_few_items_are_reported_not_tested():
    report, _ = shortcut_audit(_cued(30, "t", 1), _cued(30, "e", 1), min_items=200)
    assert report["all_ok"] and not report["per_category"]["demo"]["tested"]


def test_owned_generators_pass_the_audit_on_200_items():
    report, _ = shortcut_audit(*shortcut_sample("owned", MIN_ITEMS, 0, list(OWNED)), min_items=MIN_ITEMS)
    assert set(report["per_category"]) == set(OWNED)
    assert all(r["n"] >= MIN_ITEMS for r in report["per_category"].values())
    assert report["all_ok"], report["failures"]


def test_cli_and_accuracy_where_blind_wrong(tmp_path):
    write_jsonl(_cued(200, "t", 2), tmp_path / "train.jsonl")
    evaluation = _cued(200, "e", None)
    write_jsonl(evaluation, tmp_path / "eval.jsonl")
    result = CliRunner().invoke(app, ["data", "shortcuts", str(tmp_path / "train.jsonl"), str(tmp_path / "eval.jsonl"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "shortcuts.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "out" / "shortcut_predictions.jsonl").read_text().splitlines()]
    assert report["all_ok"] and len(rows) == 200
    # a model right exactly where the blind baseline is wrong scores 100% there
    correct = {row["id"]: not row["correct"] for row in rows}
    where = accuracy_where_blind_wrong(correct, tmp_path / "out" / "shortcut_predictions.jsonl")
    assert where["overall"] == {"n": sum(not r["correct"] for r in rows), "accuracy": 1.0}
    write_jsonl(_cued(200, "e2", 2), tmp_path / "cued.jsonl")
    result = CliRunner().invoke(app, ["data", "shortcuts", str(tmp_path / "train.jsonl"), str(tmp_path / "cued.jsonl")])
    assert result.exit_code == 2 and "demo (" in result.output
