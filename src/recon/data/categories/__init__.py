"""Per-category knowledge: how to read a published item, re-derive its answer with an exact solver,
and generate fresh verified items. Each computable category registers one `CategorySpec`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from recon.data.problem import Problem

Verdict = Literal["agree", "disagree", "ambiguous", "ill_posed", "incomplete", "unparsed", "not_computable"]


@dataclass(frozen=True)
class AuditResult:
    """The audit of one published item: the verdict, the solver's answer and a one-line reason."""

    verdict: Verdict
    solver_answer: str | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CategorySpec:
    """`audit` re-derives a published item's answer; `generate` makes a fresh item whose gold the
    solver guarantees, with a worked solution in `meta["solution"]` (`<think>…</think>` + boxed answer).
    `difficulty` is the concept's size knob (game size, tree depth, states, candidates)."""

    name: str
    answer_type: str
    audit: Callable[[Problem], AuditResult] | None
    generate: Callable[[random.Random, int], Problem] | None
    description: str = ""


CATEGORY_SPECS: dict[str, CategorySpec] = {}


def register(spec: CategorySpec) -> CategorySpec:
    if spec.name in CATEGORY_SPECS:
        raise ValueError(f"category {spec.name!r} registered twice")
    CATEGORY_SPECS[spec.name] = spec
    return spec


# Every spec module registers its categories on import, so CATEGORY_SPECS is complete.
from recon.data.categories import behavioral, matrix, sequential, repeated, markets, uncomputable  # noqa: E402,F401,I001
