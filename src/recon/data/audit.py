"""`recon data audit`: re-derive every published label with the exact solvers and tabulate the
verdicts per split and category. Figures are computed from the per-item records."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, get_args

from recon.data.problem import Problem


def verdicts() -> tuple[str, ...]:
    """Every audit verdict, in table order: the `Verdict` literal (imported here, not at module load,
    because `recon.data.categories` loads every solver and the CLI imports this module at start-up)."""
    from recon.data.categories import Verdict

    return get_args(Verdict)


def audit_problem(problem: Problem):
    """The `AuditResult` of one item; a category without a spec or a parser crash is `unparsed`
    (with the reason), never dropped."""
    from recon.data.categories import CATEGORY_SPECS, AuditResult

    spec = CATEGORY_SPECS.get(problem.category)
    if spec is None or spec.audit is None:
        return AuditResult("unparsed", None, f"no audit registered for category {problem.category!r}")
    try:
        return spec.audit(problem)
    except (ValueError, KeyError, IndexError, ZeroDivisionError, TypeError, MemoryError, RecursionError) as exc:
        return AuditResult("unparsed", None, f"parser error: {type(exc).__name__}: {exc}")


def audit_records(problems: Iterable[Problem], split: str, progress: bool = False) -> list[dict[str, Any]]:
    """One JSON-able record per item: id, split, category, verdict, gold, solver answer, reason."""
    problems = list(problems)
    if progress:
        from rich.progress import track

        problems = track(problems, description=f"auditing {split}", transient=True)  # type: ignore[assignment]
    records = []
    for p in problems:
        result = audit_problem(p)
        records.append({
            "id": p.id, "split": split, "category": p.category, "verdict": result.verdict,
            "gold": p.gold, "solver_answer": result.solver_answer, "reason": result.reason,
        })
    return records


def audit_summary(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """`{split: {category | "all": {n, <verdict counts>, agreement}}}`; agreement is agree over
    the items the solver could decide (agree + disagree + ambiguous + ill_posed), None if none."""
    names = verdicts()
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in records:
        counts[r["split"]][r["category"]][r["verdict"]] += 1
        counts[r["split"]]["all"][r["verdict"]] += 1
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for split, by_cat in counts.items():
        summary[split] = {}
        for cat in sorted(by_cat, key=lambda c: (c == "all", c)):
            c = by_cat[cat]
            decided = sum(c[v] for v in ("agree", "disagree", "ambiguous", "ill_posed"))
            row: dict[str, Any] = {"n": sum(c.values()), **{v: c[v] for v in names}}
            row["agreement"] = c["agree"] / decided if decided else None
            summary[split][cat] = row
    return summary


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def audit_markdown(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One markdown table per split."""
    names = verdicts()
    lines = ["# Audit of the published Recon labels", "",
             "agreement = agree / (agree + disagree + ambiguous + ill_posed); incomplete, unparsed and not_computable are excluded.", ""]
    for split, rows in summary.items():
        lines += [f"## {split}", "", "| category | n | " + " | ".join(names) + " | agreement |",
                  "|---|" + "---:|" * (len(names) + 2)]
        for cat, row in rows.items():
            label = f"**{cat}**" if cat == "all" else cat
            lines.append(f"| {label} | {row['n']} | " + " | ".join(str(row[v]) for v in names) + f" | {_pct(row['agreement'])} |")
        lines.append("")
    return "\n".join(lines)


def print_tables(summary: dict[str, dict[str, dict[str, Any]]]) -> None:
    from rich.console import Console
    from rich.table import Table

    names = verdicts()
    console = Console()
    for split, rows in summary.items():
        table = Table(title=f"audit: {split}")
        table.add_column("category", no_wrap=True)
        for col in ("n", *names, "agreement"):
            table.add_column(col, justify="right")
        for cat, row in rows.items():
            table.add_row(cat, str(row["n"]), *(str(row[v]) for v in names), _pct(row["agreement"]), style="bold" if cat == "all" else None)
        console.print(table)


def run_audit(data_dir: Path | None = None, progress: bool = False) -> tuple[list[dict[str, Any]], dict]:
    """Audit the published train and eval splits: (per-item records, summary)."""
    from recon.data.published import load_split

    records: list[dict[str, Any]] = []
    for split in ("train", "eval"):
        records += audit_records(load_split(split, data_dir), split, progress=progress)
    return records, audit_summary(records)
