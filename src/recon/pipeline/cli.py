"""`recon pipeline --preset cpu-demo`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    preset: str = typer.Option("cpu-demo", "--preset", help="A packaged preset (cpu-demo, paper, …) or a YAML path."),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Run folder (default: runs/<preset>)."),
    from_stage: Optional[str] = typer.Option(None, "--from", help="Rerun this stage and everything after it."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only these stages (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Rerun every stage."),
    overrides: Optional[List[str]] = typer.Option(None, "--set", help="Override a preset value: key.sub=value (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved stages, datasets, models and folders; run nothing."),
    hub_id: Optional[str] = typer.Option(
        None, "--hub-id", help="Read the published splits from this HF hub dataset (e.g. MasterZhou/Recon) instead of "
        "$RECON_DATA_DIR or ../shared/data/recon; overrides the preset's data.hub_id."
    ),
    num_gpus: Optional[int] = typer.Option(
        None, "--num-gpus", min=1, help="Processes for accelerate-launched training (default: every visible GPU; a dry run plans 1 and 8)."
    ),
) -> None:
    """Run the whole loop: verified data, SFT, GRPO, evaluation, games, report.

    Stages are cached by their configuration: a rerun skips finished stages."""
    from recon.pipeline.preset import load_preset

    config = load_preset(preset, overrides)
    if hub_id:
        config.setdefault("data", {})["hub_id"] = hub_id
    if num_gpus:
        from recon.training.args import with_num_processes

        for kind in ("sft", "grpo"):
            if config.get(kind, {}).get("launcher"):
                config[kind]["launcher"] = with_num_processes(config[kind]["launcher"], num_gpus)
    folder = run_dir or Path("runs") / config["name"]
    if dry_run:
        from recon.pipeline.run import plan

        typer.echo("\n".join(plan(config, folder, only, from_stage)))
        return
    import time

    from rich.console import Console
    from rich.panel import Panel

    from recon.pipeline.run import run_pipeline

    console = Console()
    started = time.perf_counter()
    from recon.runs import FailedItems

    try:
        outputs = run_pipeline(config, folder, from_stage=from_stage, force=force, only=only, console=console)
    except FailedItems as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None
    minutes = (time.perf_counter() - started) / 60
    lines = [f"run folder: {folder}", f"wall time: {minutes:.1f} min"]
    for entry in outputs.get("eval", {}).get("runs", []):
        acc = entry.get("accuracy")
        lines.append(f"{entry['model']:>5} on {entry['dataset']:<10} accuracy {'—' if acc is None else f'{100 * acc:.1f}%'}")
    if "report" in outputs:
        lines.append(f"report: {outputs['report']['markdown']}")
    console.print(Panel("\n".join(lines), title="Recon pipeline", expand=False))
