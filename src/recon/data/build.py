"""`recon data build`: verified train/eval splits.

Published items the audit confirms (`agree`) and non-computable ones (kept, flagged) are joined
with generated items; every multiple-choice item's options are shuffled with a seed so that, within
each category, gold positions are as balanced as the option counts allow. No training file shares an
item with the eval (`recon.data.contamination`: canonical games, questions without options, exact and
numbers-masked); train covers every (category, size) of the eval; trivial baselines are re-scored and
the payoff-blind shortcut audit (`recon.data.shortcuts`) runs on a generated sample and the splits."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from itertools import zip_longest
from pathlib import Path
from typing import Any

from recon.data.problem import Problem

KEEP_VERDICTS = ("agree", "not_computable")
BASELINE_MARGIN = 0.03
TRAIN_PER_STRATUM = 5  # generated train items drawn for an eval (category, size) that train lacks
SHORTCUT_ITEMS = 200  # generated items per category and side for the shortcut audit


EVAL_BUCKETS = 4


def eval_bucket(problem: Problem) -> bool:
    """Whether a generated item is reserved for eval: a fixed hash of its key (canonical game or
    question) puts 1 in EVAL_BUCKETS items there, so a generated item can only ever land in one split.
    The hash is per item, not per template family, so eval and train draw from one distribution."""
    from recon.data.contamination import item_key

    return int(hashlib.sha256(item_key(problem).encode()).hexdigest(), 16) % EVAL_BUCKETS == 0


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


def overlap_counts(evaluation: list[Problem], training: dict[str, list[Problem]]) -> dict[str, dict[str, int]]:
    """Eval items that also occur (exactly / near) in each training file."""
    from recon.data.contamination import overlapping

    return {name: {"exact": len(overlapping(evaluation, ps)), "near": len(overlapping(evaluation, ps, near=True))} for name, ps in training.items()}


def filter_training_source(
    source: str, eval_path: str | Path, out_path: str | Path, data_dir: str | Path | None = None, hub_id: str | None = None
) -> dict[str, Any]:
    """A training file without the items whose question or game occurs in the eval at `eval_path`,
    written to `out_path`. `source` is a dataset name (`recon.data.registry`: `sft_cot`, `recon-train`,
    `verified:DIR`, a problems JSONL) or a prompt/completion JSONL (keyed by the question in its last
    prompt message, whatever its category). Returns the source, path and counts; raises if any overlap
    were left."""
    from recon.data.contamination import unlabelled_keys, without_overlap
    from recon.data.problem import iter_jsonl, read_problems, write_jsonl
    from recon.data.published import split_question
    from recon.data.registry import load_problems, published_split

    evaluation = read_problems(eval_path)
    if published_split(source) is None and Path(source).is_file() and "completion" in next(iter_jsonl(source), {}):
        eval_keys = set().union(*(unlabelled_keys(p.question) for p in evaluation))
        kept, removed = [], []
        for row in iter_jsonl(source):
            prompt = row["prompt"] if isinstance(row["prompt"], str) else row["prompt"][-1]["content"]
            (removed if unlabelled_keys(split_question(prompt)[0]) & eval_keys else kept).append(row)
        left = {"exact": 0, "near": 0}
    else:
        kept, removed = without_overlap(load_problems(source, part="train", data_dir=data_dir, hub_id=hub_id), evaluation)
        left = overlap_counts(evaluation, {"kept": kept})["kept"]
    if left["exact"] or left["near"]:
        raise RuntimeError(f"{source}: eval overlap left after filtering: {left}")
    write_jsonl(kept, out_path)
    return {"source": str(source), "path": str(out_path), "items": len(kept) + len(removed), "removed": len(removed), "overlap": left}


def item_size(problem: Problem) -> str:
    """An item's size for stratification: the game's shape for matrix and Bayesian items, else the
    generator's difficulty for generated items and `published text` for published ones."""
    if problem.category in ("pure_nash", "pte", "bayes_nash"):
        from recon.data.categories.matrix import parse_bayes_nash, parse_matrix_game

        try:
            if problem.category == "bayes_nash":
                return f"{len(parse_bayes_nash(problem.question)[0])} states"
            rows, cols = parse_matrix_game(problem.question).shape
            return f"{rows}x{cols}"
        except (ValueError, IndexError):
            pass
    return f"difficulty {problem.meta.get('difficulty', '?')}" if problem.source == "generated" else "published text"


def stratum(problem: Problem) -> tuple[str, str, str]:
    """(category, size, source) with source `published` or `generated`."""
    return problem.category, item_size(problem), "generated" if problem.source == "generated" else "published"


