"""`recon eval compare RUN_A RUN_B`: per-category accuracy deltas on the items both runs answered,
with a paired bootstrap interval and p-value and an exact McNemar test on the original-order answers."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from recon.evaluation.runner import SAMPLES_FILE, read_records
from recon.stats import mcnemar_exact, paired_bootstrap
from recon.evaluation.summary import RESULTS_FILE, item_scores


def _load(run: str | Path) -> tuple[dict, dict[str, dict]]:
    run = Path(run)
    if not (run / SAMPLES_FILE).exists():
        raise FileNotFoundError(f"{run} is not an evaluation run folder (no {SAMPLES_FILE})")
    results = json.loads((run / RESULTS_FILE).read_text()) if (run / RESULTS_FILE).exists() else {}
    unique = {}
    for r in read_records(run / SAMPLES_FILE):
        unique.setdefault(r["key"], r)
    return results, item_scores(list(unique.values()))


def compare_runs(run_a: str | Path, run_b: str | Path, seed: int = 0) -> dict[str, Any]:
    """Deltas B − A per category and overall on the items present in both runs."""
    results_a, items_a = _load(run_a)
    results_b, items_b = _load(run_b)
    shared = sorted(items_a.keys() & items_b.keys())
    if not shared:
        raise ValueError(f"{run_a} and {run_b} have no item in common")
    groups: dict[str, list[str]] = defaultdict(list)
    for item_id in shared:
        groups[items_a[item_id]["category"]].append(item_id)
    rows = {}
    for offset, (name, ids) in enumerate([*sorted(groups.items()), ("overall", shared)]):
        a = [items_a[i]["score"] for i in ids]
        b = [items_b[i]["score"] for i in ids]
        test = paired_bootstrap(a, b, seed=seed + offset)
        mcnemar = mcnemar_exact(
            [(items_a[i]["original"] or 0) >= 0.5 for i in ids], [(items_b[i]["original"] or 0) >= 0.5 for i in ids]
        )
        rows[name] = {
            "n_items": len(ids),
            "accuracy_a": sum(a) / len(a),
            "accuracy_b": sum(b) / len(b),
            "delta": test["delta"],
            "ci95": test["ci95"],
            "p_bootstrap": test["p_value"],
            "mcnemar": mcnemar,
        }
    config_a, config_b = results_a.get("config", {}), results_b.get("config", {})
    differences = {
        k: [config_a.get(k), config_b.get(k)]
        for k in sorted(set(config_a) | set(config_b))
        if config_a.get(k) != config_b.get(k)
    }
    return {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "label_a": results_a.get("label", str(run_a)),
        "label_b": results_b.get("label", str(run_b)),
        "only_in_a": len(items_a.keys() - items_b.keys()),
        "only_in_b": len(items_b.keys() - items_a.keys()),
        "config_differences": differences,
        "categories": rows,
    }


def compare_markdown(comparison: dict[str, Any]) -> str:
    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}"

    lines = [
        f"# Compare: A = {comparison['label_a']}  vs  B = {comparison['label_b']}",
        "",
        "| Category | Items | A % | B % | Δ (B−A) pts | 95% CI | p (paired bootstrap) | McNemar only A / only B | p (McNemar) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, r in comparison["categories"].items():
        lo, hi = r["ci95"]
        lines.append(
            f"| {name} | {r['n_items']} | {pct(r['accuracy_a'])} | {pct(r['accuracy_b'])} | {100 * r['delta']:+.1f} | "
            f"[{100 * lo:+.1f}, {100 * hi:+.1f}] | {r['p_bootstrap']:.3g} | "
            f"{r['mcnemar']['only_a']} / {r['mcnemar']['only_b']} | {r['mcnemar']['p_value']:.3g} |"
        )
    if comparison["only_in_a"] or comparison["only_in_b"]:
        lines += ["", f"Unpaired items ignored: {comparison['only_in_a']} only in A, {comparison['only_in_b']} only in B."]
    if comparison["config_differences"]:
        diffs = ", ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in comparison["config_differences"].items())
        lines += ["", f"Configuration differences: {diffs}"]
    return "\n".join(lines) + "\n"
