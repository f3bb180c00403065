"""Turn sample records into `results.json` (accuracy with bootstrap CIs, failure rates, baselines, config,
versions) and `results.md` (a Table-3-style row beside the trivial baselines, plus per-category rows)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from recon.stats import bootstrap_ci
from recon.runs import environment, write_atomic

RESULTS_FILE = "results.json"
MARKDOWN_FILE = "results.md"

BASELINE_COLUMNS = ("majority", "option_1", "option_2", "option_3", "option_4", "random")


def item_scores(records: list[dict]) -> dict[str, dict[str, Any]]:
    """Per item: mean correctness over orders × samples (a failed request counts as not correct), the
    same over answered samples only (None when every request failed), correct under every order,
    original-order score."""
    by_item: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_item[r["id"]].append(r)
    items = {}
    for item_id, rs in by_item.items():
        original = [r["correct"] for r in rs if r["perm"] == 0]
        perms = {r["perm"] for r in rs}
        per_perm = [sum(r["correct"] for r in rs if r["perm"] == k) / sum(1 for r in rs if r["perm"] == k) for k in perms]
        answered = [r["correct"] for r in rs if r["status"] != "error"]
        items[item_id] = {
            "category": rs[0]["category"],
            "answer_type": rs[0]["answer_type"],
            "score": sum(r["correct"] for r in rs) / len(rs),
            "answered_score": sum(answered) / len(answered) if answered else None,
            "original": sum(original) / len(original) if original else None,
            "orders": len(perms),
            "all_orders": all(s == 1.0 for s in per_perm),
        }
    return items


def _rate(records: list[dict], statuses: set[str]) -> float | None:
    return sum(r["status"] in statuses for r in records) / len(records) if records else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def group_metrics(records: list[dict], items: dict[str, dict], seed: int) -> dict[str, Any]:
    scores = [it["score"] for it in items.values()]
    answered = [it["answered_score"] for it in items.values() if it["answered_score"] is not None]
    low, high = bootstrap_ci(scores, seed=seed)
    multi = [it for it in items.values() if it["orders"] > 1]
    rewards = [r["reward"] for r in records if r["reward"] is not None]
    return {
        "n_items": len(items),
        "n_samples": len(records),
        "accuracy": _mean(scores),
        "ci95": [low, high],
        "accuracy_answered": _mean(answered),
        "n_answered_items": len(answered),
        "n_errors": sum(r["status"] == "error" for r in records),
        "n_wrong": sum(r["status"] != "error" and not r["correct"] for r in records),
        "accuracy_original_order": _mean([it["original"] for it in items.values() if it["original"] is not None]),
        "circular_accuracy": _mean([float(it["all_orders"]) for it in multi]) if multi else None,
        "permuted_items": len(multi),
        "exact_rate": _rate(records, {"exact"}),
        "format_failure_rate": _rate(records, {"format_violation"}),
        "parse_failure_rate": _rate(records, {"no_answer"}),
        "error_rate": _rate(records, {"error"}),
        "truncated_rate": _mean([float(r["finish_reason"] == "length") for r in records]),
        "mean_reward": _mean(rewards),
        "mean_completion_tokens": _mean([r["completion_tokens"] for r in records]),
        "mean_completion_chars": _mean([r["completion_chars"] for r in records]),
        "mean_latency_s": _mean([r["latency_s"] for r in records]),
    }


def summarize(
    records: list[dict],
    problems: list,
    config,
    description: dict,
    *,
    run_hash: str,
    baselines_train: list | None,
    timing: dict | None = None,
) -> dict[str, Any]:
    """Results over exactly the selected problems' records (one per key; extra records are ignored)."""
    wanted = {p.id for p in problems}
    unique: dict[str, dict] = {}
    for r in records:
        if r["id"] in wanted and r["key"] not in unique:
            unique[r["key"]] = r
    kept = list(unique.values())
    items = item_scores(kept)
    missing = sorted(wanted - items.keys())
    by_category: dict[str, list[dict]] = defaultdict(list)
    for r in kept:
        by_category[r["category"]].append(r)
    categories = {}
    for offset, name in enumerate(sorted(by_category)):
        cat_items = {k: v for k, v in items.items() if v["category"] == name}
        categories[name] = group_metrics(by_category[name], cat_items, config.seed + 1 + offset)
    baselines, baseline_note = None, None
    if baselines_train:
        from recon.data.report import baseline_accuracies

        baselines = baseline_accuracies(baselines_train, [p for p in problems if p.id in items])
        for name, metrics in categories.items():
            metrics["baselines"] = baselines.get(name)
    else:
        baseline_note = "published train split unavailable: trivial baselines not computed"
    overall = group_metrics(kept, items, config.seed)
    if baselines:
        overall["baselines"] = baselines.get("overall")
    describe = dict(description)
    failed = sorted({r["id"] for r in kept if r["status"] == "error"})
    return {
        "schema": "recon.eval/1",
        "label": config.label or f"{config.model} ({config.backend})",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config_hash": run_hash,
        "config": config.to_dict(),
        "seed": config.seed,
        "model": {
            "spec": config.model,
            "revision": describe.pop("revision", None),
            "chat_template": describe.pop("chat_template", None),
            "backend": describe,
        },
        "complete": not missing and not failed,
        "missing_items": missing,
        "failed_items": failed,
        "overall": overall,
        "categories": categories,
        "baselines_note": baseline_note,
        "timing": timing or {},
        "environment": environment(),
    }


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ci(ci: list) -> str:
    return "–" if ci[0] is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def results_markdown(results: dict[str, Any]) -> str:
    """The paper's Table 3 layout (categories as columns; the model beside the trivial baselines), then
    one row per category with its interval, failure rates and baselines."""
    cats = list(results["categories"])
    cfg = results["config"]
    o = results["overall"]
    lines = [
        f"# Evaluation: {results['label']}",
        "",
        f"Data `{cfg['data']}` · {o['n_items']} items · {o['n_samples']} samples · think `{cfg['think']}` · "
        f"temperature {cfg['temperature']} · samples/prompt {cfg['samples']} · option orders {cfg['permutations']} · "
        f"max_tokens {cfg['max_tokens']} · model revision `{results['model']['revision']}` · seed {results['seed']}",
        "",
        "## Accuracy (%) by category (Table 3 layout)",
        "",
        "| Model | " + " | ".join(cats) + " | Overall |",
        "|---|" + "---:|" * (len(cats) + 1),
        f"| **{results['label']}** | "
        + " | ".join(_pct(results["categories"][c]["accuracy"]) for c in cats)
        + f" | **{_pct(o['accuracy'])}** |",
    ]
    if o.get("circular_accuracy") is not None:
        lines.append(
            "| ↳ correct under all orders (CircularEval) | "
            + " | ".join(_pct(results["categories"][c]["circular_accuracy"]) for c in cats)
            + f" | {_pct(o['circular_accuracy'])} |"
        )
    if o.get("baselines"):
        for baseline in BASELINE_COLUMNS:
            lines.append(
                f"| baseline: {baseline} | "
                + " | ".join(_pct((results["categories"][c].get("baselines") or {}).get(baseline)) for c in cats)
                + f" | {_pct(o['baselines'].get(baseline))} |"
            )
    lines += [
        "",
        "## Per category",
        "",
        "| Category | Items | Accuracy | 95% CI | Accuracy (answered) | Original order | All orders | Format fail | Parse fail | Errors | Mean tokens | Majority | Best Option k | Random |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in [*results["categories"].items(), ("**overall**", o)]:
        b = m.get("baselines") or {}
        fixed = [b.get(f"option_{k}") for k in range(1, 5) if b.get(f"option_{k}") is not None]
        lines.append(
            f"| {name} | {m['n_items']} | {_pct(m['accuracy'])} | {_ci(m['ci95'])} | {_pct(m['accuracy_answered'])} | "
            f"{_pct(m['accuracy_original_order'])} | "
            f"{_pct(m['circular_accuracy'])} | {_pct(m['format_failure_rate'])} | {_pct(m['parse_failure_rate'])} | "
            f"{_pct(m['error_rate'])} | {m['mean_completion_tokens'] or 0:.0f} | {_pct(b.get('majority'))} | "
            f"{_pct(max(fixed) if fixed else None)} | {_pct(b.get('random'))} |"
        )
    if o.get("circular_accuracy") is not None:
        lines += [
            "",
            f"Position robustness: accuracy averaged over {cfg['permutations']} option orders {_pct(o['accuracy'])}%, "
            f"original order {_pct(o['accuracy_original_order'])}%, correct under all orders "
            f"{_pct(o['circular_accuracy'])}% of {o['permuted_items']} multiple-choice items.",
        ]
    if results.get("baselines_note"):
        lines += ["", f"Note: {results['baselines_note']}."]
    if results["failed_items"]:
        lines += [
            "",
            f"**Failed requests**: {o['n_errors']} of {o['n_samples']} samples ({len(results['failed_items'])} items) got no "
            f"answer; they count as not correct in *Accuracy* and are left out of *Accuracy (answered)* "
            f"({_pct(o['accuracy_answered'])}% over {o['n_answered_items']} answered items). Rerun to retry them.",
        ]
    if results["missing_items"]:
        lines += ["", f"**Incomplete run**: {len(results['missing_items'])} items have no record yet (rerun to resume)."]
    t = results.get("timing") or {}
    if t.get("tokens_per_s"):
        lines += ["", f"Throughput this session: {t['items_per_s']} prompts/s, {t['tokens_per_s']} tokens/s."]
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, Any], out_dir: str | Path) -> None:
    out_dir = Path(out_dir)
    write_atomic(out_dir / RESULTS_FILE, json.dumps(results, indent=2, ensure_ascii=False))
    write_atomic(out_dir / MARKDOWN_FILE, results_markdown(results))
