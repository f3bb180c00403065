"""`recon data …`: report, export (and audit / generate / build from the solver stage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from recon.data.audit import audit_command
from recon.data.build import build_command
from recon.data.generate import generate_command
from recon.data.shortcuts import shortcuts_command

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


app.command("audit")(audit_command)
app.command("generate")(generate_command)
app.command("build")(build_command)
app.command("shortcuts")(shortcuts_command)
