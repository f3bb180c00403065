"""Category specs: audits of the published prose and the verified generators."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from scipy.stats import chisquare

from recon.data.audit import audit_problem, audit_records, audit_summary
from recon.data.categories import CATEGORY_SPECS
from recon.data.contamination import item_key
from recon.data.generate import generate_category, generate_problems
from recon.data.published import CATEGORIES, load_split
from recon.grading import grade_problem

MINE = [
    "auction_risk", "endowment_effect", "certainty_effect", "time_inconsistency", "condorcet_criterion",
    "cournot", "stackelberg", "bertrand", "bargaining", "market_equilibrium", "tax_incidence",
]
NEW = ["cournot", "stackelberg", "bertrand", "bargaining", "market_equilibrium", "tax_incidence"]


def test_every_category_has_a_spec():
    assert set(CATEGORIES) | set(NEW) <= set(CATEGORY_SPECS)
    for name in ("budget_balance", "econnli", "econlogicqa"):
        assert CATEGORY_SPECS[name].generate is None


@pytest.fixture(scope="module")
def published(data_dir):
    return {split: load_split(split, data_dir) for split in ("train", "eval")}


def test_audit_verdicts_on_published(published):
    records = audit_records(published["train"], "train") + audit_records(published["eval"], "eval")
    by_id = {r["id"]: r for r in records}
    summary = audit_summary(records)
    for split in ("train", "eval"):
        rows = summary[split]
        assert rows["all"]["n"] == len(published[split])
        for cat in MINE[:5]:
            assert rows[cat]["unparsed"] <= 0.07 * rows[cat]["n"], (split, cat, rows[cat])
        assert rows["time_inconsistency"]["agree"] == rows["time_inconsistency"]["n"]
        for cat in ("budget_balance", "econnli", "econlogicqa"):
            assert rows[cat]["not_computable"] == rows[cat]["n"]
    # hand-checked items (row numbers of the CSV, 0-based)
    assert by_id["train-1287"]["verdict"] == "disagree"  # A > Z > Y > A is a majority cycle
    assert "cycle" in by_id["train-1287"]["reason"]
    assert by_id["train-1125"]["verdict"] == "disagree"  # option 2 pays more with higher probability
    assert "dominated" in by_id["train-1125"]["reason"]
    assert by_id["train-1067"]["verdict"] == "ill_posed"  # asks about the other party
    assert by_id["train-0900"]["verdict"] == "ambiguous"  # first-price and Dutch both listed, risk-averse bidders
    assert by_id["train-1203"]["verdict"] == "agree"


def test_audit_of_unknown_category_is_unparsed(published):
    problem = published["eval"][100]
    problem = type(problem)(**{**problem.to_dict(), "category": "no_such_category"})
    assert audit_problem(problem).verdict == "unparsed"


@pytest.mark.parametrize("category", MINE)
def test_generated_gold_rederived_by_solver(category):
    problems = generate_category(category, 300, seed=11)
    for p in problems:
        assert p.meta["reverified"] is True
        assert CATEGORY_SPECS[category].audit(p).verdict == "agree"
        assert grade_problem(p.meta["solution"], p).status == "exact"
        assert p.meta["solution"].startswith("<think>") and "</think>\n\n\\boxed{" in p.meta["solution"]
        assert len(set(p.choices)) == len(p.choices)


@pytest.mark.parametrize("category", MINE)
def test_gold_position_uniform_chi_square(category):
    problems = generate_category(category, 600, seed=5, difficulty=1)
    by_size: dict[int, Counter] = defaultdict(Counter)
    for p in problems:
        by_size[len(p.choices)][p.gold_option] += 1
    for k, counts in by_size.items():
        if sum(counts.values()) < 10 * k:
            continue
        observed = [counts[j] for j in range(1, k + 1)]
        assert chisquare(observed).pvalue > 1e-3, (category, k, observed)


def test_ten_thousand_generated_questions_are_distinct():
    per_category = 10_000 // len(MINE) + 1
    problems = generate_problems(MINE, per_category, seed=2024)
    assert len(problems) >= 10_000
    assert len({p.question for p in problems}) == len(problems)
    assert len({item_key(p) for p in problems}) == len(problems)
    assert len({p.id for p in problems}) == len(problems)


def test_generation_is_deterministic_for_a_seed():
    a = [p.to_dict() for p in generate_problems(MINE, 5, seed=3)]
    b = [p.to_dict() for p in generate_problems(MINE, 5, seed=3)]
    c = [p.to_dict() for p in generate_problems(MINE, 5, seed=4)]
    assert a == b and a != c


def test_difficulty_knob_changes_the_concept_size():
    sizes = {d: {len(p.choices) for p in generate_category("condorcet_criterion", 20, 0, difficulty=d)} for d in (1, 3)}
    assert sizes[1] == {4} and sizes[3] == {6}
    firms = {d: {p.meta["firms"] for p in generate_category("cournot", 10, 0, difficulty=d)} for d in (1, 4)}
    assert firms == {1: {2}, 4: {5}}
    # difficulty >= 2 always adds a shift: a draw without an equilibrium is redrawn, not demoted
    shifts = {p.meta["shift"] for p in generate_category("market_equilibrium", 300, 0, difficulty=3)}
    assert shifts == {"demand", "supply"}


def test_bad_requests_raise():
    with pytest.raises(ValueError, match="no generator"):
        generate_category("econnli", 1, 0)
    with pytest.raises(ValueError):
        generate_category("cournot", -1, 0)


def test_excluded_near_duplicates_are_redrawn():
    first = generate_category("endowment_effect", 50, seed=1)
    excluded = {item_key(p, near=True) for p in first}
    again = generate_category("endowment_effect", 50, seed=1, exclude=excluded)
    assert not {item_key(p, near=True) for p in again} & excluded
