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
    from recon.errors import UserError, writable_folder
    from recon.report.behaviour import BehaviourTagger
    from recon.report.build import build_report

    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise UserError(f"{run_dir}: {'no such folder' if not run_dir.exists() else 'a file'}; expected a run folder (one holding run.json)")
    if out is None:
        if len(run_dirs) > 1:
            raise typer.BadParameter("several runs need --out")
        out = run_dirs[0] / "report"
    writable_folder(out, "--out")
    tagger = load_tags(tags) if tags else None
    paths = build_report(run_dirs, out, tagger)
    typer.echo(f"report: {paths['markdown']} and {paths['html']}")


def load_tags(path: Path):
    """The behaviour tagger of a `--tags` YAML file; a file that is not a mapping of tag → regexes is one line."""
    import re

    import yaml

    from recon.errors import UserError
    from recon.report.behaviour import BehaviourTagger

    if not path.is_file():
        raise UserError(f"--tags {path}: no such file")
    try:
        return BehaviourTagger.from_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"--tags {path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, re.error, UnicodeDecodeError) as exc:
        raise UserError(f"--tags {path}: {str(exc).removeprefix(f'{path}: ')}") from None
