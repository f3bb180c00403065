"""The grading case tables (tests/grading_cases/*.jsonl): each completion gets the verdict and reward a
careful human grader gives it (the expected values are written per class by build_cases.py, from
docs/grading.md, not by calling the grader). Published templates are applied to the first problems of
every published eval category."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from recon.data.published import load_split
from recon.grading import HIERARCHICAL_REWARD, grade, parse_ordering, parse_pairs

CASES = Path(__file__).resolve().parent / "grading_cases"
SYNTHETIC_FILES = ("option", "yes_no", "ordering", "pairs")
PROBLEMS_PER_CATEGORY = 4
THINK = "<think>\nLet me work through the payoffs step by step.\n</think>\n\n{}"


def read_rows(name: str) -> list[dict]:
    with open(CASES / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


SYNTHETIC = [row for name in SYNTHETIC_FILES for row in read_rows(name)]


@pytest.mark.parametrize("row", SYNTHETIC, ids=[f"{r['answer_type']}:{r['class']}:{i}" for i, r in enumerate(SYNTHETIC)])
def test_synthetic_case(row):
    g = grade(row["completion"], row["gold"], row["answer_type"], row["choices"])
    assert (g.status, g.reward) == (row["expected"], row["reward"]), g.reason


def _other_answer(problem) -> str:
    """A well-formed answer of the problem's type that differs from its gold."""
    if problem.answer_type == "yes_no":
        return "No" if problem.gold.strip().lower().startswith("yes") else "Yes"
    if problem.answer_type == "ordering":
        order = parse_ordering(problem.gold)
        return ", ".join(order[1:] + order[:1])
    cells = parse_pairs(problem.gold)
    other = (cells or frozenset()) ^ {(1, 1)}
    return "[" + ", ".join(f"[{i}, {j}]" for i, j in sorted(other)) + "]"


def expand_published(problems) -> list[tuple[str, dict, str]]:
    """(class, problem, completion, expected) for every published template and problem it applies to."""
    by_category: dict[str, list] = {}
    for p in problems:
        by_category.setdefault(p.category, []).append(p)
    cases = []
    for template in read_rows("published"):
        for category, items in sorted(by_category.items()):
            for p in items[:PROBLEMS_PER_CATEGORY]:
                kind = "option" if p.answer_type == "option" else "other"
                if template["applies_to"] not in (kind, "any"):
                    continue
                fields = {"gold": p.gold, "gold_boxed": p.gold}
                if p.answer_type == "option":
                    g = p.gold_option
                    o = g % len(p.choices) + 1
                    fields.update(g=g, gtext=p.choices[g - 1], o=o, otext=p.choices[o - 1])
                else:
                    fields["other"] = _other_answer(p)
                text = template["template"].format(**fields)
                completion = text if text.startswith("<think>") else THINK.format(text)
                cases.append((f"{template['class']}/{category}", p, completion, template))
    return cases


@pytest.fixture(scope="module")
def published_cases(data_dir):
    return expand_published(load_split("eval", data_dir))


def test_published_cases(published_cases):
    failures = []
    for cls, problem, completion, template in published_cases:
        g = grade(completion, problem.gold, problem.answer_type, problem.choices)
        if (g.status, g.reward) != (template["expected"], template["reward"]):
            failures.append(f"{cls} {problem.id}: {g.status} ({g.reason}), expected {template['expected']}")
    assert len(published_cases) >= 500
    assert not failures, "\n".join(failures[:20])


def test_suite_size_and_coverage(published_cases):
    """At least 1,000 cases, every verdict and answer type represented."""
    total = len(SYNTHETIC) + len(published_cases)
    assert total >= 1000
    assert Counter(r["expected"] for r in SYNTHETIC).keys() == HIERARCHICAL_REWARD.keys()
    for row in SYNTHETIC:
        assert HIERARCHICAL_REWARD[row["expected"]] == row["reward"]
