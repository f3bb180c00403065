"""Exact and near-duplicate detection within and across problem sets.

Exact: same category and same question + options after whitespace/case normalisation.
Near: the same once every number is masked (templated items that differ only in their numbers)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import permutations
from typing import Iterable

from recon.data.problem import Problem

_NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?%?")


def normalize_question(text: str) -> str:
    """Case- and whitespace-insensitive form of a text."""
    return " ".join(text.casefold().split())


def mask_numbers(text: str) -> str:
    """`normalize_question` with every number (money, percentages, decimals) replaced by `#`."""
    return _NUMBER.sub("#", normalize_question(text))


def item_key(problem: Problem, near: bool = False) -> str:
    """The identity of an item for duplicate detection; option order does not matter."""
    text = problem.question + "\n" + "\n".join(sorted(problem.choices or []))
    return problem.category + "\n" + (mask_numbers(text) if near else normalize_question(text))


def duplicates_within(problems: list[Problem], near: bool = False) -> int:
    """How many items repeat an earlier item of the same set."""
    counts = Counter(item_key(p, near) for p in problems)
    return sum(c - 1 for c in counts.values())


def overlapping(candidates: Iterable[Problem], reference: Iterable[Problem], near: bool = False) -> list[Problem]:
    """The candidates whose key also occurs in `reference`."""
    keys = {item_key(p, near) for p in reference}
    return [p for p in candidates if item_key(p, near) in keys]


def contamination_report(sets: dict[str, list[Problem]]) -> dict:
    """Duplicate counts within each set, and for each ordered pair `a in b` the items of `a` that
    also occur in `b`, overall and per category."""
    within = {
        name: {"items": len(ps), "exact": duplicates_within(ps), "near": duplicates_within(ps, near=True)}
        for name, ps in sets.items()
    }
    across = {}
    for (a, pa), (b, pb) in permutations(sets.items(), 2):
        exact, near = overlapping(pa, pb), overlapping(pa, pb, near=True)
        per_category: dict[str, dict[str, int]] = defaultdict(lambda: {"exact": 0, "near": 0})
        for kind, found in (("exact", exact), ("near", near)):
            for p in found:
                per_category[p.category][kind] += 1
        across[f"{a} in {b}"] = {
            "items": len(pa),
            "exact": len(exact),
            "near": len(near),
            "per_category": dict(sorted(per_category.items())),
        }
    return {"within": within, "across": across}
