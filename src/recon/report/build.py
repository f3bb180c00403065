"""`recon report RUN_DIR [RUN_DIR …]`: one markdown + self-contained HTML report with PNG figures,
every number read from the run folders' JSON files. A run folder is found by its manifest
(`recon.runs`): a pipeline run, or a plain `recon eval`, `recon games selfplay` or `recon games arena`
folder."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from recon.errors import UserError
from recon.evaluation.runner import SAMPLES_FILE
from recon.evaluation.summary import RESULTS_FILE
from recon.games.arena.runner import RESULTS as ARENA_RESULTS
from recon.games.selfplay.runner import RESULTS_JSON as SELFPLAY_RESULTS, TRANSCRIPTS
from recon.report.behaviour import BehaviourTagger
from recon.runs import MODEL_STAGES, PIPELINE_FILE, PipelineState, read_appended_jsonl, read_heldout, read_manifest, read_pipeline_state
from recon.report.figures import plot_grouped_bars, plot_learning_curve, plot_training_curves
from recon.report.taught import TAUGHT, audit_heldout, heldout_on_slice, slice_summary, taught_section
from recon.report.verified import (BLIND, best_baseline, blind_accuracies, blind_wrong, item_correctness, predictions_path,
                                   verified_baselines, write_summary)

@dataclass
class RunData:
    """What one run folder holds, loaded from its JSON files (`pipeline`: a pipeline folder's state, None for a
    single command's run)."""

    name: str
    root: Path
    pipeline: PipelineState | None
    build: dict[str, Any] | None = None
    logs: dict[str, list[dict]] = field(default_factory=dict)
    evals: list[dict[str, Any]] = field(default_factory=list)
    selfplay: list[dict[str, Any]] = field(default_factory=list)
    arena: list[dict[str, Any]] = field(default_factory=list)
    blind_predictions: Path | None = None  # the build's payoff-blind predictions on the verified eval
    heldout: dict[str, list[dict]] = field(default_factory=dict)  # per training stage: held-out accuracy by step
    heldout_on_slice: set[str] = field(default_factory=set)  # stages whose held-out items are the taught slice's (rows carry their step audit)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def _log_history(train_dir: Path) -> list[dict]:
    """HF Trainer log history: the final `trainer_state.json`, else the latest checkpoint's."""
    candidates = [train_dir / "trainer_state.json"] + sorted(
        train_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[-1]), reverse=True
    )
    for path in candidates:
        state = _read_json(path)
        if state:
            return state.get("log_history", [])
    return []


# A single command's run folder: the RunData list it fills and its results file.
SINGLE_RUNS = {"eval": ("evals", RESULTS_FILE), "selfplay": ("selfplay", SELFPLAY_RESULTS), "arena": ("arena", ARENA_RESULTS)}


def run_kind(root: Path) -> str:
    """The kind in the folder's run manifest (a pipeline folder from before manifests has `pipeline.json`)."""
    manifest = read_manifest(root)
    if manifest:
        return manifest["kind"]
    if (root / PIPELINE_FILE).exists():
        return "pipeline"
    raise UserError(f"{root} is not a run folder (no run.json): pass a folder written by recon eval, recon games or recon pipeline")


