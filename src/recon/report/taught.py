"""The taught slice in the report (issue 22): each model's accuracy on the slice's fresh eval items
(`eval/<model>/taught`) with its 95% interval, beside the payoff-blind baselines refitted by the data
stage on exactly those items (`data/taught_baselines.json`) and the eval's trivial baselines; the step
audit of every model's scratchpads against the solver's traces (`recon.evaluation.trace_audit`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recon.data.taught import TAUGHT_BASELINES, TAUGHT_EVAL
from recon.evaluation.trace_audit import audit_eval_dir, audit_markdown
from recon.report.verified import best_baseline

TAUGHT = "taught"  # the eval dataset name of the slice (`eval.datasets.taught`)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def slice_summary(entries: list[dict[str, Any]], data_dir: Path) -> dict[str, Any] | None:
    """The `taught_slice` section of summary.json from one run's taught eval entries (model, dir,
    results): categories, n_items, per model accuracy and interval, the best baseline over the data
    stage's refitted payoff-blind baselines and the eval's trivial ones, and the step audit per model.
    None without a taught eval."""
    if not entries:
        return None
    first = entries[0]["results"]
    n_items = first["overall"]["n_items"]
    candidates: dict[str, float] = {name: v for name, v in (first["overall"].get("baselines") or {}).items() if v is not None}
    refit_path = data_dir / TAUGHT_BASELINES
    refit = json.loads(refit_path.read_text()) if refit_path.is_file() else None
    if refit and refit["n_items"] == n_items:  # the refitted baselines were scored on exactly these items
        candidates.update({name if name.startswith("payoff_blind_") else f"payoff_blind_{name}": acc for name, acc in refit["overall"].items()})
    best = best_baseline({name: {"overall": acc} for name, acc in candidates.items()})
    problems = slice_problems(data_dir)
    return {
        "eval": TAUGHT,
        "categories": sorted(first["categories"]),
        "n_items": n_items,
        "models": {
            e["model"]: {"n_items": e["results"]["overall"]["n_items"], "accuracy": e["results"]["overall"]["accuracy"],
                         "ci_low": (e["results"]["overall"].get("ci95") or [None, None])[0],
                         "ci_high": (e["results"]["overall"].get("ci95") or [None, None])[1],
                         "per_category": {c: m["accuracy"] for c, m in e["results"]["categories"].items()}}
            for e in entries
        },
        "best_baseline": best,
        "baselines": candidates,
        "refit_baselines": refit,
        "step_audit": {e["model"]: audit_eval_dir(e["dir"], problems) for e in entries} if problems else {},
        "grpo_vs_sft": grpo_vs_sft(entries),
    }


def slice_problems(data_dir: Path) -> dict[str, Any]:
    """The data stage's slice eval items by id ({} when the run has no taught slice)."""
    from recon.data.problem import read_problems

    path = data_dir / TAUGHT_EVAL
    return {p.id: p for p in read_problems(path)} if path.is_file() else {}


def heldout_on_slice(state, kind: str) -> bool:
    """Did this training stage draw its learning curve from the taught slice's eval items (`heldout_split: taught`)?"""
    import yaml

    config = state.stages[kind].get("config")
    path = state.root / config if config else None
    if path is None or not path.is_file():
        return False
    return Path(str((yaml.safe_load(path.read_text()) or {}).get("heldout_split", ""))).name == TAUGHT_EVAL


def audit_heldout(rows: list[dict], checkpoint: Path, data_dir: Path) -> None:
    """Add to each learning-curve row the step audit's overall per-kind counts of its held-out completions
    (`checkpoint/heldout/checkpoint-N/`) against the slice's solver traces."""
    from recon.evaluation.runner import SAMPLES_FILE

    problems = slice_problems(data_dir)
    for row in rows:
        folder = checkpoint / "heldout" / f"checkpoint-{row['step']}"
        if problems and (folder / SAMPLES_FILE).is_file():
            row["step_audit"] = audit_eval_dir(folder, problems)["overall"]


def grpo_vs_sft(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """GRPO against SFT on the slice, paired by item (`recon.evaluation.compare`: the accuracy delta with a
    paired-bootstrap interval and the exact McNemar test), per run: labels `sft`/`grpo` or `RUN/sft`/`RUN/grpo`."""
    from recon.evaluation.compare import compare_runs

    dirs = {e["model"]: e["dir"] for e in entries}
    out = {}
    for label, sft_dir in dirs.items():
        prefix, _, stage = label.rpartition("/")
        grpo = f"{prefix}/grpo" if prefix else "grpo"
        if stage == "sft" and grpo in dirs:
            row = compare_runs(sft_dir, dirs[grpo])["categories"]["overall"]
            out[grpo] = {"against": label, "n_items": row["n_items"], "delta": row["delta"], "ci95": row["ci95"],
                         "mcnemar_only_sft": row["mcnemar"]["only_a"], "mcnemar_only_grpo": row["mcnemar"]["only_b"],
                         "mcnemar_p": row["mcnemar"]["p_value"]}
    return out


def taught_section(summary: dict[str, Any] | None) -> list[str]:
    """Markdown: the slice's accuracy table with the best baseline and each model's lower-bound margin,
    the per-category table with each category's best refitted baseline, and the step audit."""
    if summary is None:
        return []
    best = summary["best_baseline"]
    lines = ["## The taught slice (fresh generated items, keys disjoint from training)", "",
             f"Categories: {', '.join(summary['categories'])}; {summary['n_items']} items.", "",
             "| model | accuracy % [95% CI] | lower bound − best baseline (points) |", "|---|---|---:|"]
    for model, m in summary["models"].items():
        margin = f"{100 * (m['ci_low'] - best['accuracy']):+.1f}" if best and m["ci_low"] is not None else "–"
        lines.append(f"| {model} | {_pct(m['accuracy'])} [{_pct(m['ci_low'])}–{_pct(m['ci_high'])}] | {margin} |")
    for name, acc in sorted(summary["baselines"].items(), key=lambda kv: -kv[1]):
        mark = " (best)" if best and best["name"] == name else ""
        lines.append(f"| *baseline: {name}{mark}* | {_pct(acc)} | |")
    for grpo, row in summary.get("grpo_vs_sft", {}).items():
        lines += ["", f"{grpo} − {row['against']} on the slice's {row['n_items']} items: {100 * row['delta']:+.1f} points "
                  f"[{100 * row['ci95'][0]:+.1f}, {100 * row['ci95'][1]:+.1f}] (paired bootstrap); McNemar: {row['mcnemar_only_sft']} items "
                  f"right only for SFT, {row['mcnemar_only_grpo']} only for GRPO, p = {row['mcnemar_p']:.3g}."]
    refit = summary.get("refit_baselines")
    if refit:
        models = list(summary["models"])
        lines += ["", "| category | n | " + " | ".join(models) + " | best payoff-blind baseline (refitted on these items) |",
                  "|---" * (len(models) + 3) + "|"]
        for category, row in refit["per_category"].items():
            cells = [_pct(summary["models"][m]["per_category"].get(category)) for m in models]
            lines.append(f"| {category} | {row['n']} | " + " | ".join(cells) + f" | {_pct(row['accuracy'][row['best']])} ({row['best']}) |")
    if summary.get("step_audit"):
        lines += ["", "### Step audit: each scratchpad step against the solver's trace", "",
                  "A step is the model's line with the solver's label (`row 0`, `turn 3 (Alice)`, `Answer`); `box`: the boxed "
                  "answer copies the model's own answer line. Missing: the model wrote no line with that label.", ""]
        lines += audit_markdown(summary["step_audit"])
    return lines + [""]