def strata_table(train: list[Problem], evaluation: list[Problem]) -> list[dict[str, Any]]:
    """Items per (category, size, source) in eval and train, with the train items of the same
    (category, size) from either source."""
    ev, tr = Counter(stratum(p) for p in evaluation), Counter(stratum(p) for p in train)
    same_size = Counter({(c, s): 0 for c, s, _ in ev})
    for (c, s, _), n in tr.items():
        same_size[(c, s)] += n
    return [{"category": c, "size": s, "source": src, "eval": ev[(c, s, src)], "train": tr[(c, s, src)], "train_same_size": same_size[(c, s)]}
            for c, s, src in sorted(set(ev) | set(tr))]


def cover_eval_strata(train: list[Problem], evaluation: list[Problem], seed: int | str, exclude: set[str],
                      per_stratum: int = TRAIN_PER_STRATUM) -> tuple[list[Problem], list[Problem], list[Problem]]:
    """(generated train items added, eval items kept, eval items dropped): each (category, size) of the
    eval with fewer than `per_stratum` train items gets generated train items of that size up to it;
    eval items whose (category, size) still has no train item are dropped."""
    from recon.data.generate import generatable_categories, generate_category

    have = Counter((p.category, item_size(p)) for p in train)
    added: list[Problem] = []
    for category, size in sorted({(p.category, item_size(p)) for p in evaluation}):
        missing = per_stratum - have[(category, size)]
        if missing <= 0 or category not in generatable_categories() or size == "published text":
            continue
        level = int(size.split()[-1]) if size.startswith("difficulty ") else 0
        drawn = generate_category(category, missing, f"{seed}-cover-{size.replace(' ', '')}", level, exclude,
                                  accept=lambda p, size=size: not eval_bucket(p) and item_size(p) == size, allow_short=True)
        have[(category, size)] += len(drawn)
        added += drawn
    kept = [p for p in evaluation if have[(p.category, item_size(p))]]
    return added, kept, [p for p in evaluation if not have[(p.category, item_size(p))]]