def load_run(root: Path) -> RunData:
    kind = run_kind(root)
    if kind in SINGLE_RUNS:
        return _single_run(root, kind)
    if kind != "pipeline":
        raise UserError(f"{root} holds a {kind} run, which has its own summary there; the report covers eval, games and pipeline runs")
    state = read_pipeline_state(root)
    if state is None:
        raise UserError(f"{root} holds a pipeline run without {PIPELINE_FILE}: no stage has finished there yet; run `recon pipeline` first")
    stages = state.stages
    run = RunData(root.name, root, state)
    if "data" in stages:
        data = state.stage_path("data", stages["data"]["dir"], "folder")
        run.build = _read_json(data / "build_report.json")
        run.blind_predictions = predictions_path(data)
    for kind in ("sft", "grpo"):
        if kind in stages:
            checkpoint = state.stage_path(kind, stages[kind]["checkpoint"], "checkpoint")
            run.logs[kind] = _log_history(checkpoint)
            run.heldout[kind] = read_heldout(checkpoint)
            if run.heldout[kind] and "data" in stages and heldout_on_slice(state, kind):
                run.heldout_on_slice.add(kind)
                audit_heldout(run.heldout[kind], checkpoint, state.stage_path("data", stages["data"]["dir"], "folder"))
    for entry in stages.get("eval", {}).get("runs", []):
        folder = state.stage_path("eval", entry["dir"], f"{entry['model']} on {entry['dataset']} folder")
        results = _read_json(state.stage_path("eval", Path(entry["dir"]) / RESULTS_FILE, "results"))
        run.evals.append({**entry, "dir": str(folder), "results": results})
    for kind, results_file in (("selfplay", SELFPLAY_RESULTS), ("arena", ARENA_RESULTS)):
        for entry in stages.get("games", {}).get(kind, []):
            folder = state.stage_path("games", entry["dir"], f"{entry['model']} {kind} folder")
            results = _read_json(state.stage_path("games", Path(entry["dir"]) / results_file, f"{kind} results"))
            getattr(run, kind).append({**entry, "dir": str(folder), "results": results})
    return run


def _single_run(root: Path, kind: str) -> RunData:
    """A `recon eval` / `recon games` folder as a run with one entry."""
    field_name, results_file = SINGLE_RUNS[kind]
    results = _read_json(root / results_file)
    if results is None:
        raise UserError(f"{root} holds a {kind} run without {results_file} yet: rerun the command to finish it")
    model = {"eval": lambda r: r["label"], "selfplay": lambda r: r["model"], "arena": lambda r: r["player"]}[kind](results)
    entry = {"model": model, "dir": str(root), "results": results}
    if kind == "eval":
        entry["dataset"] = results["config"]["data"]
    run = RunData(root.name, root, None)
    getattr(run, field_name).append(entry)
    return run


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}"


def _ci(metrics: dict) -> str:
    low, high = metrics.get("ci95") or (None, None)
    return "" if low is None else f" [{_pct(low, 0)}–{_pct(high, 0)}]"


def _label(run: RunData, model: str, many: bool) -> str:
    return f"{run.name}/{model}" if many else model


def _sorted_models(entries: list[dict]) -> list[str]:
    models = {e["model"] for e in entries}
    return [m for m in MODEL_STAGES if m in models] + sorted(models - set(MODEL_STAGES))


# ------------------------------------------------------------------ sections


def audit_section(run: RunData) -> list[str]:
    if not run.build:
        return []
    audit = run.build.get("published_audit", {})
    verdicts = ["agree", "disagree", "ambiguous", "ill_posed", "incomplete", "unparsed", "not_computable"]
    lines = ["## Data: audit of the published labels and the verified splits", ""]
    lines.append("Published items re-derived by the exact solvers (train + eval):")
    lines += ["", "| category | " + " | ".join(verdicts) + " | agreement |", "|---" * (len(verdicts) + 2) + "|"]
    categories = sorted({c for split in audit.values() for c in split})
    for c in categories:
        counts = {v: sum(audit.get(s, {}).get(c, {}).get(v, 0) for s in ("train", "eval")) for v in verdicts}
        judged = sum(counts[v] for v in ("agree", "disagree", "ambiguous", "ill_posed"))
        agreement = _pct(counts["agree"] / judged) if judged else "—"
        lines.append(f"| {c} | " + " | ".join(str(counts[v]) for v in verdicts) + f" | {agreement} |")
    counts = run.build.get("counts", {})
    if counts:
        lines += ["", "Verified splits (published kept + generated):", "", "| split | published | generated |", "|---|---:|---:|"]
        for split, per_cat in counts.items():
            pub = sum(v.get("published", 0) for v in per_cat.values())
            gen = sum(v.get("generated", 0) for v in per_cat.values())
            lines.append(f"| {split} | {pub} | {gen} |")
    overlap = run.build.get("eval_overlap_with_training", {})
    if overlap:
        worst = max((v.get("exact", 0) + v.get("near", 0)) for v in overlap.values())
        lines += ["", f"Exact or near-duplicate overlap between the verified eval and any training file: {worst}."]
    return lines + [""]


