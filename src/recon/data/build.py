"""`recon data build`: verified train/eval splits.

Published items the audit confirms (`agree`) and non-computable ones (kept, flagged) are joined
with generated items; every multiple-choice item's options are shuffled with a seed so that, within
each category, gold positions are as balanced as the option counts allow; the eval split shares no
exact or near-duplicate item with any training file; trivial baselines are re-scored."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import typer

from recon.data.problem import Problem

KEEP_VERDICTS = ("agree", "not_computable")
BASELINE_MARGIN = 0.03


EVAL_BUCKETS = 4


def eval_bucket(problem: Problem) -> bool:
    """Whether a generated item's template family (its near-duplicate key: text with numbers masked)
    is reserved for eval: a fixed hash puts 1 in EVAL_BUCKETS families there, so generated eval and
    train items never share a template family."""
    from recon.data.contamination import item_key

    return int(hashlib.sha256(item_key(problem, near=True).encode()).hexdigest(), 16) % EVAL_BUCKETS == 0


def balanced_gold_positions(problems: list[Problem], rng: random.Random) -> list[int | None]:
    """A 1-based gold position per option item (None otherwise). Within each category, the items with
    k options spread their golds evenly over 1..k (counts differ by at most one); the leftover
    golds of each option-count group go to the positions with the fewest golds so far, smallest k first,
    which keeps every fixed-position guess as close to chance as integer counts allow."""
    positions: list[int | None] = [None] * len(problems)
    groups: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(problems):
        if p.answer_type == "option" and p.choices:
            groups[p.category][len(p.choices)].append(i)
    for category in sorted(groups):
        totals: dict[int, int] = defaultdict(int)
        for k in sorted(groups[category]):
            items = groups[category][k][:]
            base, extra = divmod(len(items), k)
            slots = list(range(1, k + 1))
            rng.shuffle(slots)
            lucky = sorted(slots, key=lambda j: totals[j])[:extra]
            deal = [j for j in range(1, k + 1) for _ in range(base + (j in lucky))]
            rng.shuffle(deal)
            rng.shuffle(items)
            for i, j in zip(items, deal):
                positions[i] = j
                totals[j] += 1
    return positions


def fixed_guess_excess(problems: list[Problem], positions: list[int | None]) -> float:
    """Largest accuracy of an always-Option-j guess minus chance (mean 1/k) over these items."""
    placed = [(p, pos) for p, pos in zip(problems, positions) if pos is not None]
    if not placed:
        return 0.0
    chance = sum(1 / len(p.choices or []) for p, _ in placed) / len(placed)
    counts: dict[int, int] = defaultdict(int)
    for _, pos in placed:
        counts[pos] += 1
    return max(counts.values()) / len(placed) - chance


def trim_for_balance(published: list[Problem], generated: list[Problem], margin: float = BASELINE_MARGIN, max_drop: int = 6) -> list[Problem]:
    """The longest prefix of one category's generated eval items (dropping at most `max_drop`) whose
    union with the published items lets balanced placement keep every fixed guess within `margin`
    of chance (integer counts make some sizes impossible, e.g. 16 three-option items)."""
    for drop in range(0, min(max_drop, len(generated)) + 1):
        kept = generated[: len(generated) - drop]
        items = published + kept
        if fixed_guess_excess(items, balanced_gold_positions(items, random.Random(0))) <= margin + 1e-9:
            return kept
    return generated


def shuffle_balanced(problems: list[Problem], seed: int | str) -> list[Problem]:
    """Every option item's options shuffled (gold remapped, prompt rewritten) with balanced gold positions."""
    from recon.data.options import shuffle_options

    rng = random.Random(f"shuffle:{seed}")
    positions = balanced_gold_positions(problems, rng)
    return [shuffle_options(p, rng, pos) if pos is not None else p for p, pos in zip(problems, positions)]


def _flag(problem: Problem, result) -> Problem:
    problem.meta["audit"] = {"verdict": result.verdict, "reason": result.reason, "solver_answer": result.solver_answer}
    problem.meta["verified"] = result.verdict == "agree"
    return problem


def _kept(problems: list[Problem], counts: dict[str, dict[str, int]]) -> list[Problem]:
    """The items whose audit verdict is kept, flagged in meta; verdict counts per category."""
    from recon.data.audit import audit_problem

    kept = []
    for p in problems:
        result = audit_problem(p)
        counts[p.category][result.verdict] = counts[p.category].get(result.verdict, 0) + 1
        if result.verdict in KEEP_VERDICTS:
            kept.append(_flag(p, result))
    return kept


def _drop_overlap(problems: list[Problem], exact_keys: set[str], near_keys: set[str]) -> tuple[list[Problem], int]:
    from recon.data.contamination import item_key

    kept = [p for p in problems if item_key(p) not in exact_keys and item_key(p, near=True) not in near_keys]
    return kept, len(problems) - len(kept)


