"""Cached, ordered stages: a stage reruns only when its configuration or an upstream stage changed.

A stage is planned, then run: `Stage.plan(ctx)` says what it will do (the lines `recon pipeline --dry-run`
prints, the outputs later stages read) and returns a `Plan` whose `execute` does exactly that, so the dry
run and the run cannot disagree. Output paths are stored relative to the run folder (`recon.runs.PipelineState`).

A stage that reruns with another key starts from empty output folders (`Stage.dirs` are cleared), so
no eval record, training checkpoint or game transcript of another configuration is ever reused; a
stage killed mid-run resumes its own folders when rerun with the same key. The run folder is held
(`recon.runs.open_run`, kind `pipeline`) while stages run."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from recon.runs import PIPELINE_FILE, PipelineState, digest, open_run, relative_to_run, write_json

# The preset's top-level keys every stage's result depends on.
SHARED = ("model", "think", "seed")


@dataclass
class StageContext:
    """What a stage sees: the run folder, its own config, the preset and earlier stages' outputs."""

    run_dir: Path
    config: dict[str, Any]
    preset: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    console: Console

    def path(self, *parts: str) -> Path:
        """A path in the run folder, its parent folder created (for writing)."""
        p = self.run_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def where(self, *parts: str) -> Path:
        """A path in the run folder, nothing created (for planning)."""
        return self.run_dir.joinpath(*parts)

    def output(self, stage: str, key: str) -> Path:
        """A path among an earlier stage's outputs (stored relative to the run folder)."""
        return self.run_dir / self.outputs[stage][key]


@dataclass
class Plan:
    """What a stage will do: `lines` for the dry run, the `outputs` later stages read (paths the stage will
    write; the run returns the same keys, with results added), and `execute`, which does it."""

    lines: list[str]
    outputs: dict[str, Any]
    execute: Callable[[], dict[str, Any]]


@dataclass
class Stage:
    """`inputs` maps the stage's config to what else its result depends on (e.g. the digest of a file
    the config names), hashed into the stage key. `dirs`: the paths (relative to the run folder) the
    stage writes, cleared before it reruns with another key. `reads`: the top-level preset keys the stage
    reads beside its own section and `SHARED` (eval and games read `models`), hashed into its key.
    `plan`: the stage's planner (see `planned`), which `run` executes; None for a stage that only runs."""

    name: str
    run: Callable[[StageContext], dict[str, Any]]
    description: str
    needs: tuple[str, ...] = field(default_factory=tuple)
    inputs: Callable[[dict[str, Any]], Any] | None = None
    dirs: tuple[str, ...] = field(default_factory=tuple)
    reads: tuple[str, ...] = field(default_factory=tuple)
    plan: Callable[[StageContext], Plan] | None = None


def planned(name: str, plan: Callable[[StageContext], Plan], description: str, **fields: Any) -> Stage:
    """A stage whose run is its plan, executed: the dry run shows `plan(ctx).lines` of the same planner."""
    return Stage(name, lambda ctx: plan(ctx).execute(), description, plan=plan, **fields)


def clear_outputs(run_dir: Path, stage: Stage) -> list[str]:
    """Remove the stage's output paths; returns those that existed."""
    removed = []
    for rel in stage.dirs:
        path = run_dir / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(rel)
    return removed


def stage_key(stage: Stage, config: dict[str, Any], preset: dict[str, Any], upstream: dict[str, str]) -> str:
    """A digest of everything a stage's result depends on."""
    shared = {k: preset.get(k) for k in SHARED}
    shared.update({k: preset[k] for k in stage.reads if k in preset})  # absent: the keys stay as they were
    fields = {"stage": stage.name, "config": config, "shared": shared, "upstream": upstream}
    if stage.inputs is not None:  # only then, so the keys of stages without inputs stay as they were
        fields["inputs"] = stage.inputs(config)
    return digest(fields)[:16]