def generate_stratified(per_category: int, seed: str, difficulty: int, categories: str | list[str] = "all", **options: Any) -> list[Problem]:
    """Generated items of every category; with `difficulty` 0 spread evenly over the difficulties
    1..MAX_DIFFICULTY_MIXED (the eval's strata), else all at `difficulty`."""
    from recon.data.generate import MAX_DIFFICULTY_MIXED, generate_problems

    if difficulty:
        return generate_problems(categories, per_category, seed, difficulty, **options)
    levels = range(1, MAX_DIFFICULTY_MIXED + 1)
    shares = [per_category // len(levels) + (k < per_category % len(levels)) for k in range(len(levels))]
    drawn = [generate_problems(categories, n, f"{seed}-d{level}", level, **options) for level, n in zip(levels, shares)]
    return [p for group in zip_longest(*drawn) for p in group if p is not None]  # interleaved: a trimmed tail spares no level


def shortcut_sample(seed: int | str, per_category: int, difficulty: int, categories: str | list[str] = "all") -> tuple[list[Problem], list[Problem]]:
    """Generated (train, eval) items drawn as the build draws them — the eval side stratified by
    difficulty and sharing no key with the train side — `per_category` of each, options shuffled with
    balanced gold positions. verify=False: the items are the same, re-auditing them only re-checks the
    generators (the built splits are audited)."""
    from recon.data.contamination import item_keys
    from recon.data.generate import generate_problems

    train = generate_problems(categories, per_category, f"{seed}-shortcut-train", difficulty, verify=False, allow_short=True)
    exact, near = item_keys(train)
    evaluation = generate_stratified(per_category, f"{seed}-shortcut-eval", difficulty, categories, verify=False, exclude=exact | near,
                                     allow_short=True)
    return shuffle_balanced(train, f"{seed}-shortcut-train"), shuffle_balanced(evaluation, f"{seed}-shortcut-eval")


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
    shortcut_items: int = SHORTCUT_ITEMS,
    hub_id: str | None = None,
    taught: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write train.jsonl, eval.jsonl, sft_cot.jsonl (+ `datasets` folders), the payoff-blind
    baseline's eval predictions and build_report.json/.md into `out`; returns the report. The published
    splits come from `data_dir` (default: `$RECON_DATA_DIR`, `../shared/data/recon`) or the HF hub
    dataset `hub_id`. After
    writing them, raises a `ShortcutError` when a payoff-blind baseline beats chance + 5 points on
    `shortcut_items` generated items of a category (0 skips that audit). With `taught` (a preset's
    `data.taught` section), also the taught slice's files (`recon.data.taught.build_taught`)."""
    from recon.data.contamination import item_keys, without_overlap
    from recon.data.generate import generate_problems
    from recon.data.problem import to_dataset, write_jsonl
    from recon.data.published import load_all
    from recon.data.shortcuts import MIN_ITEMS, PREDICTIONS_FILE, ShortcutError, failure_message, shortcut_audit, write_predictions
    from recon.grading import grade_problem

    published = load_all(data_dir, hub_id)
    audit_counts: dict[str, dict[str, dict[str, int]]] = {s: defaultdict(dict) for s in ("train", "eval", "sft_cot")}
    pub_eval = _kept(published["eval"], audit_counts["eval"])
    pub_train = _kept(published["train"], audit_counts["train"])
    sft = _kept(published["sft_cot"], audit_counts["sft_cot"])

    pub_exact, pub_near = item_keys(pub_eval)
    gen_eval = generate_stratified(eval_generated_per_category, f"{seed}-eval", difficulty, exclude=pub_exact | pub_near,
                                   progress=progress, accept=eval_bucket, allow_short=True)
    gen_eval = [
        p
        for category in sorted({p.category for p in gen_eval})
        for p in trim_for_balance([q for q in pub_eval if q.category == category], [q for q in gen_eval if q.category == category])
    ]
    evaluation = pub_eval + gen_eval
    exact_keys, near_keys = item_keys(evaluation)
    gen_train = generate_problems("all", generated_per_category, f"{seed}-train", difficulty, exclude=exact_keys | near_keys,
                                  progress=progress, accept=lambda p: not eval_bucket(p), allow_short=True)

    removed = {}
    pub_train, dropped = without_overlap(pub_train, evaluation)
    removed["published_train"] = len(dropped)
    sft, dropped = without_overlap(sft, evaluation)
    removed["sft_cot"] = len(dropped)
    removed["generated_train"] = 0  # generate_problems excluded every eval key already (the overlap check below confirms)
    added, evaluation, uncovered = cover_eval_strata(pub_train + gen_train, evaluation, seed, exact_keys | near_keys)
    gen_train += added

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
    built_audit, predictions = shortcut_audit(train, evaluation, min_items=MIN_ITEMS)
    write_predictions(predictions, out / PREDICTIONS_FILE)
    generated_audit = shortcut_audit(*shortcut_sample(seed, shortcut_items, difficulty), min_items=shortcut_items)[0] if shortcut_items else None
    report = {
        "seed": seed,
        "generated_per_category": generated_per_category,
        "eval_generated_per_category": eval_generated_per_category,
        "counts": {name: _category_counts(ps) for name, ps in files.items()},
        "published_audit": {s: {c: dict(v) for c, v in sorted(d.items())} for s, d in audit_counts.items()},
        "removed_for_overlap_with_eval": removed,
        "generated_shortfall": _shortfall({"train": (gen_train, generated_per_category), "eval": (gen_eval, eval_generated_per_category)}),
        "eval_overlap_with_training": overlap,
        "strata": strata_table(train, evaluation),
        "train_added_for_strata": len(added),
        "eval_dropped_without_train_stratum": [p.id for p in uncovered],
        "sft_cot_responses_reaching_gold": sum(p.meta["response_correct"] for p in sft),
        "gold_positions_eval": _positions(evaluation),
        "baselines": baseline_check(train, evaluation),
        "shortcuts_generated": generated_audit,
        "shortcuts_built": built_audit,
    }
    if taught:
        from recon.data.taught import build_taught

        report["taught"] = build_taught(out, seed, taught, train, evaluation)
    (out / "build_report.json").write_text(json.dumps(report, indent=2))
    (out / "build_report.md").write_text(build_markdown(report))
    if generated_audit is not None and not generated_audit["all_ok"]:
        raise ShortcutError(failure_message(generated_audit, f"recon data build (report: {out / 'build_report.md'})"))
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
        lines.append(f"| {c} (open answer: see the shortcut audit) | {_pct(r.get('random'))} | – | – | – | – | {_pct(r.get('majority'))} | – |")
    lines += ["", "## Eval stratification (category × size × source; train of the same category and size from either source)", "",
              "| category | size | source | eval | train | train, same size |", "|---|---|---|---:|---:|---:|"]
    lines += [f"| {r['category']} | {r['size']} | {r['source']} | {r['eval']} | {r['train']} | {r['train_same_size']} |" for r in report["strata"]]
    if report["eval_dropped_without_train_stratum"]:
        lines += ["", "Eval items dropped (no train item of their category and size): " + ", ".join(report["eval_dropped_without_train_stratum"])]
    from recon.data.shortcuts import shortcut_markdown

    if report["shortcuts_generated"] is not None:
        lines += ["", shortcut_markdown(report["shortcuts_generated"], "Shortcut audit on generated items (the build fails when one is NO)")]
    lines += ["", shortcut_markdown(report["shortcuts_built"], "Shortcut audit on the built splits (train → eval)")]
    lines += ["", f"SFT-CoT teacher traces reaching the remapped gold: {report['sft_cot_responses_reaching_gold']}.", ""]
    return "\n".join(lines)
