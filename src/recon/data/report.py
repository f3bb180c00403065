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
TEXT_WIDTH = 100  # columns of `recon data report`


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


Table = tuple[str, list[str], list[list[str]]]  # title, headers, rows (first column a label, then numbers)


def report_tables(report: dict) -> list[Table]:
    """The report as tables of strings, each narrow enough for a 100-column terminal."""
    categories = report["categories"]
    splits = list(next(iter(categories.values())).keys())
    items = []
    for c, entry in categories.items():
        types = sorted({t for s in splits for t in entry[s]["answer_types"]})
        items.append([c, *(str(entry[s]["items"]) for s in splits), types[0] if len(types) == 1 else "mixed"])
    tables: list[Table] = [("Items", ["category", *splits, "answer type"], items)]
    positions = [
        [c, *(_positions(entry[s]["gold_positions"]) for s in splits)]
        for c, entry in categories.items()
        if any(entry[s]["gold_positions"] for s in splits)
    ]
    tables.append((f"Gold-option positions (items with the gold at option 1/2/…/{MAX_FIXED_OPTION})", ["category", *splits], positions))
    if "baselines_on_eval" in report:
        baselines = report["baselines_on_eval"]
        names = list(next(iter(baselines.values())).keys())
        rows = [[c, *(_pct(row[n]) for n in names)] for c, row in baselines.items()]
        tables.append(("Trivial baselines on eval (accuracy %, fitted on train)", ["category", *names], rows))
    cont = report["contamination"]
    rows = [[f"within {name}", str(w["items"]), str(w["exact"]), str(w["near"])] for name, w in cont["within"].items()]
    rows += [[pair, str(a["items"]), str(a["exact"]), str(a["near"])] for pair, a in cont["across"].items()]
    tables.append(("Duplicates (near: numbers masked)", ["set", "items", "exact", "near"], rows))
    pairs = list(cont["across"])
    overlap = []
    for c in [c for c in categories if c != "overall"]:
        cells = [cont["across"][pair]["per_category"].get(c, {"exact": 0, "near": 0}) for pair in pairs]
        overlap.append([c, *(f"{pc['exact']} / {pc['near']}" for pc in cells)])
    tables.append(("Overlap per category (exact / near)", ["category", *pairs], overlap))
    return tables


def report_markdown(report: dict) -> str:
    """The report as markdown tables (numbers right-aligned)."""
    lines: list[str] = []
    for title, headers, rows in report_tables(report):
        lines += [f"## {title}", "", "| " + " | ".join(headers) + " |", "|:---" + "|---:" * (len(headers) - 1) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def report_text(report: dict, width: int = TEXT_WIDTH) -> str:
    """The report as plain-text tables for a terminal: labels left, numbers right-aligned in their
    column; a table wider than `width` is split into several, each repeating the label column."""
    blocks = []
    for title, headers, rows in report_tables(report):
        widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
        groups: list[list[int]] = [[]]
        for i in range(1, len(headers)):
            if groups[-1] and widths[0] + sum(widths[j] + 2 for j in [*groups[-1], i]) > width:
                groups.append([])
            groups[-1].append(i)
        for part, columns in enumerate(groups):
            keep = [0, *columns]

            def line(cells: list[str]) -> str:
                return "  ".join(cells[0].ljust(widths[0]) if i == 0 else cells[i].rjust(widths[i]) for i in keep).rstrip()

            heading = title if part == 0 else f"{title} (continued)"
            blocks.append("\n".join([heading, line(headers), "  ".join("-" * widths[i] for i in keep), *map(line, rows)]))
    return "\n\n".join(blocks) + "\n"


__all__ = [
    "baseline_accuracies",
    "data_report",
    "fit_baselines",
    "is_correct",
    "random_expected_accuracy",
    "report_markdown",
    "report_tables",
    "report_text",
]