def run_stages(
    stages: list[Stage],
    preset: dict[str, Any],
    run_dir: Path,
    *,
    from_stage: str | None = None,
    force: bool = False,
    only: list[str] | None = None,
    console: Console | None = None,
) -> dict[str, dict[str, Any]]:
    """Run `stages` in order, reusing a finished stage whose key is unchanged.

    `from_stage` reruns that stage and everything after it; `force` reruns everything; `only` limits
    the run to the named stages (their inputs must already exist)."""
    console = console or Console()
    names = [s.name for s in stages]
    for name in [from_stage, *(only or [])]:
        if name is not None and name not in names:
            raise ValueError(f"unknown stage {name!r}; stages are {names}")
    # A folder from before run manifests is adopted when it holds a pipeline's own files; any other
    # non-empty folder is refused (its subfolders would be cleared as stage outputs).
    with open_run(run_dir, "pipeline", None, info={"results": PIPELINE_FILE}, adopt=("stages", PIPELINE_FILE),
                  flags=("--run-dir NEW", "--force")):
        return _run_stages(stages, names, preset, run_dir, from_stage, force, only, console)


def _run_stages(stages, names, preset, run_dir: Path, from_stage, force, only, console) -> dict[str, dict[str, Any]]:
    state_dir = run_dir / "stages"
    state_dir.mkdir(exist_ok=True)
    outputs: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    rerun_from = names.index(from_stage) if from_stage else (0 if force else len(names))
    started = time.perf_counter()

    def write_manifest() -> None:
        # Written before each stage runs, so a stage (the report) can read what came before it.
        PipelineState(run_dir, preset, outputs, keys, time.perf_counter() - started).write()

    for index, stage in enumerate(stages):
        config = preset.get(stage.name) or {}
        key = stage_key(stage, config, preset, {n: keys[n] for n in stage.needs if n in keys})
        keys[stage.name] = key
        state_file = state_dir / f"{stage.name}.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        cached = state if state and state.get("status", "done") == "done" else None
        skipped = only is not None and stage.name not in only
        if cached:  # paths relative to the run folder (a state written before that: made so)
            cached["outputs"] = relative_to_run(cached["outputs"], run_dir)
        if cached and cached.get("key") == key and (index < rerun_from or skipped):
            outputs[stage.name] = cached["outputs"]
            console.print(f"[dim]✓ {stage.name}: cached ({cached['seconds']:.0f} s when it ran)[/dim]")
            continue
        if skipped:
            if cached:
                outputs[stage.name] = cached["outputs"]
                console.print(f"[yellow]! {stage.name}: config changed since it ran; using its old outputs (--only)[/yellow]")
                continue
            if not any(name in (only or []) for name in names[index + 1 :]):
                break
            raise RuntimeError(f"stage {stage.name!r} has never run in {run_dir}; run it first (drop --only)")
        write_manifest()
        console.rule(f"[bold]{index + 1}/{len(stages)} {stage.name}[/bold] — {stage.description}")
        if not (state and state.get("key") == key and state.get("status") == "running"):
            removed = clear_outputs(run_dir, stage)  # another key, a forced rerun, or unknown provenance
            if removed:
                console.print(f"[yellow]cleared {', '.join(removed)}: made by another configuration of {stage.name}[/yellow]")
        write_json(state_file, {"key": key, "status": "running"})
        t0 = time.perf_counter()
        ctx = StageContext(run_dir, config, preset, outputs, console)
        result = relative_to_run(stage.run(ctx), run_dir)
        seconds = time.perf_counter() - t0
        outputs[stage.name] = result
        write_json(state_file, {"key": key, "status": "done", "outputs": result, "seconds": seconds})
        console.print(f"[green]✓ {stage.name}[/green] in {seconds:.0f} s")
        # Everything after a stage that ran must run again: its inputs changed.
        rerun_from = min(rerun_from, index + 1)
    write_manifest()
    return outputs
