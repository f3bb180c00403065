"""`recon pipeline`: verified data → SFT → GRPO → evaluation → games → report, each stage a thin call
into its library, cached by its configuration."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from recon.pipeline.stages import Stage, StageContext, file_digest, run_stages

PRESET_DIR = Path(__file__).resolve().parents[3] / "recipes" / "presets"
# The models a run evaluates, in order: the base model, then each training stage's checkpoint.
MODEL_STAGES = ("base", "sft", "grpo")


# ------------------------------------------------------------------ presets


def preset_path(name: str) -> Path:
    """A preset by name (`recipes/presets/NAME.yaml`) or a path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise FileNotFoundError(f"preset file {path} not found")
        return path
    candidate = PRESET_DIR / f"{name}.yaml"
    if not candidate.exists():
        known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise ValueError(f"unknown preset {name!r}; presets: {known} (or pass a YAML path)")
    return candidate


def apply_override(preset: dict[str, Any], assignment: str) -> None:
    """`a.b.c=value` (value parsed as YAML) sets preset["a"]["b"]["c"]."""
    if "=" not in assignment:
        raise ValueError(f"override {assignment!r} must look like key.sub=value")
    dotted, raw = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    node = preset
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {assignment!r}: {key!r} is not a section")
    node[keys[-1]] = yaml.safe_load(raw)


def load_preset(name: str, overrides: list[str] | None = None) -> dict[str, Any]:
    path = preset_path(name)
    preset = yaml.safe_load(path.read_text()) or {}
    for assignment in overrides or []:
        apply_override(preset, assignment)
    preset.setdefault("name", path.stem)
    return preset


def _recipe_path(recipe: str) -> Path:
    path = Path(recipe)
    return path if path.is_absolute() or path.exists() else PRESET_DIR.parent.parent / recipe


def _recipe_digest(config: dict[str, Any]) -> dict[str, Any]:
    """The training recipe's content, so editing the recipe file reruns the stage."""
    return {"recipe": file_digest(_recipe_path(config["recipe"]))} if config.get("recipe") else {}


# ------------------------------------------------------------------ stages


def data_stage(ctx: StageContext) -> dict[str, Any]:
    """Verified splits: audited published items + solver-generated ones, options shuffled."""
    from recon.data.build import build_splits

    out = ctx.path("data")
    report = build_splits(
        out,
        seed=ctx.preset.get("seed", 0),
        generated_per_category=ctx.config.get("generated_per_category", 200),
        eval_generated_per_category=ctx.config.get("eval_generated_per_category", 20),
        difficulty=ctx.config.get("difficulty", 0),
        save_datasets=False,
        progress=True,
    )
    sft_file = _sft_subset(out, ctx.config)
    return {
        "dir": str(out),
        "train": str(out / "train.jsonl"),
        "eval": str(out / "eval.jsonl"),
        "sft": str(sft_file),
        "counts": report.get("counts", {}),
    }


def _sft_subset(out: Path, config: dict[str, Any]) -> Path:
    """The SFT training file: generated items with a worked solution; with `sft_per_category`, the
    shortest solutions of each category (short traces keep CPU training and generation fast)."""
    from recon.data.problem import read_problems, write_jsonl

    per_category = config.get("sft_per_category")
    by_category: dict[str, list] = {}
    for p in read_problems(out / "train.jsonl"):
        if p.meta.get("solution"):
            by_category.setdefault(p.category, []).append(p)
    chosen = []
    for problems in by_category.values():
        if per_category is not None:
            problems = sorted(problems, key=lambda p: len(p.meta["solution"]))[:per_category]
        chosen += problems
    if config.get("sft_reasoning", "full") == "none":
        chosen = [_answer_only(p) for p in chosen]
    path = out / "sft_solutions.jsonl"
    write_jsonl(chosen, path)
    return path


def _answer_only(problem):
    """The problem with its worked solution cut to an empty thinking block and the boxed answer."""
    from dataclasses import replace

    answer = problem.meta["solution"].rsplit("</think>", 1)[-1].strip()
    return replace(problem, meta={**problem.meta, "solution": f"<think>\n</think>\n\n{answer}"})


def _train(ctx: StageContext, kind: str, model: str, dataset: str) -> dict[str, Any]:
    """Write the merged recipe and run `recon.training.<kind>` in a fresh process (or `accelerate launch`)."""
    recipe = yaml.safe_load(_recipe_path(ctx.config["recipe"]).read_text())
    merged = {**recipe, **copy.deepcopy(ctx.config.get("args", {}))}
    out_dir = ctx.path("train", kind)
    merged.update(model_name_or_path=model, dataset=dataset, output_dir=str(out_dir))
    merged.setdefault("think", ctx.preset.get("think", "required"))
    merged.setdefault("seed", ctx.preset.get("seed", 0))
    config_file = ctx.path("train", f"{kind}.yaml")
    config_file.write_text(yaml.safe_dump(merged, sort_keys=False))
    launcher = ctx.config.get("launcher", [sys.executable])
    command = [*launcher, "-m", f"recon.training.{kind}", "--config", str(config_file)]
    ctx.console.print(f"[dim]$ {' '.join(command)}[/dim]")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    completed = subprocess.run(command, env=env)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} training failed (exit {completed.returncode}); config: {config_file}")
    return {"checkpoint": str(out_dir), "config": str(config_file)}


def sft_stage(ctx: StageContext) -> dict[str, Any]:
    """SFT on solver-written worked solutions (or any SFT source named in the preset)."""
    dataset = ctx.config.get("dataset", "generated")
    return _train(ctx, "sft", ctx.preset["model"], ctx.outputs["data"]["sft"] if dataset == "generated" else dataset)


