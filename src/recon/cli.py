"""The `recon` command: one sub-command per stage."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="recon",
    help="Reasoning like an economist: data, solvers, inference, evaluation, training, games, reports.",
    no_args_is_help=True,
    add_completion=False,
)

# (module holding a typer `app`, command name). Each stage registers itself here with one line.
STAGES: list[tuple[str, str]] = [
    ("recon.data.cli", "data"),
    ("recon.evaluation.cli", "eval"),
    ("recon.games.cli", "games"),
    ("recon.training.cli", "train"),
    ("recon.distill.cli", "distill"),
    ("recon.pipeline.cli", "pipeline"),
    ("recon.report.cli", "report"),
]

# A single-command stage is a Typer whose callback has `invoke_without_command=True`.
for module_name, command in STAGES:
    app.add_typer(importlib.import_module(module_name).app, name=command)

if __name__ == "__main__":
    app()
