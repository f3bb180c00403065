"""`recon report RUN_DIR [RUN_DIR …]`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

def command(
    run_dirs: List[Path] = typer.Argument(..., help="Run folders of recon pipeline, recon eval or recon games (each holds run.json)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: RUN_DIR/report for one run)."),
    tags: Optional[Path] = typer.Option(None, "--tags", help="YAML mapping behaviour tag → list of regexes."),
) -> None:
    """Write the report (markdown, HTML, PNG figures, summary.json) for one or more runs (pipeline, eval, games):
    Tables 3–5 with the baselines, per-category accuracy, accuracy where the payoff-blind baseline is wrong,
    learning and training curves, equilibrium rates and reasoning behaviour."""
    from recon.report.behaviour import BehaviourTagger
    from recon.report.build import build_report

    if out is None:
        if len(run_dirs) > 1:
            raise typer.BadParameter("several runs need --out")
        out = run_dirs[0] / "report"
    tagger = BehaviourTagger.from_yaml(tags) if tags else None
    paths = build_report(run_dirs, out, tagger)
    typer.echo(f"report: {paths['markdown']} and {paths['html']}")
