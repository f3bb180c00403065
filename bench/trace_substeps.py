"""Which part of a trace line fails? The step audit (`recon eval audit`) scores whole lines against the
solver's; this splits the decision lines of a `bench/trace_probe.py` run into their parts and judges each
part against the model's OWN earlier output, so an upstream error is not counted again downstream.

    python bench/trace_substeps.py runs/probe-bi

For each template (backward_induction: chain / tree; pure_nash: one), in % of lines:
- `outcome copied`: a `payoffs …` line's outcome equals the solver's (copied from the question or carried);
- `action = larger own value`: the action written is the one whose number, as the model wrote it, is larger;
- for lines in the max-scan format (`a=x b=y → max m → a=x yes b=y no → label`): `max of own values`,
  `scan copies the cells`, `yes/no against own max`, `label of own yes`.
Prints one JSON object."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from recon.data.problem import read_problems
from recon.evaluation.runner import SAMPLES_FILE
from recon.evaluation.trace_audit import trace_steps
from recon.runs import read_appended_jsonl

SCAN = re.compile(r"((?:\S+=-?\d+ ?)+) → max (-?\d+) → ((?:\S+=-?\d+ (?:yes|no) ?)+) → (.*)")
VERSUS = re.compile(r"(\w+) (-?\d+) vs (\w+) (-?\d+) → (\w+)")  # `stop 12 vs continue 7 → stop (12, 3)`
OUTCOME = re.compile(r"(\w+) (\[[^\]]*\])")  # `stop [Alice 12, Bob 3]`


def _index(label: str) -> str:
    """A cell's label as its line names it: `c2` → `2` (pure_nash `→ column 2`), an action as it is."""
    return re.sub(r"^[cr](\d+)$", r"\1", label)


def line_parts(line: str, counts: Counter) -> None:
    """Count the parts of one decision line (either format) into `counts[(part, ok)]`."""
    if m := SCAN.fullmatch(line):
        cells = [(k, int(v)) for k, v in re.findall(r"(\S+)=(-?\d+)", m.group(1))]
        top = int(m.group(2))
        scan = [(k, int(v), yn) for k, v, yn in re.findall(r"(\S+)=(-?\d+) (yes|no)", m.group(3))]
        yes = [k for k, _, yn in scan if yn == "yes"]
        label = m.group(4).split(" [")[0]
        counts["max of own values", top == max(v for _, v in cells)] += 1
        counts["scan copies the cells", [(k, v) for k, v, _ in scan] == cells] += 1
        counts["yes/no against own max", all((yn == "yes") == (v == top) for _, v, yn in scan)] += 1
        counts["label of own yes", bool(yes) and label.split()[-1] == _index(yes[0])] += 1
        counts["action = larger own value", label.split()[-1] == _index(max(cells, key=lambda kv: kv[1])[0])] += 1
    elif m := VERSUS.match(line):
        a, x, b, y, action = m.groups()
        counts["action = larger own value", action == (a if int(x) > int(y) else b)] += 1


def substeps(probe_dir: Path) -> dict[str, dict[str, dict[str, float]]]:
    problems = {p.id: p for p in read_problems(probe_dir / "taught_eval.jsonl")}
    counts: dict[str, Counter] = defaultdict(Counter)
    for record in read_appended_jsonl(probe_dir / "eval" / SAMPLES_FILE)[0]:
        problem = problems[record["id"]]
        template = problem.meta.get("template", problem.category)
        model = dict(trace_steps(((record.get("reasoning") or "") + "\n" + (record.get("completion") or "")).strip()))
        for label, solver_line in trace_steps(problem.meta["solution"]):
            line = model.get(label)
            if line is None:
                continue
            if label.startswith("payoffs") and "[" in solver_line:
                want, got = OUTCOME.findall(solver_line), OUTCOME.findall(line)
                for k, outcome in enumerate(want):
                    counts[template]["outcome copied", k < len(got) and got[k] == outcome] += 1
            elif label.split()[0] in ("turn", "node", "row", "column"):
                line_parts(line, counts[template])
    return {template: {part: {"n": c[part, True] + c[part, False], "percent": round(100 * c[part, True] / (c[part, True] + c[part, False]), 1)}
                       for part in sorted({part for part, _ in c})}
            for template, c in sorted(counts.items())}


if __name__ == "__main__":
    print(json.dumps(substeps(Path(sys.argv[1])), indent=2))