def table3_section(runs: list[RunData], many: bool) -> tuple[list[str], dict]:
    """Accuracy by stage on both eval sets with 95% intervals, the baselines as rows of the same table
    (fixed position, train majority, the build's payoff-blind baseline on the same items), and each
    model's lower bound against the best baseline on the verified eval."""
    lines = [
        "## Accuracy by stage (the paper's Table 3, with verified and permutation columns)",
        "",
        "| model | Recon-Eval acc. % [95% CI] | verified acc. % [95% CI] | verified, correct under all option orders % | verified format failures % | verified parse failures % |",
        "|---|---|---|---|---|---|",
    ]
    categories: dict[str, dict[str, dict]] = {}  # model label → category → metrics
    verified: dict[str, dict] = {}  # model label → overall metrics
    where_blind_wrong: dict[str, dict] = {}
    baselines: dict[str, dict] = {}  # dataset → baseline → group → accuracy
    for run in runs:
        by_key = {(e["model"], e["dataset"]): e for e in run.evals}
        for model in _sorted_models(run.evals):
            pub, ver = ((by_key.get((model, name)) or {}).get("results") for name in ("recon-eval", "verified"))
            cells = [
                (_pct(pub["overall"]["accuracy"]) + _ci(pub["overall"])) if pub else "—",
                (_pct(ver["overall"]["accuracy"]) + _ci(ver["overall"])) if ver else "—",
                _pct(ver["overall"].get("circular_accuracy")) if ver else "—",
                _pct(ver["overall"].get("format_failure_rate")) if ver else "—",
                _pct(ver["overall"].get("parse_failure_rate")) if ver else "—",
            ]
            label = _label(run, model, many)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
            if pub and "recon-eval" not in baselines:
                baselines["recon-eval"] = verified_baselines(pub, None)
            if ver:
                eval_dir = by_key[(model, "verified")]["dir"]
                categories[label], verified[label] = ver["categories"], ver["overall"]
                if "verified" not in baselines:  # every model of a run answers the same items
                    blind = blind_accuracies(run.blind_predictions, set(item_correctness(eval_dir))) if run.blind_predictions else None
                    baselines["verified"] = verified_baselines(ver, blind)
                if run.blind_predictions:
                    where_blind_wrong[label] = blind_wrong(eval_dir, run.blind_predictions)
    ver_baselines = baselines.get("verified", {})
    best = best_baseline(ver_baselines)
    names = {name for table in baselines.values() for name in table}
    fixed = sorted((n for n in names if n.startswith("option_")), key=lambda n: int(n.split("_")[1]))
    for name in [*fixed, *(n for n in ("majority", BLIND, "random") if n in names)]:
        pub = baselines.get("recon-eval", {}).get(name, {}).get("overall")
        ver = ver_baselines.get(name, {}).get("overall")
        mark = " (best)" if best and best["name"] == name else ""
        lines.append(f"| *baseline: {name}{mark}* | {_pct(pub)} | {_pct(ver)} | | | |")
    if best:
        margins = ", ".join(f"{label} {100 * ((o.get('ci95') or [None])[0] - best['accuracy']):+.1f}"
                            for label, o in verified.items() if (o.get("ci95") or [None])[0] is not None)
        lines += ["", f"Best baseline on the verified eval: **{best['name']}** {_pct(best['accuracy'])}%"
                  + (f"; 95% lower bound minus it, in points: {margins}." if margins else ".")]
    if ver_baselines and BLIND not in ver_baselines:
        lines += ["", "The payoff-blind baseline is missing: this run's data folder has no shortcut predictions (rebuild the data)."]
    reference = {c: best_baseline(ver_baselines, c) for c in sorted({c for v in categories.values() for c in v})}
    return lines + [""], {
        "per_category": {label: {c: m["accuracy"] for c, m in cats.items()} for label, cats in categories.items()},
        "reference": {c: (b or {}).get("accuracy") for c, b in reference.items()},
        "reference_names": {c: (b or {}).get("name") for c, b in reference.items()},
        "categories": categories,
        "verified": verified,
        "baselines": ver_baselines,
        "best_baseline": best,
        "where_blind_wrong": where_blind_wrong,
    }


