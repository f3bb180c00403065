"""`recon data generate`: fresh problems whose gold the exact solver confirms, deterministic for a seed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterable

from recon.data.problem import Problem
from recon.errors import UserError

MAX_DIFFICULTY_MIXED = 3
# The documented range of `difficulty`: 0 (mix 1..3) or a fixed size 1..MAX_DIFFICULTY. Above it games grow
# past what the solvers settle quickly (a 101×101 PTE game never finishes) or a generator runs out of
# distinct payoffs.
MAX_DIFFICULTY = 4
# Items asked per category at most: the draws are bounded by 20·n + 200, and template families run out
# well before this.
MAX_ITEMS = 100_000
# An audit that reads a generated item and finds another answer is a generator bug. An item the audit's
# prose parser cannot read (`unparsed`) keeps the generator's solver-derived gold, with
# meta["reverified"] = False.
REJECTING_VERDICTS = ("disagree", "ambiguous", "ill_posed", "incomplete", "not_computable")


def generatable_categories() -> list[str]:
    """Every registered category with a generator."""
    from recon.data.categories import CATEGORY_SPECS

    return sorted(name for name, spec in CATEGORY_SPECS.items() if spec.generate is not None)


class GenerationExhausted(UserError):
    """A generator's rejection sampler ran out of tries (too many items asked, or a setting it cannot meet)."""


def check_generation(categories: Iterable[str] | str, n: int, difficulty: int) -> None:
    """Refuse (UserError naming the flag) a category without a generator, or `n` / `difficulty` outside
    their documented ranges, before any work."""
    names = [categories] if isinstance(categories, str) else list(categories)
    unknown = [c for c in names if c != "all" and c not in generatable_categories()]
    if unknown:
        raise UserError(f"category: no generator for {', '.join(map(repr, unknown))}; choose 'all' or one of {', '.join(generatable_categories())}")
    if not 0 <= n <= MAX_ITEMS:
        raise UserError(f"n (items per category): must be in 0..{MAX_ITEMS}, got {n}")
    if not 0 <= difficulty <= MAX_DIFFICULTY:
        raise UserError(f"difficulty: must be 0 (mix 1..{MAX_DIFFICULTY_MIXED}) or 1..{MAX_DIFFICULTY}, got {difficulty}")


def generate_category(
    category: str,
    n: int,
    seed: int | str,
    difficulty: int = 0,
    exclude: Iterable[str] = (),
    verify: bool = True,
    accept: Callable[[Problem], bool] | None = None,
    allow_short: bool = False,
) -> list[Problem]:
    """`n` distinct verified problems of one category.

    Item i is drawn from its own `random.Random(f"{seed}:{category}:{attempt}")`, so the output is
    deterministic for a seed. `difficulty` 0 draws 1..3 per item. A repeated question text, and items
    whose exact or near-duplicate key (`recon.data.contamination.item_key`) is in `exclude`, are redrawn. With
    `verify`, each item is re-derived by the category's audit: any verdict but `agree` or `unparsed`
    raises; meta["reverified"] records whether the audit re-derived it. `accept` filters draws (the
    build uses it to keep eval and train templates apart). With `allow_short`, a category whose draws
    keep being rejected returns fewer than `n` items (none if the first 200 draws all fail) instead
    of raising."""
    from recon.data.categories import CATEGORY_SPECS
    from recon.data.contamination import item_key, normalize_question

    check_generation(category, n, difficulty)
    spec = CATEGORY_SPECS[category]
    excluded = set(exclude)
    seen: set[str] = set()
    problems: list[Problem] = []
    attempt = 0
    while len(problems) < n:
        if allow_short and (attempt > 20 * n + 200 or (attempt >= 200 and not problems)):
            break
        if attempt > 20 * n + 200:
            raise GenerationExhausted(f"{category}: only {len(problems)} distinct items after {attempt} draws (asked for {n}); ask for fewer")
        rng = random.Random(f"{seed}:{category}:{attempt}")
        attempt += 1
        level = difficulty or rng.randint(1, MAX_DIFFICULTY_MIXED)
        try:
            problem = spec.generate(rng, level)
        except (RuntimeError, RecursionError) as exc:  # a rejection sampler that ran out of tries
            raise GenerationExhausted(f"{category} at difficulty {level}: the generator gave up ({exc})") from exc
        question = normalize_question(problem.question)
        if question in seen or item_key(problem) in excluded or item_key(problem, near=True) in excluded:
            continue
        if accept is not None and not accept(problem):
            continue
        if verify and spec.audit is not None:
            result = spec.audit(problem)
            if result.verdict in REJECTING_VERDICTS:
                raise RuntimeError(f"{category} generator produced an item its solver rejects ({result.verdict}: {result.reason})")
            problem.meta["reverified"] = result.verdict == "agree"
        seen.add(question)
        problem.id = f"gen-{category}-{seed}-{len(problems):05d}"
        problem.meta.setdefault("difficulty", level)
        problem.meta["seed"] = str(seed)
        problems.append(problem)
    return problems


def generate_problems(
    categories: Iterable[str] | str,
    n: int,
    seed: int | str,
    difficulty: int = 0,
    exclude: Iterable[str] = (),
    verify: bool = True,
    progress: bool = False,
    accept: Callable[[Problem], bool] | None = None,
    allow_short: bool = False,
) -> list[Problem]:
    """`n` problems for each category (`"all"` for every generatable one)."""
    names = generatable_categories() if categories == "all" else [categories] if isinstance(categories, str) else list(categories)
    excluded = set(exclude)
    iterator: Iterable[str] = names
    if progress:
        from rich.progress import track

        iterator = track(names, description="generating", transient=True)
    out: list[Problem] = []
    for name in iterator:
        out += generate_category(name, n, seed, difficulty, excluded, verify, accept, allow_short)
    return out