def overlap_counts(evaluation: list[Problem], training: dict[str, list[Problem]]) -> dict[str, dict[str, int]]:
    """Eval items that also occur (exactly / near) in each training file."""
    from recon.data.contamination import overlapping

    return {name: {"exact": len(overlapping(evaluation, ps)), "near": len(overlapping(evaluation, ps, near=True))} for name, ps in training.items()}


def baseline_check(train: list[Problem], evaluation: list[Problem], margin: float = BASELINE_MARGIN) -> dict[str, Any]:
    """The data report's baselines on the built eval, per multiple-choice category, against chance + margin."""
    from recon.data.report import baseline_accuracies

    table = baseline_accuracies(train, evaluation)
    option_categories = sorted({p.category for p in evaluation if p.answer_type == "option"})
    rows = {}
    for cat in option_categories:
        row = table[cat]
        chance = row["random"]
        worst_name, worst = max(((k, v) for k, v in row.items() if k != "random" and v is not None), key=lambda kv: kv[1])
        rows[cat] = {**row, "chance": chance, "best_baseline": worst_name, "excess": worst - chance, "ok": worst <= chance + margin + 1e-9}
    unchecked = {c: table[c] for c in sorted({p.category for p in evaluation if p.answer_type != "option"})}
    return {"margin": margin, "per_category": rows, "all_ok": all(r["ok"] for r in rows.values()), "not_multiple_choice": unchecked}