def other_evals_section(runs: list[RunData], many: bool) -> list[str]:
    """Evaluations on any other data (a plain `recon eval` run), with failed requests shown apart."""
    entries = [(run, e) for run in runs for e in run.evals if e["dataset"] not in ("recon-eval", "verified", TAUGHT)]
    if not entries:
        return []
    lines = [
        "## Other evaluations",
        "",
        "| model | data | items | accuracy % [95% CI] (failed requests count as wrong) | accuracy % over answered items | failed requests |",
        "|---|---|---:|---|---:|---:|",
    ]
    for run, e in entries:
        o = e["results"]["overall"]
        lines.append(
            f"| {_label(run, e['model'], many)} | {_code(e['dataset'])} | {o['n_items']} | {_pct(o['accuracy'])}{_ci(o)} | "
            f"{_pct(o.get('accuracy_answered'))} | {o.get('n_errors', 0)} of {o['n_samples']} |"
        )
    return lines + [""]


def category_section(acc: dict) -> list[str]:
    """Per category: each model's accuracy with its 95% interval beside the category's best baseline; the
    categories where a model is below that baseline named under the table."""
    categories, reference, names = acc["categories"], acc["reference"], acc["reference_names"]
    if not categories:
        return []
    models = list(categories)
    lines = ["## Accuracy by category on the verified eval (% [95% CI])", "",
             "| category | n | " + " | ".join(models) + " | best baseline |", "|---" * (len(models) + 3) + "|"]
    below: dict[str, list[str]] = {m: [] for m in models}
    for c in sorted(reference):
        cells = []
        for m in models:
            metrics = categories[m].get(c)
            cells.append(_pct(metrics["accuracy"]) + _ci(metrics) if metrics else "—")
            if metrics and metrics["accuracy"] is not None and reference[c] is not None and metrics["accuracy"] < reference[c]:
                below[m].append(c)
        n = next((categories[m][c]["n_items"] for m in models if c in categories[m] and "n_items" in categories[m][c]), "")
        best = f"{_pct(reference[c])} ({names[c]})" if reference[c] is not None else "—"
        lines.append(f"| {c} | {n} | " + " | ".join(cells) + f" | {best} |")
    lines += ["", "**Below the best baseline** (accuracy under the category's best baseline): "
              + "; ".join(f"{m}: {', '.join(cs) if cs else 'none'}" for m, cs in below.items()) + "."]
    return lines + [""]


