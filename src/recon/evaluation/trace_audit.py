"""The step audit (issue 22): each step of a model's scratchpad scored against the solver's own trace,
so a reader sees which step fails.

A local trace (`recon.data.categories`: pure_nash, backward_induction, time_inconsistency, bertrand
price questions) is one step per line, `label: content` — `row 0: c0=8 c1=3 → max 8 → c0=8 yes c1=3 no →
column 0`, `payoffs turn 3 (Alice): stop [Alice 19, Bob 4] continue [Alice 20, Bob 25]`, `turn 3 (Alice):
stop=19 continue=20 → max 20 → stop=19 no continue=20 yes → continue [Alice 20, Bob 25]`, `Answer: Option 2: …`. Lines without content after
the colon are headers and are not scored. A step's kind is its label's first word (`row`, `payoffs`,
`column`, `check`, `turn`, `node`, `answer`, …). For every solver step, the model's line with
the same label is `correct` (same content, whitespace aside), `wrong`, or `missing`; the extra step
`box` is correct when the model's boxed answer copies its own last line (the answer line)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from recon.grading.extract import find_boxed

BOX = "box"  # the step kind: the boxed answer copies the model's own answer line
OUTCOMES = ("correct", "wrong", "missing")


def trace_steps(text: str) -> list[tuple[str, str]]:
    """(label, content) per scored line of a trace: the text inside `<think>…</think>` when it has one
    (else the text before the box), lines `label: content` with non-empty content; the first line of
    each label wins."""
    body = text
    if "<think>" in body:
        body = body.split("<think>", 1)[1]
    body = body.split("</think>", 1)[0].split("\\boxed", 1)[0]
    steps: dict[str, str] = {}
    for line in body.splitlines():
        label, sep, content = line.strip().partition(":")
        if sep and content.strip() and label.strip() and label.strip() not in steps:
            steps[label.strip()] = content.strip()
    return list(steps.items())


def step_kind(label: str) -> str:
    """The kind of a step: its label's first word, lower case (`row 0` → `row`, `Answer` → `answer`)."""
    return label.split()[0].lower()


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _boxed(text: str) -> str | None:
    boxes = find_boxed(text)
    return boxes[-1][1] if boxes else None


def audit_trace(solver_solution: str, model_text: str) -> list[dict[str, str]]:
    """One row per solver step and one for the box: {label, kind, outcome} with outcome correct / wrong /
    missing. `box`: correct when the model's boxed answer equals the content of its own line with the
    solver's last label (the answer line), wrong when it differs, missing without a box or that line."""
    solver = trace_steps(solver_solution)
    model = dict(trace_steps(model_text))
    rows = []
    for label, content in solver:
        outcome = "missing" if label not in model else "correct" if _same(model[label], content) else "wrong"
        rows.append({"label": label, "kind": step_kind(label), "outcome": outcome})
    if solver:
        last = solver[-1][0]
        box = _boxed(model_text)
        outcome = "missing" if box is None or last not in model else "correct" if _same(box, model[last]) else "wrong"
        rows.append({"label": BOX, "kind": BOX, "outcome": outcome})
    return rows


def summarise(audits: Iterable[tuple[str, list[dict[str, str]]]]) -> dict[str, Any]:
    """Per category and step kind (in trace order): n steps, correct / wrong / missing counts and the
    accuracy (correct / n); `first_error`: per category, how many items first fail at each kind (`none`:
    every step right); `overall`: per kind over all categories."""
    table: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    overall: dict[str, dict[str, int]] = {}
    first_error: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    items: dict[str, int] = defaultdict(int)
    for category, rows in audits:
        items[category] += 1
        first = next((r["kind"] for r in rows if r["outcome"] != "correct"), "none")
        first_error[category][first] += 1
        for r in rows:
            for cell in (table[category].setdefault(r["kind"], dict.fromkeys(OUTCOMES, 0)),
                         overall.setdefault(r["kind"], dict.fromkeys(OUTCOMES, 0))):
                cell[r["outcome"]] += 1

    def with_accuracy(cell: dict[str, int]) -> dict[str, Any]:
        n = sum(cell.values())
        return {"n": n, **cell, "accuracy": cell["correct"] / n if n else None}

    return {
        "items": dict(items),
        "per_category": {c: {k: with_accuracy(v) for k, v in kinds.items()} for c, kinds in sorted(table.items())},
        "first_error": {c: dict(v) for c, v in sorted(first_error.items())},
        "overall": {k: with_accuracy(v) for k, v in overall.items()},
    }


def audit_records(records: Iterable[dict[str, Any]], problems: dict[str, Any]) -> dict[str, Any]:
    """The step audit of eval sample records (`samples.jsonl`) against the solver traces of `problems`
    (id → Problem with `meta["solution"]`): only records in the problem's own option order (perm 0) and
    problems with a worked solution are scored."""
    audits = []
    for record in records:
        problem = problems.get(record.get("id"))
        if problem is None or not problem.meta.get("solution") or record.get("perm", 0) != 0 or record.get("status") == "error":
            continue
        text = ((record.get("reasoning") or "") + "\n" + (record.get("completion") or "")).strip()
        audits.append((problem.category, audit_trace(problem.meta["solution"], text)))
    return summarise(audits)


def audit_eval_dir(eval_dir: str | Path, problems: dict[str, Any]) -> dict[str, Any]:
    """`audit_records` on an eval run folder's samples."""
    from recon.evaluation.runner import SAMPLES_FILE
    from recon.runs import read_appended_jsonl

    return audit_records(read_appended_jsonl(Path(eval_dir) / SAMPLES_FILE)[0], problems)


def audit_markdown(audits: dict[str, dict[str, Any]]) -> list[str]:
    """The per-step accuracy table: one row per (model, category, step kind)."""
    lines = ["| model | category | step | steps | correct % | wrong % | missing % |", "|---|---|---|---:|---:|---:|---:|"]
    for model, audit in audits.items():
        for category, kinds in audit["per_category"].items():
            for kind, cell in kinds.items():
                pct = lambda k: f"{100 * cell[k] / cell['n']:.1f}" if cell["n"] else "–"  # noqa: E731
                lines.append(f"| {model} | {category} | {kind} | {cell['n']} | {pct('correct')} | {pct('wrong')} | {pct('missing')} |")
    return lines

