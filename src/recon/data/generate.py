"""`recon data generate`: fresh problems whose gold the exact solver confirms, deterministic for a seed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterable

import typer

from recon.data.problem import Problem

MAX_DIFFICULTY_MIXED = 3
# An audit that reads a generated item and finds another answer is a generator bug. An item the audit's
# prose parser cannot read (`unparsed`) keeps the generator's solver-derived gold, with
# meta["reverified"] = False.
REJECTING_VERDICTS = ("disagree", "ambiguous", "ill_posed", "incomplete", "not_computable")


def generatable_categories() -> list[str]:
    """Every registered category with a generator."""
    from recon.data.categories import CATEGORY_SPECS

    return sorted(name for name, spec in CATEGORY_SPECS.items() if spec.generate is not None)


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

    spec = CATEGORY_SPECS.get(category)
    if spec is None or spec.generate is None:
        raise ValueError(f"no generator for category {category!r}; choose from {generatable_categories()}")
    if n < 0 or difficulty < 0:
        raise ValueError(f"need n >= 0 and difficulty >= 0, got n={n}, difficulty={difficulty}")
    excluded = set(exclude)
    seen: set[str] = set()
    problems: list[Problem] = []
    attempt = 0
    while len(problems) < n:
        if allow_short and (attempt > 20 * n + 200 or (attempt >= 200 and not problems)):
            break
        if attempt > 20 * n + 200:
            raise RuntimeError(f"{category}: only {len(problems)} distinct items after {attempt} draws (need {n})")
        rng = random.Random(f"{seed}:{category}:{attempt}")
        attempt += 1
        level = difficulty or rng.randint(1, MAX_DIFFICULTY_MIXED)
        problem = spec.generate(rng, level)
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


def generate_command(
    category: str = typer.Option("all", "--category", help="A category name, or 'all' for every generatable one."),
    n: int = typer.Option(100, "--n", help="Problems per category."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the output is deterministic for a seed)."),
    difficulty: int = typer.Option(0, "--difficulty", help="Size knob (game size, tree depth, candidates…); 0 mixes 1..3."),
    out: Path = typer.Option(..., "--out", help="Problems JSONL to write."),
) -> None:
    """Generate verified problems (exactly one correct option, uniform gold position, worked solution in meta)."""
    from recon.data.problem import write_jsonl

    try:
        problems = generate_problems(category, n, seed, difficulty, progress=True)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    count = write_jsonl(problems, out)
    typer.echo(f"wrote {count} problems to {out}")
