"""`recon data …`: report, export, audit, generate, build, shortcuts. The commands live here; the modules
they call (`recon.data.audit`, `.build`, `.generate`, `.shortcuts`) are libraries that raise `UserError`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from recon.data.build import SHORTCUT_ITEMS
from recon.data.generate import MAX_DIFFICULTY
from recon.data.shortcuts import ALPHA, MARGIN, MIN_ITEMS, PREDICTIONS_FILE
from recon.errors import UserError, writable_file, writable_folder

app = typer.Typer(help="Published Recon data: report, export, audit, generate, build, shortcuts.", no_args_is_help=True)

DataDirOption = typer.Option(None, "--data-dir", help="Folder with the published CSVs (default: $RECON_DATA_DIR or ../shared/data/recon).")
HubOption = typer.Option(None, "--hub-id", help="Load from the HF hub instead, e.g. MasterZhou/Recon.")


@app.command()
def report(
    data_dir: Optional[Path] = DataDirOption,
    hub_id: Optional[str] = HubOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write report.json and report.md into this folder."),
) -> None:
    """Item counts, answer types, gold-position distributions, trivial baselines and contamination."""
    from recon.data.published import load_all
    from recon.data.report import data_report, report_markdown, report_text

    result = data_report(load_all(data_dir, hub_id))
    markdown = report_markdown(result)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(result, indent=2))
        (out / "report.md").write_text(markdown)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(report_text(result), nl=False)


@app.command()
def export(
    split: str = typer.Argument(..., help="train, eval or sft_cot"),
    out: Path = typer.Option(..., "--out", help="Canonical problems JSONL to write."),
    dataset_dir: Optional[Path] = typer.Option(None, "--dataset-dir", help="Also save a `datasets` copy here."),
    data_dir: Optional[Path] = DataDirOption,
    hub_id: Optional[str] = HubOption,
) -> None:
    """Write a published split as canonical JSONL (and optionally a `datasets` folder)."""
    from recon.data.problem import to_dataset, write_jsonl
    from recon.data.published import load_split

    problems = load_split(split, data_dir, hub_id)
    n = write_jsonl(problems, out)
    if dataset_dir:
        to_dataset(problems).save_to_disk(str(dataset_dir))
    typer.echo(f"wrote {n} problems to {out}")


@app.command("audit")
def audit(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the published CSVs (default: $RECON_DATA_DIR or ../shared/data/recon)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write audit.jsonl (per item), audit.json and audit.md here."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of tables."),
) -> None:
    """Re-derive every published label with the exact solvers; per-category verdict table for train and eval."""
    from recon.data.audit import audit_markdown, print_tables, run_audit
    from recon.data.problem import write_jsonl

    if out:
        writable_folder(out, "--out")
    records, summary = run_audit(data_dir, progress=not as_json)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(records, out / "audit.jsonl")
        (out / "audit.json").write_text(json.dumps(summary, indent=2))
        (out / "audit.md").write_text(audit_markdown(summary))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_tables(summary)
        if out:
            typer.echo(f"wrote {len(records)} item verdicts to {out / 'audit.jsonl'}")


@app.command("generate")
def generate(
    category: str = typer.Option("all", "--category", help="A category name, or 'all' for every generatable one."),
    n: int = typer.Option(100, "--n", help="Problems per category."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the output is deterministic for a seed)."),
    difficulty: int = typer.Option(0, "--difficulty", help=f"Size knob (game size, tree depth, candidates…), 1..{MAX_DIFFICULTY}; 0 mixes 1..3."),
    out: Path = typer.Option(..., "--out", help="Problems JSONL to write."),
) -> None:
    """Generate verified problems (exactly one correct option, uniform gold position, worked solution in meta)."""
    from recon.data.generate import check_generation, generate_problems
    from recon.data.problem import write_jsonl

    check_generation(category, n, difficulty)
    writable_file(out, "--out")
    problems = generate_problems(category, n, seed, difficulty, progress=True)
    count = write_jsonl(problems, out)
    typer.echo(f"wrote {count} problems to {out}")


@app.command("build")
def build(
    out: Path = typer.Option(..., "--out", help="Folder for train/eval/sft_cot JSONL, datasets and the build report."),
    seed: int = typer.Option(0, "--seed", help="Seed for generation and option shuffling."),
    generated_per_category: int = typer.Option(200, "--generated-per-category", help="Generated training items per category."),
    eval_generated_per_category: int = typer.Option(20, "--eval-generated-per-category", help="Generated eval items per category."),
    difficulty: int = typer.Option(0, "--difficulty", help=f"Generator difficulty, 1..{MAX_DIFFICULTY}; 0 mixes 1..3."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the published CSVs."),
    hub_id: Optional[str] = typer.Option(None, "--hub-id", help="Read the published splits from this HF hub dataset instead, e.g. MasterZhou/Recon."),
    shortcut_items: int = typer.Option(SHORTCUT_ITEMS, "--shortcut-items", help="Generated items per category and side for the shortcut audit (0 skips it)."),
) -> None:
    """Verified train/eval splits: audited published + generated items, shuffled, no eval overlap, shortcut audit."""
    from recon.data.build import build_markdown, build_splits
    from recon.data.generate import check_generation
    from recon.data.shortcuts import ShortcutError

    for flag, count in (("--generated-per-category", generated_per_category), ("--eval-generated-per-category", eval_generated_per_category),
                        ("--shortcut-items", shortcut_items)):
        if count < 0:
            raise UserError(f"{flag}: must be >= 0, got {count}")
    check_generation("all", 0, difficulty)
    writable_folder(out, "--out")
    try:
        report = build_splits(out, seed, generated_per_category, eval_generated_per_category, data_dir, difficulty, progress=True,
                              shortcut_items=shortcut_items, hub_id=hub_id)
    except ShortcutError:
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown((out / "build_report.md").read_text()))
        raise
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(build_markdown(report)))
    if not report["baselines"]["all_ok"]:
        raise typer.Exit(1)


@app.command("shortcuts")
def shortcuts(
    train: str = typer.Argument(..., metavar="TRAIN", help="Train problems: recon-train | verified:DIR | PATH.jsonl (see recon.data.registry)."),
    evaluation: str = typer.Argument(..., metavar="EVAL", help="Eval problems: recon-eval | verified:DIR | PATH.jsonl."),
    out: Optional[Path] = typer.Option(None, "--out", help=f"Write shortcuts.json/.md and {PREDICTIONS_FILE} here."),
    min_items: int = typer.Option(MIN_ITEMS, "--min-items", help="Test only categories with at least this many eval items."),
    margin: float = typer.Option(MARGIN, "--margin", help="Allowed excess over chance."),
    alpha: float = typer.Option(ALPHA, "--alpha", help="Significance level of the one-sided binomial test."),
) -> None:
    """Payoff-blind shortcut audit of a train/eval pair; fails (exit 2) naming each category a baseline solves."""
    from recon.data.registry import load_problems
    from recon.data.shortcuts import ShortcutError, failure_message, shortcut_audit, shortcut_markdown, write_predictions

    if not 0 <= margin < 1:
        raise UserError(f"--margin: must be in [0, 1) (an excess over chance, as a fraction), got {margin}")
    if not 0 < alpha < 1:
        raise UserError(f"--alpha: must be in (0, 1) (a significance level), got {alpha}")
    if min_items < 1:
        raise UserError(f"--min-items: must be >= 1, got {min_items}")
    if out:
        writable_folder(out, "--out")
    report, predictions = shortcut_audit(load_problems(train, part="train"), load_problems(evaluation, part="eval"), margin, alpha, min_items)
    markdown = shortcut_markdown(report, f"Shortcut audit: {train} → {evaluation}")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "shortcuts.json").write_text(json.dumps(report, indent=2))
        (out / "shortcuts.md").write_text(markdown)
        write_predictions(predictions, out / PREDICTIONS_FILE)
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(markdown))
    if not report["all_ok"]:
        raise ShortcutError(failure_message(report, f"{evaluation}"))
