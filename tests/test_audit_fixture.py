"""The audit against hand-labelled published items (tests/fixtures/hand_labelled.jsonl).

Each fixture row was solved by reading the item's text (not by running the audit): the verdict on the
published gold (correct / wrong / ambiguous / ill_posed / incomplete), the right option where one is
determinable, and a one-line justification. The audit must reach the same verdict on at least 95% of the
rows, and must never certify (`agree`) a gold the fixture found wrong."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from recon.data.audit import audit_problem
from recon.data.published import load_split

FIXTURE = Path(__file__).parent / "fixtures" / "hand_labelled.jsonl"
PROSE_CATEGORIES = {"backward_induction", "trigger", "enforceability", "feasibility", "auction_risk", "condorcet_criterion"}
# The audit verdict that matches each hand verdict on the published gold.
MATCHING_VERDICT = {"correct": "agree", "wrong": "disagree", "ambiguous": "ambiguous", "ill_posed": "ill_posed", "incomplete": "incomplete"}


def _rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_fixture_is_well_formed():
    rows = _rows()
    assert len(rows) >= 120 and len({r["id"] for r in rows}) == len(rows)
    per_category = collections.Counter(r["category"] for r in rows)
    assert set(per_category) == PROSE_CATEGORIES and min(per_category.values()) >= 20
    assert {r["split"] for r in rows} == {"train", "eval"}
    for r in rows:
        assert r["id"] == f"{r['split']}-{r['row']:04d}"
        assert r["gold_verdict"] in MATCHING_VERDICT and r["why"]
        assert (r["answer"] is not None) == (r["gold_verdict"] in ("correct", "wrong")), r


@pytest.fixture(scope="module")
def audited(data_dir):
    splits = {split: load_split(split, data_dir) for split in ("train", "eval")}
    out = []
    for r in _rows():
        problem = splits[r["split"]][r["row"]]
        assert (problem.id, problem.category) == (r["id"], r["category"]), "the fixture names another item"
        out.append((r, problem, audit_problem(problem)))
    return out


def test_fixture_golds_are_the_published_golds(audited):
    for r, problem, _ in audited:
        if r["gold_verdict"] == "correct":
            assert problem.gold_option == r["answer"], r["id"]
        if r["gold_verdict"] == "wrong":
            assert problem.gold_option != r["answer"], r["id"]


def test_audit_never_certifies_a_wrong_gold(audited):
    certified = [r["id"] for r, _, result in audited if r["gold_verdict"] != "correct" and result.verdict == "agree"]
    assert certified == []


def test_audit_matches_the_hand_labels(audited):
    matched = []
    for r, _, result in audited:
        same = result.verdict == MATCHING_VERDICT[r["gold_verdict"]]
        if same and r["gold_verdict"] == "wrong":  # a disagree must also name the right option
            same = result.solver_answer is not None and result.solver_answer.startswith(f"Option {r['answer']}:")
        matched.append(same)
    misses = [(r["id"], r["gold_verdict"], result.verdict) for (r, _, result), ok in zip(audited, matched) if not ok]
    assert sum(matched) >= 0.95 * len(matched), misses