def build_splits(
    out: Path,
    seed: int = 0,
    generated_per_category: int = 200,
    eval_generated_per_category: int = 20,
    data_dir: Path | None = None,
    difficulty: int = 0,
    save_datasets: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Write train.jsonl, eval.jsonl, sft_cot.jsonl (+ `datasets` folders) and build_report.json/.md
    into `out`; returns the report."""
    from recon.data.contamination import item_key
    from recon.data.generate import generate_problems
    from recon.data.problem import to_dataset, write_jsonl
    from recon.data.published import load_all
    from recon.grading import grade_problem

    published = load_all(data_dir)
    audit_counts: dict[str, dict[str, dict[str, int]]] = {s: defaultdict(dict) for s in ("train", "eval", "sft_cot")}
    pub_eval = _kept(published["eval"], audit_counts["eval"])
    pub_train = _kept(published["train"], audit_counts["train"])
    sft = _kept(published["sft_cot"], audit_counts["sft_cot"])

    pub_exact, pub_near = {item_key(p) for p in pub_eval}, {item_key(p, near=True) for p in pub_eval}
    gen_eval = generate_problems("all", eval_generated_per_category, f"{seed}-eval", difficulty, exclude=pub_exact | pub_near,
                                 progress=progress, accept=eval_bucket, allow_short=True)
    gen_eval = [
        p
        for category in sorted({p.category for p in gen_eval})
        for p in trim_for_balance([q for q in pub_eval if q.category == category], [q for q in gen_eval if q.category == category])
    ]
    evaluation = pub_eval + gen_eval
    exact_keys = pub_exact | {item_key(p) for p in gen_eval}
    near_keys = pub_near | {item_key(p, near=True) for p in gen_eval}
    gen_train = generate_problems("all", generated_per_category, f"{seed}-train", difficulty, exclude=exact_keys | near_keys,
                                  progress=progress, accept=lambda p: not eval_bucket(p), allow_short=True)

    removed = {}
    pub_train, removed["published_train"] = _drop_overlap(pub_train, exact_keys, near_keys)
    sft, removed["sft_cot"] = _drop_overlap(sft, exact_keys, near_keys)
    removed["generated_train"] = 0  # generate_problems excluded every eval key already (the overlap check below confirms)

    train = shuffle_balanced(pub_train + gen_train, f"{seed}-train")
    evaluation = shuffle_balanced(evaluation, f"{seed}-eval")
    sft = shuffle_balanced(sft, f"{seed}-sft")
    for p in sft:  # the teacher trace was renumbered with the options; does it still reach the gold?
        p.meta["response_correct"] = grade_problem(p.meta.get("response", ""), p, think="optional").correct
    training_files = {
        "published_train": [p for p in train if p.source != "generated"],
        "sft_cot": sft,
        "generated_train": [p for p in train if p.source == "generated"],
    }
    overlap = overlap_counts(evaluation, training_files)
    if any(v["exact"] or v["near"] for v in overlap.values()):
        raise RuntimeError(f"eval still overlaps a training file: {overlap}")

    out.mkdir(parents=True, exist_ok=True)
    files = {"train": train, "eval": evaluation, "sft_cot": sft}
    for name, problems in files.items():
        write_jsonl(problems, out / f"{name}.jsonl")
        if save_datasets:
            to_dataset(problems).save_to_disk(str(out / "datasets" / name))
    report = {
        "seed": seed,
        "generated_per_category": generated_per_category,
        "eval_generated_per_category": eval_generated_per_category,
        "counts": {name: _category_counts(ps) for name, ps in files.items()},
        "published_audit": {s: {c: dict(v) for c, v in sorted(d.items())} for s, d in audit_counts.items()},
        "removed_for_overlap_with_eval": removed,
        "generated_shortfall": _shortfall({"train": (gen_train, generated_per_category), "eval": (gen_eval, eval_generated_per_category)}),
        "eval_overlap_with_training": overlap,
        "sft_cot_responses_reaching_gold": sum(p.meta["response_correct"] for p in sft),
        "gold_positions_eval": _positions(evaluation),
        "baselines": baseline_check(train, evaluation),
    }
    (out / "build_report.json").write_text(json.dumps(report, indent=2))
    (out / "build_report.md").write_text(build_markdown(report))
    return report


def _shortfall(sets: dict[str, tuple[list[Problem], int]]) -> dict[str, dict[str, int]]:
    """Per split, categories that got fewer generated items than asked (template families exhausted)."""
    from recon.data.generate import generatable_categories

    out = {}
    for name, (problems, wanted) in sets.items():
        have = {c: 0 for c in generatable_categories()}
        for p in problems:
            have[p.category] += 1
        out[name] = {c: wanted - n for c, n in have.items() if n < wanted}
    return out


def _category_counts(problems: list[Problem]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"published": 0, "generated": 0})
    for p in problems:
        counts[p.category]["generated" if p.source == "generated" else "published"] += 1
    return dict(sorted(counts.items()))


def _positions(problems: list[Problem]) -> dict[str, dict[str, int]]:
    """Gold-position counts of the option items, per category."""
    from recon.data.report import gold_positions

    categories = sorted({p.category for p in problems if p.answer_type == "option"})
    return {c: gold_positions([p for p in problems if p.category == c]) for c in categories}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def build_markdown(report: dict[str, Any]) -> str:
    lines = ["# Verified Recon splits", "", f"seed {report['seed']}; generated per category: train {report['generated_per_category']}, "
             f"eval {report['eval_generated_per_category']}.", "", "## Items per category (published + generated)", "",
             "| category | train | eval | sft_cot |", "|---|---:|---:|---:|"]
    cats = sorted({c for counts in report["counts"].values() for c in counts})
    for c in cats:
        cell = lambda name: "{published} + {generated}".format(**report["counts"][name].get(c, {"published": 0, "generated": 0}))  # noqa: E731
        lines.append(f"| {c} | {cell('train')} | {cell('eval')} | {cell('sft_cot')} |")
    lines += ["", "## Eval overlap with training files (after filtering)", "", "| training file | exact | near | removed before the check |", "|---|---:|---:|---:|"]
    for name, v in report["eval_overlap_with_training"].items():
        lines.append(f"| {name} | {v['exact']} | {v['near']} | {report['removed_for_overlap_with_eval'][name]} |")
    for split, short in report["generated_shortfall"].items():
        if short:
            lines += ["", f"Generated {split} items missing (every template family reserved for the other split or overlapping eval): "
                      + ", ".join(f"{c} {n}" for c, n in short.items())]
    base = report["baselines"]
    lines += ["", f"## Trivial baselines on eval (accuracy %, must be ≤ chance + {100 * base['margin']:.0f})", "",
              "| category | chance | option_1 | option_2 | option_3 | option_4 | majority | ok |", "|---|---:|---:|---:|---:|---:|---:|:-:|"]
    for c, r in base["per_category"].items():
        lines.append(f"| {c} | {_pct(r['chance'])} | " + " | ".join(_pct(r.get(k)) for k in ("option_1", "option_2", "option_3", "option_4", "majority")) + f" | {'yes' if r['ok'] else 'NO'} |")
    for c, r in base.get("not_multiple_choice", {}).items():
        lines.append(f"| {c} (not multiple choice, not checked) | {_pct(r.get('random'))} | – | – | – | – | {_pct(r.get('majority'))} | – |")
    lines += ["", f"SFT-CoT teacher traces reaching the remapped gold: {report['sft_cot_responses_reaching_gold']}.", ""]
    return "\n".join(lines)


def build_command(
    out: Path = typer.Option(..., "--out", help="Folder for train/eval/sft_cot JSONL, datasets and the build report."),
    seed: int = typer.Option(0, "--seed", help="Seed for generation and option shuffling."),
    generated_per_category: int = typer.Option(200, "--generated-per-category", help="Generated training items per category."),
    eval_generated_per_category: int = typer.Option(20, "--eval-generated-per-category", help="Generated eval items per category."),
    difficulty: int = typer.Option(0, "--difficulty", help="Generator difficulty; 0 mixes 1..3."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the published CSVs."),
) -> None:
    """Verified train/eval splits: audited published items + generated items, shuffled, no eval overlap."""
    report = build_splits(out, seed, generated_per_category, eval_generated_per_category, data_dir, difficulty, progress=True)
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(build_markdown(report)))
    if not report["baselines"]["all_ok"]:
        raise typer.Exit(1)