def grpo_stage(ctx: StageContext) -> dict[str, Any]:
    """GRPO from the SFT checkpoint with the hierarchical reward on the verified train split."""
    start = ctx.outputs["sft"]["checkpoint"] if ctx.config.get("from_sft", True) else ctx.preset["model"]
    return _train(ctx, "grpo", start, ctx.outputs["data"]["train"])


def _models(ctx: StageContext) -> dict[str, str]:
    models = {"base": ctx.preset["model"]}
    for stage in MODEL_STAGES[1:]:
        if stage in ctx.outputs:
            models[stage] = ctx.outputs[stage]["checkpoint"]
    return models


def _backend(section: dict[str, Any], model: str):
    from recon.inference import load_backend

    return load_backend(section.get("backend", "hf"), model=model, **section.get("backend_options", {}))


def eval_stage(ctx: StageContext) -> dict[str, Any]:
    """Each model on the verified eval (with option permutations) and on the published Recon-Eval.

    `verified` is this run's own verified eval split; any other name (`recon-eval`, `recon-train`, a
    JSONL path) is loaded by `recon.evaluation.runner.load_eval_problems`."""
    from recon.data.problem import read_problems
    from recon.evaluation.runner import EvalConfig, evaluate, load_eval_problems, select_problems

    train = read_problems(ctx.outputs["data"]["train"])
    datasets = ctx.config.get("datasets", {"verified": {}, "recon-eval": {}})
    problems_of = {
        name: select_problems(
            read_problems(ctx.outputs["data"]["eval"]) if name == "verified" else load_eval_problems(name),
            settings.get("categories"),
            settings.get("limit"),
        )
        for name, settings in datasets.items()
    }
    runs = []
    for label, model in _models(ctx).items():
        backend = _backend(ctx.config, model)
        for name, settings in datasets.items():
            problems = problems_of[name]
            config = EvalConfig(
                model=model,
                backend=backend.name,
                data=name,
                limit=settings.get("limit"),
                max_tokens=ctx.config.get("max_tokens", 512),
                permutations=settings.get("permutations", 1),
                think=ctx.preset.get("think", "required"),
                seed=ctx.preset.get("seed", 0),
                label=label,
            )
            out = ctx.path("eval", label, name)
            ctx.console.print(f"[bold]{label}[/bold] on {name}: {len(problems)} items × {config.permutations} orders")
            results = evaluate(backend, problems, config, out, baselines_train=train if name == "verified" else None)
            runs.append({"model": label, "dataset": name, "dir": str(out), "accuracy": results["overall"]["accuracy"]})
    return {"runs": runs}


def games_stage(ctx: StageContext) -> dict[str, Any]:
    """Self-play in the ten complete-information games and a short arena against random and MCTS."""
    from recon.games.arena.runner import ArenaConfig, run_arena
    from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay

    selfplay_cfg = ctx.config.get("selfplay", {})
    arena_cfg = ctx.config.get("arena", {})
    out: dict[str, list] = {"selfplay": [], "arena": []}
    for label, model in _models(ctx).items():
        backend = _backend(ctx.config, model)
        if selfplay_cfg:
            settings = {k: v for k, v in selfplay_cfg.items() if k != "games"}
            path = ctx.path("games", label, "selfplay")
            results = run_selfplay(
                backend,
                selfplay_cfg.get("games", "all"),
                SelfPlayConfig(seed=ctx.preset.get("seed", 0), model_label=label, **settings),
                path,
            )
            out["selfplay"].append({"model": label, "dir": str(path), "overall": results["table4"]["overall"]})
        if arena_cfg:
            settings = {k: v for k, v in arena_cfg.items() if k not in ("games", "opponents")}
            path = ctx.path("games", label, "arena")
            run_arena(
                [backend, *arena_cfg.get("opponents", ["random", "mcts"])],
                arena_cfg.get("games", "all"),
                ArenaConfig(seed=ctx.preset.get("seed", 0), **settings),
                path,
            )
            out["arena"].append({"model": label, "dir": str(path)})
    return out


def report_stage(ctx: StageContext) -> dict[str, Any]:
    """The report folder: index.md, index.html and PNG figures."""
    from recon.report.build import build_report

    paths = build_report([ctx.run_dir], ctx.run_dir / "report")
    return {key: str(value) for key, value in paths.items()}


STAGES: list[Stage] = [
    Stage("data", data_stage, "build verified splits"),
    Stage("sft", sft_stage, "supervised fine-tuning on worked solutions", needs=("data",), inputs=_recipe_digest),
    Stage("grpo", grpo_stage, "GRPO from the SFT checkpoint", needs=("data", "sft"), inputs=_recipe_digest),
    Stage("eval", eval_stage, "evaluate base, SFT and GRPO", needs=("data", "sft", "grpo")),
    Stage("games", games_stage, "self-play equilibria and arena", needs=("sft", "grpo")),
    Stage("report", report_stage, "write the report", needs=("data", "sft", "grpo", "eval", "games")),
]


def run_pipeline(
    preset: dict[str, Any],
    run_dir: Path,
    *,
    from_stage: str | None = None,
    force: bool = False,
    only: list[str] | None = None,
    console=None,
) -> dict[str, dict[str, Any]]:
    """Run (or resume) the pipeline described by `preset` in `run_dir`."""
    stages = [s for s in STAGES if s.name in preset.get("stages", [s.name for s in STAGES])]
    return run_stages(stages, preset, run_dir, from_stage=from_stage, force=force, only=only, console=console)
