"""Cached, ordered stages: a stage reruns only when its configuration or an upstream stage changed."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console


@dataclass
class StageContext:
    """What a stage sees: the run folder, its own config, the preset and earlier stages' outputs."""

    run_dir: Path
    config: dict[str, Any]
    preset: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    console: Console

    def path(self, *parts: str) -> Path:
        p = self.run_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


@dataclass
class Stage:
    """`inputs` maps the stage's config to what else its result depends on (e.g. the digest of a file
    the config names), hashed into the stage key."""

    name: str
    run: Callable[[StageContext], dict[str, Any]]
    description: str
    needs: tuple[str, ...] = field(default_factory=tuple)
    inputs: Callable[[dict[str, Any]], Any] | None = None


def file_digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist (the stage itself then says so)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def stage_key(stage: Stage, config: dict[str, Any], preset: dict[str, Any], upstream: dict[str, str]) -> str:
    """A digest of everything a stage's result depends on."""
    shared = {k: preset.get(k) for k in ("model", "think", "seed")}
    fields = {"stage": stage.name, "config": config, "shared": shared, "upstream": upstream}
    if stage.inputs is not None:  # only then, so the keys of stages without inputs stay as they were
        fields["inputs"] = stage.inputs(config)
    payload = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


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
    run_dir.mkdir(parents=True, exist_ok=True)
    state_dir = run_dir / "stages"
    state_dir.mkdir(exist_ok=True)
    outputs: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    rerun_from = names.index(from_stage) if from_stage else (0 if force else len(names))
    started = time.perf_counter()

    def write_manifest() -> None:
        # Written before each stage runs, so a stage (the report) can read what came before it.
        manifest = {"preset": preset, "stages": outputs, "keys": keys, "seconds": time.perf_counter() - started}
        (run_dir / "pipeline.json").write_text(json.dumps(manifest, indent=2, default=str))

    for index, stage in enumerate(stages):
        config = preset.get(stage.name) or {}
        key = stage_key(stage, config, preset, {n: keys[n] for n in stage.needs if n in keys})
        keys[stage.name] = key
        state_file = state_dir / f"{stage.name}.json"
        cached = json.loads(state_file.read_text()) if state_file.exists() else None
        skipped = only is not None and stage.name not in only
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
        t0 = time.perf_counter()
        ctx = StageContext(run_dir, config, preset, outputs, console)
        result = stage.run(ctx)
        seconds = time.perf_counter() - t0
        outputs[stage.name] = result
        state_file.write_text(json.dumps({"key": key, "outputs": result, "seconds": seconds}, indent=2, default=str))
        console.print(f"[green]✓ {stage.name}[/green] in {seconds:.0f} s")
        # Everything after a stage that ran must run again: its inputs changed.
        rerun_from = min(rerun_from, index + 1)
    write_manifest()
    return outputs
