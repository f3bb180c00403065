"""The taught slice (issue 22): the categories whose solution is a short local procedure a 135M model
can follow, declared in the preset's `data.taught` section with the reason for each, and the files the
data stage writes for it.

- `taught_train.jsonl`: `train_per_category` fresh generated items per taught category with the
  solver's local trace (`meta["solution"]`), keys disjoint from both eval files;
- `taught_eval.jsonl`: `eval_per_category` fresh generated items per taught category, keys disjoint
  from every training file and from the stratified eval (they sit beside it, never inside it);
- `taught_shortcut_predictions.jsonl` and `taught_baselines.json`: the payoff-blind baselines
  (`recon.data.shortcuts`) refitted on all the training items and scored on exactly these eval items;
- `sft_solutions.jsonl` (`sft_file`): the taught traces, and every other train item (published
  included) answer-only, so SFT meets every category's prior.

A category entry may narrow the slice with `where` (meta values the item must have, e.g. bertrand
`{ask: price}`) and fix the generator's `difficulty` (0: mixed 1..3)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from recon.data.problem import Problem, read_problems, write_jsonl

TAUGHT_TRAIN = "taught_train.jsonl"
TAUGHT_EVAL = "taught_eval.jsonl"
TAUGHT_TRAIN_KEPT = "taught_train_without_excluded.jsonl"  # the slice's train items less `data.exclude_categories`
TAUGHT_PREDICTIONS = "taught_shortcut_predictions.jsonl"
TAUGHT_BASELINES = "taught_baselines.json"
SFT_FILE = "sft_solutions.jsonl"
PER_CATEGORY_BEST = "payoff_blind_best_per_category"  # the strongest baseline of each category, chosen per category


def in_slice(problem: Problem, taught: dict[str, Any]) -> bool:
    """Whether an item belongs to the taught slice: a taught category and every `where` value matches."""
    entry = (taught.get("categories") or {}).get(problem.category)
    if entry is None:
        return False
    return all(str(problem.meta.get(key)) == str(value) for key, value in ((entry or {}).get("where") or {}).items())


def _generate(taught: dict[str, Any], n: int, seed: str, accept, exclude: set[str]) -> list[Problem]:
    from recon.data.generate import generate_category

    out: list[Problem] = []
    for category, entry in sorted((taught.get("categories") or {}).items()):
        out += generate_category(category, n, seed, (entry or {}).get("difficulty", 0), exclude,
                                 accept=lambda p: in_slice(p, taught) and accept(p))
    return out


def build_taught(out: Path, seed: int | str, taught: dict[str, Any], train: list[Problem], evaluation: list[Problem]) -> dict[str, Any]:
    """Write the slice's train and eval files and its baselines into `out`; returns the report part.

    Eval items come from the eval side of the build's hash (`eval_bucket`), train items from the other
    side, and each excludes the other's keys (exact and near) and those of every built file."""
    from recon.data.build import eval_bucket, shuffle_balanced
    from recon.data.contamination import item_keys, overlapping
    from recon.data.shortcuts import shortcut_audit, write_predictions

    exact, near = item_keys([*train, *evaluation])
    slice_eval = _generate(taught, taught.get("eval_per_category", 100), f"{seed}-taught-eval", eval_bucket, exact | near)
    eval_exact, eval_near = item_keys(slice_eval)
    slice_train = _generate(taught, taught.get("train_per_category", 1000), f"{seed}-taught-train", lambda p: not eval_bucket(p),
                            exact | near | eval_exact | eval_near)
    slice_eval = shuffle_balanced(slice_eval, f"{seed}-taught-eval")
    slice_train = shuffle_balanced(slice_train, f"{seed}-taught-train")
    overlap = {name: {"exact": len(overlapping(slice_eval, ps)), "near": len(overlapping(slice_eval, ps, near=True))}
               for name, ps in (("train", train), ("taught_train", slice_train), ("eval", evaluation))}
    if any(v["exact"] or v["near"] for v in overlap.values()):
        raise RuntimeError(f"taught eval overlaps another file: {overlap}")
    write_jsonl(slice_train, out / TAUGHT_TRAIN)
    write_jsonl(slice_eval, out / TAUGHT_EVAL)
    audit, predictions = shortcut_audit([*train, *slice_train], slice_eval)
    write_predictions(predictions, out / TAUGHT_PREDICTIONS)
    baselines = slice_baselines(audit)
    (out / TAUGHT_BASELINES).write_text(json.dumps(baselines, indent=2) + "\n")
    return {
        "categories": {c: (e or {}).get("why") for c, e in sorted((taught.get("categories") or {}).items())},
        "left_out": dict(taught.get("left_out") or {}),
        "counts": {"train": _count(slice_train), "eval": _count(slice_eval)},
        "eval_overlap": overlap,
        "baselines": baselines,
    }


