"""The verified eval beside its baselines: fixed position, train majority and the build's payoff-blind
baseline (`recon.data.shortcuts`, on exactly the evaluated items), the best of them, per-item model
scores for the accuracy where the payoff-blind baseline is wrong, and `summary.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recon.data.shortcuts import BLIND_MODEL, PREDICTIONS_FILE, accuracy_where_blind_wrong
from recon.evaluation.runner import SAMPLES_FILE
from recon.evaluation.summary import item_scores
from recon.runs import read_appended_jsonl

BLIND = f"payoff_blind_{BLIND_MODEL}"
SUMMARY_FILE = "summary.json"


def predictions_path(data_dir: str | Path | None) -> Path | None:
    """The build's payoff-blind predictions file in a data folder, when the build wrote one."""
    path = Path(data_dir) / PREDICTIONS_FILE if data_dir else None
    return path if path and path.is_file() else None


def item_correctness(eval_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Per evaluated item (one record per key, as in the results): category and mean correctness over orders."""
    unique: dict[str, dict] = {}
    for record in read_appended_jsonl(Path(eval_dir) / SAMPLES_FILE)[0]:
        if "id" in record and "correct" in record:
            unique.setdefault(record["key"], record)
    return item_scores(list(unique.values()))


def blind_accuracies(predictions: Path, item_ids: set[str]) -> dict[str, float]:
    """The payoff-blind baseline's accuracy on the evaluated items, per category and `overall`."""
    groups: dict[str, list[bool]] = {}
    for row in read_appended_jsonl(predictions)[0]:
        if row["id"] in item_ids:
            for key in (row["category"], "overall"):
                groups.setdefault(key, []).append(bool(row["correct"]))
    return {key: sum(v) / len(v) for key, v in groups.items()}


def verified_baselines(results: dict, blind: dict[str, float] | None) -> dict[str, dict[str, float | None]]:
    """Baseline name → {category / `overall` → accuracy}: the results' trivial baselines plus the payoff-blind one."""
    table: dict[str, dict[str, float | None]] = {}
    for group, metrics in [("overall", results["overall"]), *results["categories"].items()]:
        for name, value in (metrics.get("baselines") or {}).items():
            table.setdefault(name, {})[group] = value
    if blind:
        table[BLIND] = dict(blind)
    return table


def best_baseline(baselines: dict[str, dict[str, float | None]], group: str = "overall") -> dict[str, Any] | None:
    """The strongest non-random baseline on `group`: {name, accuracy}."""
    scored = [(values.get(group), name) for name, values in baselines.items() if name != "random" and values.get(group) is not None]
    if not scored:
        return None
    accuracy, name = max(scored)
    return {"name": name, "accuracy": accuracy}


def blind_wrong(eval_dir: str | Path, predictions: Path) -> dict[str, dict[str, float | int]]:
    """The model's accuracy (mean over option orders) on the items the payoff-blind baseline gets wrong."""
    scores = {item_id: item["score"] for item_id, item in item_correctness(eval_dir).items()}
    return accuracy_where_blind_wrong(scores, predictions)


def write_summary(out_dir: Path, models: dict[str, dict], best: dict[str, Any] | None,
                  baselines: dict[str, float | None], where_blind_wrong: dict[str, dict], taught_slice: dict | None = None) -> Path:
    """`summary.json`: per model on the verified eval n_items, accuracy and its 95% interval; the best baseline;
    with a taught slice (`recon.report.taught.slice_summary`), the same fields for it under `taught_slice`."""
    summary = {
        "eval": "verified",
        "models": {
            label: {"n_items": o.get("n_items"), "accuracy": o["accuracy"], "ci_low": (o.get("ci95") or [None, None])[0],
                    "ci_high": (o.get("ci95") or [None, None])[1]}
            for label, o in models.items()
        },
        "best_baseline": best,
        "baselines": baselines,
        "accuracy_where_payoff_blind_wrong": where_blind_wrong,
    }
    if taught_slice is not None:
        summary["taught_slice"] = {key: taught_slice[key] for key in ("categories", "n_items", "models", "best_baseline", "baselines")}
        summary["taught_slice"]["grpo_vs_sft"] = taught_slice.get("grpo_vs_sft", {})
        summary["taught_slice"]["step_audit"] = {model: audit["overall"] for model, audit in taught_slice.get("step_audit", {}).items()}
    path = out_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