def blind_wrong_section(where_blind_wrong: dict[str, dict]) -> list[str]:
    """Accuracy on the verified items the payoff-blind baseline gets wrong: a lift that lives only where
    the shortcut works is not reasoning."""
    if not where_blind_wrong:
        return []
    models = list(where_blind_wrong)
    groups = sorted({g for v in where_blind_wrong.values() for g in v} - {"overall"}) + ["overall"]
    lines = ["## Accuracy where the payoff-blind baseline is wrong (% (items))", "",
             f"Items of the verified eval that the build's payoff-blind `{BLIND}` model (masked numbers, options; "
             "`recon.data.shortcuts`) answers wrongly, and each model's accuracy on them.", "",
             "| category | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for g in groups:
        cells = [f"{_pct(v[g]['accuracy'])} ({v[g]['n']})" if g in v else "—" for v in where_blind_wrong.values()]
        lines.append(f"| {'**overall**' if g == 'overall' else g} | " + " | ".join(cells) + " |")
    return lines + [""]


def learning_curve_section(run: RunData, out_dir: Path, many: bool, best: dict | None) -> tuple[list[str], Path | None]:
    """Held-out accuracy at every checkpoint of SFT and GRPO (the training's `heldout_size` slice): a table and a PNG."""
    curves = {kind: [(row["step"], row["accuracy"]) for row in rows if row.get("accuracy") is not None]
              for kind, rows in run.heldout.items()}
    curves = {kind: points for kind, points in curves.items() if points}
    if not curves:
        return [], None
    figure = plot_learning_curve(curves, out_dir / f"learning_curve_{run.name}.png", best)
    n = next((row.get("n_items") for rows in run.heldout.values() for row in rows if row.get("n_items")), "?")
    slice_items = "the taught slice's eval items"
    if not run.heldout_on_slice:
        items = "the verified eval"
    elif run.heldout_on_slice >= set(curves):
        items = slice_items
    else:
        items = f"the verified eval ({', '.join(sorted(run.heldout_on_slice))}: {slice_items})"
    lines = ["## Learning curve" + (f" ({run.name})" if many else ""), "",
             f"Accuracy on a fixed held-out stratified sample of {items} ({n} items, greedy) at every checkpoint, "
             "with Wilson 95% intervals" + ("; the step audit: the share of each kind of scratchpad step that matches "
                                            "the solver's trace (`box`: the box copies the model's own answer line)." if run.heldout_on_slice else "."), "",
             "| stage | step | accuracy % [95% CI] | format failures % |" + (" step audit: correct % by step kind |" if run.heldout_on_slice else ""),
             "|---|---:|---:|---:|" + ("---|" if run.heldout_on_slice else "")]
    for kind, rows in run.heldout.items():
        for row in rows:
            if row.get("accuracy") is None:
                continue
            audit = ""
            if run.heldout_on_slice:
                audit = " " + (" · ".join(f"{k} {_pct(v['accuracy'], 0)}" for k, v in row["step_audit"].items()) if row.get("step_audit") else "—") + " |"
            lines.append(f"| {kind} | {row['step']} | {_interval(_heldout_interval(row))} | {_pct(row.get('format_failure_rate'))} |{audit}")
    return lines + ["", f"![Learning curve]({figure.name})", ""], figure


def table4_section(runs: list[RunData], many: bool) -> tuple[list[str], dict]:
    entries = [(run, e) for run in runs for e in run.selfplay]
    if not entries:
        return [], {}
    from recon.games.library import select_games
    from recon.games.selfplay.metrics import blind_policy_rates, blind_policy_table4

    games = list(entries[0][1]["results"]["games"])
    library = {g.name: g for g in select_games(games)}
    blind = {g: blind_policy_rates(library[g]) for g in games}
    blind_parts = blind_policy_table4(list(library.values()))
    labels = [_label(run, e["model"], many) for run, e in entries]
    lines = ["## Self-play equilibrium rate (the paper's Table 4, %)", ""]
    lines.append("| game | kind | " + " | ".join(labels) + " | *baseline: first action* | *baseline: uniform random* |")
    lines.append("|---" * (len(labels) + 4) + "|")
    rates: dict[str, dict[str, float | None]] = {label: {} for label in labels}
    for g in games:
        first = entries[0][1]["results"]["games"][g]
        row = []
        for (run, e), label in zip(entries, labels):
            m = e["results"]["games"].get(g)
            estimate = m["ne_rate"]["estimate"] if m else None
            rates[label][g] = estimate
            row.append(_interval(m["ne_rate"] if m else None) + (f" (fail {_pct(m['failure_rate']['estimate'], 0)})" if m and m["failures"] else ""))
        row += [_pct(blind[g]["first_action"]), _pct(blind[g]["uniform_random"])]
        lines.append(f"| {first['title']} | {first['kind']} | " + " | ".join(row) + " |")
    for part in ("simultaneous", "sequential", "overall"):
        lines.append(f"| **{part} average** | | " + " | ".join(_interval(e["results"]["table4"].get(part)) for _, e in entries)
                     + f" | {_pct(blind_parts['first_action'].get(part))} | {_pct(blind_parts['uniform_random'].get(part))} |")
    trials = entries[0][1]["results"]["config"]["trials"]
    lines += ["", f"{trials} trials per game and model; % with 95% intervals (Wilson per game, stratified bootstrap over "
              "trials for the averages); a failed trial (no parsable move after retries) counts as a miss. The baselines "
              "are exact rates of play that reads only the action list: both players always take the first listed action "
              "(what a model copying the prompt's example tag `<s>choice_1</s>` plays), or each move uniform at random. "
              "A model's rate means strategic play only where it clears both.", ""]
    return lines, rates


def _heldout_interval(row: dict) -> dict:
    """A learning-curve point as a rate with its Wilson interval (one greedy answer per item)."""
    from recon.stats import wilson_interval

    n = int(row.get("n_items") or 0)
    if not n:
        return {"estimate": row["accuracy"], "low": None, "high": None}
    return wilson_interval(round(row["accuracy"] * n), n).to_dict()


def _interval(rate: dict | None) -> str:
    """`estimate [low–high]` in % from a games rate (`recon.stats.Interval.to_dict`)."""
    if not rate or rate.get("estimate") is None:
        return "—"
    if rate.get("low") is None:
        return _pct(rate["estimate"])
    return f"{_pct(rate['estimate'])} [{_pct(rate['low'], 0)}–{_pct(rate['high'], 0)}]"


def table5_section(runs: list[RunData], many: bool) -> list[str]:
    """The paper's Table 5 (games × models, win rate vs the LLM opponent, NRA and completion beside it),
    then the same layout against each other opponent (`recon.games.arena.metrics.table5`)."""
    from recon.games.arena.metrics import table5

    entries = [(_label(run, e["model"], many), e["results"]) for run in runs for e in run.arena]
    if not entries:
        return []
    first = entries[0][1]
    opponents = [a["name"] for a in first["agents"][1:]]
    opponents.sort(key=lambda name: next(a["kind"] != "LLMAgent" for a in first["agents"] if a["name"] == name))
    lines = ["## Arena (the paper's Table 5)", ""]
    for opponent in opponents:
        lines += [table5(entries, opponent), ""]
    return lines


def _records(entries: list[dict], model: str, filename: str) -> Iterator[tuple[dict, dict]]:
    """(entry, record) for each record of `filename` in the model's run folders; a missing file is
    empty and a torn last line (a killed run) or blank line is skipped."""
    for e in entries:
        if e["model"] == model:
            for rec in read_appended_jsonl(Path(e["dir"]) / filename)[0]:
                yield e, rec


def _eval_traces(run: RunData, model: str) -> Iterator[tuple[str, str]]:
    for e, rec in _records(run.evals, model, SAMPLES_FILE):
        yield f"{e['dataset']}:{rec['key']}", (rec.get("reasoning") or "") + (rec.get("completion") or "")


def _game_traces(run: RunData, model: str) -> Iterator[tuple[str, str]]:
    for _, rec in _records(run.selfplay, model, TRANSCRIPTS):
        for i, turn in enumerate(rec.get("turns", [])):
            yield f"{rec.get('game')}#{rec.get('trial')}.{i}", (turn.get("reasoning") or "") + (turn.get("reply") or "")


def _code(text: str) -> str:
    """`text` as a markdown code span, so model output is shown literally: no markdown, links or raw HTML
    (the span's fence is longer than any backtick run inside)."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def behaviour_section(runs: list[RunData], many: bool, tagger: BehaviourTagger) -> tuple[list[str], dict]:
    rows, data = [], {}
    for run in runs:
        for model in _sorted_models(run.evals + run.selfplay):
            for source, traces in (("eval", _eval_traces(run, model)), ("games", _game_traces(run, model))):
                summary = tagger.summarize(traces)
                if summary["traces"]:
                    label = _label(run, model, many)
                    data[f"{label}:{source}"] = summary
                    rows.append((label, source, summary))
    if not rows:
        return [], data
    tags = list(tagger.patterns)
    lines = [
        "## Reasoning behaviour (the paper's §5.4)",
        "",
        "Share of traces (%) that name a solution concept, enumerate branches or subgames, or revise themselves; "
        "patterns in `recon.report.behaviour` (configurable with `--tags FILE.yaml`).",
        "",
        "| model | traces | n | " + " | ".join(tags) + " |",
        "|---" * (len(tags) + 3) + "|",
    ]
    for label, source, summary in rows:
        lines.append(f"| {label} | {source} | {summary['traces']} | " + " | ".join(_pct(summary["share"][t]) for t in tags) + " |")
    examples = [(label, source, t, ex) for label, source, s in rows for t in tags for ex in s["examples"][t][:1]]
    if examples:
        lines += ["", "Examples (trace id: excerpt):", ""]
        lines += [f"- {label} {source}, *{t}* — {_code(ex['id'])}: {_code(ex['excerpt'])}" for label, source, t, ex in examples[:12]]
    return lines + [""], data


# ------------------------------------------------------------------ assembly


def build_report(run_dirs: list[Path], out_dir: Path, tagger: BehaviourTagger | None = None) -> dict[str, Path]:
    """Write `index.md`, `index.html`, `report.json`, PNG figures and (with a verified eval) `summary.json` into `out_dir`."""
    runs = [load_run(Path(d)) for d in run_dirs]
    many = len(runs) > 1
    out_dir.mkdir(parents=True, exist_ok=True)
    tagger = tagger or BehaviourTagger()
    lines = ["# Recon report", ""]
    for run in runs:
        preset = run.pipeline.preset if run.pipeline else None
        if not preset:
            models = ", ".join(f"`{e['model']}`" for e in run.evals + run.selfplay + run.arena)
            lines.append(f"Run `{run.name}`: one {run_kind(run.root)} run of {models}.")
            continue
        lines.append(f"Run `{run.name}`: preset `{preset.get('name')}`, model `{preset.get('model')}`, think `{preset.get('think')}`, "
                     f"seed {preset.get('seed')}, {run.pipeline.seconds / 60:.1f} min of stages in its last invocation.")
    lines.append("")
    figures: dict[str, Path] = {}
    for run in runs:
        lines += audit_section(run)
    t3, acc = table3_section(runs, many)
    lines += t3
    lines += other_evals_section(runs, many)
    taught = _taught_slice(runs, many)
    lines += taught_section(taught)
    lines += category_section(acc)
    bars = plot_grouped_bars(acc["per_category"], out_dir / "accuracy_by_category.png", "Verified-eval accuracy by category and stage",
                             "accuracy (%)", "category", reference=acc["reference"])
    if bars:
        figures["accuracy_by_category"] = bars
        lines += ["![Accuracy by category](accuracy_by_category.png)", ""]
    lines += blind_wrong_section(acc["where_blind_wrong"])
    for run in runs:
        curve_lines, curve = learning_curve_section(run, out_dir, many, acc["best_baseline"])
        lines += curve_lines
        if curve:
            figures[f"learning_curve_{run.name}"] = curve
        curves = plot_training_curves(run.logs.get("sft", []), run.logs.get("grpo", []), out_dir / f"training_curves_{run.name}.png")
        if curves:
            figures[f"training_curves_{run.name}"] = curves
            lines += ["## Training curves" + (f" ({run.name})" if many else ""), "", f"![Training curves]({curves.name})", ""]
    t4, rates = table4_section(runs, many)
    lines += t4
    eq = plot_grouped_bars(rates, out_dir / "equilibrium_rate_by_game.png", "Self-play NE rate by game and model", "NE rate (%)", "game")
    if eq:
        figures["equilibrium_rate_by_game"] = eq
        lines += ["![NE rate by game](equilibrium_rate_by_game.png)", ""]
    lines += table5_section(runs, many)
    behaviour_lines, behaviour = behaviour_section(runs, many, tagger)
    lines += behaviour_lines
    markdown_text = "\n".join(lines)
    md_path = out_dir / "index.md"
    md_path.write_text(markdown_text)
    html_path = out_dir / "index.html"
    html_path.write_text(_html(markdown_text, out_dir))
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps({"runs": [r.name for r in runs], "accuracy_by_category": acc, "ne_rates": rates,
                                     "behaviour": behaviour, "taught_slice": taught, "figures": {k: v.name for k, v in figures.items()}},
                                    indent=2, default=str))
    paths = {"markdown": md_path, "html": html_path, "json": json_path, **figures}
    if acc["verified"]:
        baselines = {name: values.get("overall") for name, values in acc["baselines"].items()}
        paths["summary"] = write_summary(out_dir, acc["verified"], acc["best_baseline"], baselines, acc["where_blind_wrong"], taught)
    return paths


def _taught_slice(runs: list[RunData], many: bool) -> dict | None:
    """The taught slice's summary (`recon.report.taught`) over every run's taught eval, models labelled as
    in the other tables; the baselines and solver traces from the first such run's data folder (a study
    and its ablation build the same slice: exclusions touch training files only)."""
    entries = [{**e, "model": _label(run, e["model"], many)} for run in runs for e in run.evals if e["dataset"] == TAUGHT]
    data = next((run.pipeline.path(run.pipeline.stages["data"]["dir"]) for run in runs
                 if run.pipeline and "data" in run.pipeline.stages and any(e["dataset"] == TAUGHT for e in run.evals)), None)
    return slice_summary(entries, data) if entries and data else None


def _html(markdown_text: str, folder: Path) -> str:
    """Self-contained HTML: the markdown rendered by `safe_markdown_html`, figures inlined as data URIs
    (only files inside `folder`)."""
    body = safe_markdown_html(markdown_text)
    root = folder.resolve()

    def inline(match: re.Match) -> str:
        path = (folder / match.group(2)).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return match.group(0)
        return f'{match.group(1)}src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'(<img\b[^>]*?\s)src="([^"]+\.png)"', inline, body)
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}"
             "th{background:#f3f3f3}img{max-width:100%}code{background:#f6f6f6;padding:0 3px}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Recon report</title><style>{style}</style></head><body>{body}</body></html>"


# Link targets the HTML report keeps: web pages, in-page anchors and files beside the report.
SAFE_URL = re.compile(r"^(https?://|#|(?![a-z][a-z0-9+.-]*:)[^\s]*$)", re.I)


def safe_markdown_html(markdown_text: str) -> str:
    """The report's one escaping point: every text reaches the HTML through this renderer, which treats
    raw HTML in the markdown (a model name, a label, an id, a game, a tag…) as text (escaped, never
    parsed) and drops link and image targets other than web, anchor and relative ones (no `javascript:`)."""
    from recon.errors import require

    markdown = require("markdown", "report", "the HTML report")

    class Sanitise(markdown.treeprocessors.Treeprocessor):
        def run(self, root):
            for element in root.iter():
                for attribute in ("href", "src"):
                    value = element.get(attribute)
                    if value is not None and not SAFE_URL.match(value.strip()):
                        del element.attrib[attribute]

    class NoRawHTML(markdown.extensions.Extension):
        def extendMarkdown(self, md):
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.treeprocessors.register(Sanitise(md), "sanitise", 0)

    return markdown.markdown(markdown_text, extensions=["tables", NoRawHTML()])
