"""`recon data report`: what the data looks like and what trivial strategies score on it."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Callable

from recon.data.contamination import contamination_report
from recon.data.problem import Problem
from recon.grading.grade import grade, parse_ordering, parse_pairs, parse_yes_no

Predictor = Callable[[Problem], "str | None"]
MAX_FIXED_OPTION = 4


def _answer_class(problem: Problem) -> str:
    """The canonical form of a gold answer, so that equal answers vote together."""
    if problem.answer_type == "option":
        return f"Option {problem.gold_option}"
    if problem.answer_type == "yes_no":
        return (parse_yes_no(problem.gold) or problem.gold).capitalize()
    if problem.answer_type == "ordering":
        order = parse_ordering(problem.gold)
        return ", ".join(order) if order else problem.gold
    pairs = parse_pairs(problem.gold)
    return str(sorted([list(p) for p in pairs])) if pairs is not None else problem.gold


def fit_baselines(train: list[Problem]) -> dict[str, Predictor]:
    """Trivial predictors: always Option k, and the per-category majority answer of `train`."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for p in train:
        votes[p.category][_answer_class(p)] += 1
    # Ties break towards the first answer seen, which is deterministic for a given train file.
    majority = {c: counter.most_common(1)[0][0] for c, counter in votes.items()}
    predictors: dict[str, Predictor] = {
        f"option_{k}": (lambda p, k=k: f"Option {k}" if p.answer_type == "option" else None)
        for k in range(1, MAX_FIXED_OPTION + 1)
    }
    predictors["majority"] = lambda p: majority.get(p.category)
    return predictors


def random_expected_accuracy(problem: Problem) -> float | None:
    """Expected accuracy of a uniformly random answer (None where the answer space is open)."""
    if problem.answer_type == "option":
        return 1.0 / len(problem.choices or [None])
    if problem.answer_type == "yes_no":
        return 0.5
    if problem.answer_type == "ordering":
        order = parse_ordering(problem.gold)
        return 1.0 / math.factorial(len(order)) if order else None
    return None


def is_correct(answer: str | None, problem: Problem) -> bool:
    """Grade a bare answer with the shared grader (as a boxed final answer)."""
    if answer is None:
        return False
    return grade(f"\\boxed{{{answer}}}", problem.gold, problem.answer_type, problem.choices, think="none").correct


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def baseline_accuracies(train: list[Problem], evaluation: list[Problem]) -> dict[str, dict[str, float | None]]:
    """Accuracy of each trivial baseline on `evaluation`, per category and `overall`.

    A baseline that does not apply to a category (always Option k on yes/no items) is None there."""
    predictors = fit_baselines(train)
    by_category: dict[str, list[Problem]] = defaultdict(list)
    for p in evaluation:
        by_category[p.category].append(p)
    groups = {**dict(sorted(by_category.items())), "overall": evaluation}
    table: dict[str, dict[str, float | None]] = {}
    for name, problems in groups.items():
        row: dict[str, float | None] = {}
        for baseline, predict in predictors.items():
            answers = [predict(p) for p in problems]
            # An item the baseline has no answer for counts as wrong; a category where it never
            # applies (always Option k on yes/no items) gets None.
            applies = name == "overall" or any(a is not None for a in answers)
            row[baseline] = _mean([float(is_correct(a, p)) for a, p in zip(answers, problems)]) if applies else None
        randoms = [random_expected_accuracy(p) for p in problems]
        row["random"] = _mean([r for r in randoms if r is not None]) if any(r is not None for r in randoms) else None
        table[name] = row
    return table


def gold_positions(problems: list[Problem]) -> dict[str, int]:
    counts = Counter(p.gold_option for p in problems if p.answer_type == "option")
    return {str(k): counts[k] for k in sorted(counts)}


def data_report(sets: dict[str, list[Problem]]) -> dict:
    """Per-category and overall item counts, answer types, gold-position distributions, trivial
    baselines on `eval` (fitted on `train`), and contamination within and across the sets."""
    categories = sorted({p.category for ps in sets.values() for p in ps})
    per_category = {}
    for c in categories + ["overall"]:
        entry = {}
        for name, problems in sets.items():
            chosen = [p for p in problems if c in ("overall", p.category)]
            entry[name] = {
                "items": len(chosen),
                "answer_types": dict(Counter(p.answer_type for p in chosen)),
                "gold_positions": gold_positions(chosen),
            }
        per_category[c] = entry
    report = {"categories": per_category, "contamination": contamination_report(sets)}
    if "train" in sets and "eval" in sets:
        report["baselines_on_eval"] = baseline_accuracies(sets["train"], sets["eval"])
    return report


def _positions(counts: dict[str, int]) -> str:
    if not counts:
        return "—"
    top = max(MAX_FIXED_OPTION, *map(int, counts))
    return "/".join(str(counts.get(str(k), 0)) for k in range(1, top + 1))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def report_markdown(report: dict) -> str:
    """The report as markdown tables."""
    lines = ["## Items and gold-option positions", ""]
    splits = list(next(iter(report["categories"].values())).keys())
    lines.append("| category | " + " | ".join(f"{s} items" for s in splits) + " | answer type | " + " | ".join(f"{s} gold at 1/2/3/4" for s in splits) + " |")
    lines.append("|---" * (2 * len(splits) + 2) + "|")
    for c, entry in report["categories"].items():
        types = sorted({t for s in splits for t in entry[s]["answer_types"]})
        positions = [_positions(entry[s]["gold_positions"]) for s in splits]
        lines.append(f"| {c} | " + " | ".join(str(entry[s]["items"]) for s in splits) + f" | {'/'.join(types)} | " + " | ".join(positions) + " |")
    if "baselines_on_eval" in report:
        table = report["baselines_on_eval"]
        names = list(next(iter(table.values())).keys())
        lines += ["", "## Trivial baselines on eval (accuracy %, fitted on train)", ""]
        lines.append("| category | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for c, row in table.items():
            lines.append(f"| {c} | " + " | ".join(_pct(row[n]) for n in names) + " |")
    cont = report["contamination"]
    lines += ["", "## Duplicates", "", "| set | items | exact duplicates | near duplicates (numbers masked) |", "|---|---|---|---|"]
    for name, w in cont["within"].items():
        lines.append(f"| within {name} | {w['items']} | {w['exact']} | {w['near']} |")
    for pair, a in cont["across"].items():
        lines.append(f"| {pair} | {a['items']} | {a['exact']} | {a['near']} |")
    lines += ["", "### Overlap per category (exact / near)", ""]
    pairs = list(cont["across"])
    lines.append("| category | " + " | ".join(pairs) + " |")
    lines.append("|---" * (len(pairs) + 1) + "|")
    for c in [c for c in report["categories"] if c != "overall"]:
        cells = []
        for pair in pairs:
            pc = cont["across"][pair]["per_category"].get(c, {"exact": 0, "near": 0})
            cells.append(f"{pc['exact']} / {pc['near']}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "baseline_accuracies",
    "data_report",
    "fit_baselines",
    "is_correct",
    "random_expected_accuracy",
    "report_markdown",
]
