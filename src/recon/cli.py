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

# (module, command name). A module exposes either `app` (a Typer group of sub-commands) or
# `command` (a single command function). Each stage registers itself here with one line.
STAGES: list[tuple[str, str]] = [
    ("recon.data.cli", "data"),
    ("recon.evaluation.cli", "eval"),
    ("recon.games.cli", "games"),
    ("recon.training.cli", "train"),
    ("recon.distill.cli", "distill"),
    ("recon.pipeline.cli", "pipeline"),
    ("recon.report.cli", "report"),
]

for module_name, name in STAGES:
    module = importlib.import_module(module_name)
    if hasattr(module, "command"):
        app.command(name)(module.command)
    else:
        app.add_typer(module.app, name=name)

if __name__ == "__main__":
    app()