def _count(problems: list[Problem]) -> dict[str, int]:
    return dict(sorted(Counter(p.category for p in problems).items()))


def slice_baselines(audit: dict[str, Any]) -> dict[str, Any]:
    """The payoff-blind baselines on the slice's eval items, from a shortcut audit: per category each
    rule's accuracy; over the slice each rule that applies to every category (weighted by items), and
    the per-category best (the strongest rule of each category, the n-gram model included even where the
    audit does not test it, chosen after seeing the eval: an upper bound on any one rule); `best` is the
    strongest of those."""
    per = audit["per_category"]
    n = sum(r["n"] for r in per.values())
    common = set.intersection(*(set(r["accuracy"]) for r in per.values())) if per else set()
    overall = {name: sum(r["accuracy"][name] * r["n"] for r in per.values()) / n for name in sorted(common)}
    if per:
        overall[PER_CATEGORY_BEST] = sum(max(r["accuracy"].values()) * r["n"] for r in per.values()) / n
    best = max(overall.items(), key=lambda kv: kv[1]) if overall else None
    return {
        "n_items": n,
        "per_category": {c: {"n": r["n"], "chance": r["chance"], "accuracy": r["accuracy"], "best": max(r["accuracy"], key=r["accuracy"].get)}
                         for c, r in sorted(per.items())},
        "overall": overall,
        "best": {"name": best[0], "accuracy": best[1]} if best else None,
    }


def answer_only(problem: Problem) -> Problem:
    """The item with an SFT target of an empty thinking block and the boxed answer (the worked
    solution's box when it has one: PTE boxes `[r, c]` for the gold `[[r, c]]`)."""
    solution = problem.meta.get("solution")
    box = solution.rsplit("</think>", 1)[-1].strip() if solution else "\\boxed{" + problem.gold + "}"
    return replace(problem, meta={**problem.meta, "solution": f"<think>\n</think>\n\n{box}"})


def sft_file(out: Path, taught: dict[str, Any], seed: int | str = 0, excluded: set[str] = frozenset()) -> Path:
    """`sft_solutions.jsonl` for a run with a taught slice: every taught train item with its local trace,
    and every item of `train.jsonl` (published and generated) answer-only unless it is in the slice and
    has a worked solution; categories in `excluded` (an ablation) are left out. Rows are shuffled with
    `seed`, so any prefix or even slice of the file mixes both kinds."""
    rows = [p for p in read_problems(out / TAUGHT_TRAIN) if p.category not in excluded]
    for p in read_problems(out / "train.jsonl"):
        if p.category in excluded:
            continue
        rows.append(p if in_slice(p, taught) and p.meta.get("solution") else answer_only(p))
    random.Random(f"sft:{seed}").shuffle(rows)
    path = out / SFT_FILE
    write_jsonl(rows, path)
    return path


def without_categories(source: Path, target: Path, excluded: set[str]) -> Path:
    """`source`, or (an ablation) its copy at `target` without the `excluded` categories."""
    if not excluded:
        return source
    write_jsonl([p for p in read_problems(source) if p.category not in excluded], target)
    return target


def grpo_file(out: Path, excluded: set[str] = frozenset()) -> Path:
    """The prompts GRPO draws from the slice (`grpo.dataset: taught`): `taught_train.jsonl`, or a copy
    without the `excluded` categories (an ablation)."""
    return without_categories(out / TAUGHT_TRAIN, out / TAUGHT_TRAIN_KEPT, excluded)
