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

from recon.pipeline.preset import PresetError
from recon.resources import packaged, resource_path
from recon.data.taught import SFT_FILE  # the worked solutions SFT learns from
from recon.errors import UserError
from recon.inference.base import closing_backend
from recon.pipeline.stages import Plan, Stage, StageContext, planned, run_stages
from recon.runs import MODEL_STAGES, FailedItems, file_digest, named_file_digests, relative_to_run
from recon.training.args import stage_training_plan, visible_gpus, with_num_processes


EVAL_DATASETS: dict[str, dict] = {"verified": {}, "recon-eval": {}}
# The run's own eval files, by eval dataset name → the data stage's output key: the stratified verified
# eval, and the taught slice's fresh items (`data.taught`, recon.data.taught).
OWN_EVAL = {"verified": "eval", "taught": "taught_eval"}


def _recipe_digest(config: dict[str, Any]) -> dict[str, Any]:
    """The training recipe's content and that of the files it, its args and the launcher name (a chat
    template, an accelerate config), so editing any of them reruns the stage."""
    if not config.get("recipe"):
        return {}
    recipe_file = resource_path(config["recipe"])
    recipe = yaml.safe_load(recipe_file.read_text()) if recipe_file.is_file() else {}
    named = named_file_digests([*{**(recipe or {}), **config.get("args", {})}.values(), *config.get("launcher", [])], packaged)
    return {"recipe": file_digest(recipe_file), **({"files": named} if named else {})}


def hub_id(preset: dict[str, Any]) -> str | None:
    """The HF hub dataset every stage reads the published splits from (`data.hub_id`, `recon pipeline
    --hub-id`); None: the local folder (`$RECON_DATA_DIR`, `../shared/data/recon`)."""
    return (preset.get("data") or {}).get("hub_id")


def reads_published(stage: str, config: dict[str, Any]) -> bool:
    """Whether a stage reads the published splits: the data stage always, the others when they name one."""
    from recon.data.registry import published_split

    names = {"sft": [config.get("dataset", "generated")], "grpo": [config.get("dataset", "verified")],
             "eval": list(config.get("datasets", EVAL_DATASETS))}.get(stage, [])  # fmt: skip
    return stage == "data" or any(published_split(name) for name in names)


# ------------------------------------------------------------------ stages


TRAIN_KEPT = "train_without_excluded.jsonl"  # the train split less `data.exclude_categories`


def data_plan(ctx: StageContext) -> Plan:
    """Verified splits: audited published items + solver-generated ones, options shuffled."""
    from recon.data.build import SHORTCUT_ITEMS, build_splits

    from recon.data.taught import TAUGHT_EVAL, TAUGHT_TRAIN, TAUGHT_TRAIN_KEPT

    out, config = ctx.where("data"), ctx.config
    excluded, taught = config.get("exclude_categories"), config.get("taught")
    clash = [key for key in ("sft_per_category", "sft_reasoning") if taught and key in config]
    if clash:
        raise PresetError(f"preset: data.taught decides the SFT targets (the slice's traces, every other item answer-only); remove data.{clash[0]}")
    outputs = {"dir": str(out), "train": str(out / "train.jsonl"), "training": str(out / (TRAIN_KEPT if excluded else "train.jsonl")),
               "eval": str(out / "eval.jsonl"), "sft": str(out / SFT_FILE)}  # fmt: skip
    if taught:
        outputs.update(taught_eval=str(out / TAUGHT_EVAL), taught_train=str(out / (TAUGHT_TRAIN_KEPT if excluded else TAUGHT_TRAIN)))
    lines = [
        f"verified splits → {out} ({config.get('generated_per_category', 200)} generated items per "
        f"category for train, {config.get('eval_generated_per_category', 20)} for eval; "
        + (f"SFT targets: {config.get('sft_reasoning', 'full')} reasoning)" if not taught else
           "SFT targets: the taught slice's local traces, every other train item answer-only)"),
        *([f"taught slice: {', '.join(sorted(taught.get('categories') or {}))}: {taught.get('train_per_category', 1000)} "
           f"train and {taught.get('eval_per_category', 100)} eval items per category (fresh, keys disjoint)"] if taught else []),
        *([f"training files without {', '.join(excluded)} (eval unchanged)"] if excluded else []),
    ]

    def execute() -> dict[str, Any]:
        report = build_splits(
            ctx.path("data"),
            seed=ctx.preset.get("seed", 0),
            generated_per_category=config.get("generated_per_category", 200),
            eval_generated_per_category=config.get("eval_generated_per_category", 20),
            difficulty=config.get("difficulty", 0),
            save_datasets=False,
            progress=True,
            shortcut_items=config.get("shortcut_items", SHORTCUT_ITEMS),
            hub_id=hub_id(ctx.preset),
            taught=taught,
        )
        if taught:  # the taught slice's traces + every other train item answer-only (recon.data.taught)
            from recon.data.taught import grpo_file, sft_file as taught_sft_file

            taught_sft_file(out, taught, ctx.preset.get("seed", 0), set(excluded or []))
            grpo_file(out, set(excluded or []))
        else:
            _sft_subset(out, config)
        _training_split(out, config)
        return {**outputs, "counts": report.get("counts", {})}

    return Plan(lines, outputs, execute)


def _sft_subset(out: Path, config: dict[str, Any]) -> Path:
    """The SFT training file: generated items with a worked solution; with `sft_per_category`, the
    shortest solutions of each category (short traces keep CPU training and generation fast)."""
    from recon.data.problem import read_problems, write_jsonl
    from recon.data.taught import answer_only

    per_category = config.get("sft_per_category")
    excluded = set(config.get("exclude_categories", []))
    by_category: dict[str, list] = {}
    for p in read_problems(out / "train.jsonl"):
        if p.meta.get("solution") and p.category not in excluded:
            by_category.setdefault(p.category, []).append(p)
    chosen = []
    for problems in by_category.values():
        if per_category is not None:
            problems = sorted(problems, key=lambda p: len(p.meta["solution"]))[:per_category]
        chosen += problems
    if config.get("sft_reasoning", "full") == "none":
        chosen = [answer_only(p) for p in chosen]
    path = out / SFT_FILE
    write_jsonl(chosen, path)
    return path


def _training_split(out: Path, config: dict[str, Any]) -> Path:
    """The train split GRPO learns from: `train.jsonl`, or with `exclude_categories` (an ablation) a copy
    without those categories. The eval and the baselines fitted on `train.jsonl` are unchanged."""
    from recon.data.taught import without_categories

    return without_categories(out / "train.jsonl", out / TRAIN_KEPT, set(config.get("exclude_categories", [])))


def training_stage_plan(kind: str):
    """The planner of a training stage: SFT from the preset's model on solver-written worked solutions (or
    any SFT source named in the preset); GRPO from the SFT checkpoint (or the model, `from_sft: false`) with
    the hierarchical reward on the verified train split (`dataset: verified`) or another source (`train`: the
    published problems, as in the paper). A source named in the preset loses its eval overlap first. The
    merged recipe is written and `recon.training.<kind>` runs in a fresh process (or `accelerate launch`)."""

    def plan(ctx: StageContext) -> Plan:
        from recon.data.registry import describe as describe_dataset

        config, preset, hub = ctx.config, ctx.preset, hub_id(ctx.preset)
        own = {"sft": "generated", "grpo": "verified"}[kind]
        if kind == "grpo" and config.get("dataset") == "taught":  # the taught slice's train items (data.taught)
            if not (preset.get("data") or {}).get("taught"):
                raise PresetError("preset: grpo.dataset taught needs a data.taught section (the taught slice)")
            own = "taught"
        dataset = config.get("dataset", own)
        if (preset.get("data") or {}).get("exclude_categories") and dataset != own:
            raise PresetError(f"preset: data.exclude_categories applies to the run's own training files; {kind}.dataset must be {own}")
        recipe_file = resource_path(config["recipe"]) if config.get("recipe") else None
        if recipe_file is None or not recipe_file.is_file():
            raise PresetError(f"preset: {kind}.recipe: {config.get('recipe')!r} not found")
        recipe = yaml.safe_load(recipe_file.read_text()) or {}
        from_sft = kind == "grpo" and config.get("from_sft", True)
        if from_sft and "sft" not in ctx.outputs:
            raise PresetError("preset: grpo starts from the SFT checkpoint (grpo.from_sft) but the sft stage is not selected")
        start = str(ctx.output("sft", "checkpoint")) if from_sft else preset["model"]
        if dataset == own:
            source = data = str(ctx.output("data", {"generated": "sft", "verified": "training", "taught": "taught_train"}[own]))
        else:  # filtered in `execute`
            source, data = describe_dataset(dataset, part="train", hub_id=hub), str(ctx.where("train", f"{kind}_data.jsonl"))
        out_dir, config_file = ctx.where("train", kind), ctx.where("train", f"{kind}.yaml")
        # `recipes/…` values (a chat template, an accelerate config) resolve to the packaged copy outside the repository.
        merged = {key: packaged(value) for key, value in {**recipe, **copy.deepcopy(config.get("args", {}))}.items()}
        merged.update(model_name_or_path=start, dataset=data, output_dir=str(out_dir))
        merged.setdefault("think", preset.get("think", "required"))
        merged.setdefault("seed", preset.get("seed", 0))
        split = config.get("args", {}).get("heldout_split", "verified")
        if merged.get("heldout_size") and split in OWN_EVAL:  # the learning curve on a fixed slice of this run's own eval items
            if split == "taught" and not (preset.get("data") or {}).get("taught"):
                raise PresetError(f"preset: {kind}.args.heldout_split taught needs a data.taught section (the taught slice)")
            merged["heldout_split"] = str(ctx.output("data", OWN_EVAL[split]))
        if hub:  # the training process reads its held-out split from the same place
            merged.setdefault("hub_id", hub)
        launcher = [packaged(arg) for arg in config.get("launcher", [sys.executable])]
        filtered = None if dataset == own else _filtered_size(dataset, ctx.run_dir, hub)
        lines = [
            f"model {start}",
            f"data {source}",
            f"recipe {recipe_file} + args {config.get('args', {})}",
            f"launcher {' '.join(map(str, launcher))}",
            f"checkpoint → {out_dir}",
            *([f"learning curve: {merged['heldout_size']} held-out items of {merged['heldout_split']} (stratified) at every "
               f"save ({merged.get('save_steps')} steps)"] if merged.get("heldout_size") else []),  # fmt: skip
            *([f"data filter: {filtered[0]} of {filtered[1]} items kept, {filtered[1] - filtered[0]} overlap {filtered[2]}"] if filtered else []),
            *stage_training_plan(kind, config, recipe, filtered[0] if filtered else None),
        ]
        outputs = {"checkpoint": str(out_dir), "config": str(config_file)}

        def execute() -> dict[str, Any]:
            extra = {}
            if dataset != own:
                from recon.data.build import filter_training_source

                extra["data_filter"] = filtered = filter_training_source(
                    dataset, ctx.output("data", "eval"), ctx.path("train", f"{kind}_data.jsonl"), hub_id=hub
                )
                ctx.console.print(f"[dim]{dataset}: {filtered['removed']} of {filtered['items']} items overlap the eval and are left out[/dim]")
            ctx.path("train", kind)
            config_file.write_text(yaml.safe_dump(merged, sort_keys=False))
            # accelerate: every visible GPU unless the launcher says
            command = [*with_num_processes(launcher, visible_gpus()), "-m", f"recon.training.{kind}", "--config", str(config_file)]
            ctx.console.print(f"[dim]$ {' '.join(command)}[/dim]")
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            # The checkpoint folder is a run of its own, opened by the training process (`recon.training.run`):
            # locked while it trains, never resumed under another configuration (the stage also clears it when its key changes).
            completed = subprocess.run(command, env=env)
            if completed.returncode != 0:
                # The training process has printed its own error above; this is the pipeline's one line.
                raise UserError(f"{kind} training failed (exit {completed.returncode}; its output is above); config: {config_file}")
            return {**outputs, **extra}

        return Plan(lines, outputs, execute)

    return plan


def _filtered_size(dataset: str, run_dir: Path, hub: str | None) -> tuple[int, int, str] | None:
    """(kept, items, against what) of the eval-overlap filter the stage applies to `dataset`
    (`training_stage_plan`), for the plan: against the run's eval when the data stage has built it, else against
    the published eval items its audit keeps (the run's eval holds those plus generated items). None when the
    data cannot be read."""
    import tempfile
    from collections import defaultdict

    from recon.data.build import _kept, filter_training_source
    from recon.data.problem import write_jsonl
    from recon.data.published import load_all

    eval_path, against = run_dir / "data" / "eval.jsonl", f"the eval ({run_dir / 'data' / 'eval.jsonl'})"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if not eval_path.is_file():
                eval_path, against = Path(tmp) / "eval.jsonl", "the audited published eval items the data stage puts in the run's eval"
                write_jsonl(_kept(load_all(None, hub)["eval"], defaultdict(dict)), eval_path)
            found = filter_training_source(dataset, eval_path, Path(tmp) / "kept.jsonl", hub_id=hub)
    except Exception:  # noqa: BLE001 - a dry run reports; data not downloaded yet: size unknown
        return None
    return found["items"] - found["removed"], found["items"], against


def _models(ctx: StageContext) -> dict[str, str]:
    """The models eval and games compare: base, SFT and GRPO (those of the run's stages), or those the
    preset's `models` names (an ablation leaves out the base model another run has already measured)."""
    models = {"base": ctx.preset["model"]}
    for stage in MODEL_STAGES[1:]:
        if stage in ctx.outputs:
            models[stage] = str(ctx.output(stage, "checkpoint"))
    return {label: model for label, model in models.items() if label in ctx.preset.get("models", MODEL_STAGES)}


def _backend(section: dict[str, Any], model: str):
    from recon.inference import load_backend

    return load_backend(section.get("backend", "hf"), model=model, **section.get("backend_options", {}))


def _backend_line(config: dict[str, Any]) -> str:
    return f"backend {config.get('backend', 'hf')} {config.get('backend_options', {})}"


def eval_plan(ctx: StageContext) -> Plan:
    """Each model on the verified eval (with option permutations) and on the published Recon-Eval.

    `verified` is this run's own verified eval split; any other name (`recon-eval`, `recon-train`, a
    JSONL path) is loaded by `recon.evaluation.runner.load_eval_problems`."""
    from recon.data.registry import describe as describe_dataset

    datasets = ctx.config.get("datasets", EVAL_DATASETS)
    hub = hub_id(ctx.preset)
    if "taught" in datasets and not (ctx.preset.get("data") or {}).get("taught"):
        raise PresetError("preset: eval.datasets.taught needs a data.taught section (the taught slice)")
    sources = {name: str(ctx.output("data", OWN_EVAL[name])) if name in OWN_EVAL else describe_dataset(name, hub_id=hub) for name in datasets}
    models = _models(ctx)
    lines = [f"{_backend_line(ctx.config)}, max_tokens {ctx.config.get('max_tokens', 512)}"]
    lines += [f"dataset {name}: {sources[name]} (limit {settings.get('limit')}, {settings.get('permutations', 1)} option orders"
              + (f", max_tokens {settings['max_tokens']})" if "max_tokens" in settings else ")") for name, settings in datasets.items()]  # fmt: skip
    lines += [f"{label} = {model} → {', '.join(str(ctx.where('eval', label, n)) for n in datasets)}" for label, model in models.items()]
    outputs = {"runs": [{"model": label, "dataset": name, "dir": str(ctx.where("eval", label, name))} for label in models for name in datasets]}

    def execute() -> dict[str, Any]:
        from recon.data.problem import read_problems
        from recon.evaluation.runner import EvalConfig, evaluate, load_eval_problems, select_problems

        train = read_problems(ctx.output("data", "train"))
        problems_of = {
            name: select_problems(
                read_problems(sources[name]) if name in OWN_EVAL else load_eval_problems(name, hub),
                settings.get("categories"),
                settings.get("limit"),
            )
            for name, settings in datasets.items()
        }
        runs, failed = [], []
        for label, model in models.items():
            # One backend per model, closed (a vLLM engine shut down, its GPU memory released) before the next.
            with closing_backend(_backend(ctx.config, model)) as backend:
                for name, settings in datasets.items():
                    problems = problems_of[name]
                    config = EvalConfig(
                        model=model,
                        backend=backend.name,
                        data=name,
                        limit=settings.get("limit"),
                        max_tokens=settings.get("max_tokens", ctx.config.get("max_tokens", 512)),
                        permutations=settings.get("permutations", 1),
                        think=ctx.preset.get("think", "required"),
                        seed=ctx.preset.get("seed", 0),
                        label=label,
                    )
                    out = ctx.path("eval", label, name)
                    ctx.console.print(f"[bold]{label}[/bold] on {name}: {len(problems)} items × {config.permutations} orders")
                    results = evaluate(backend, problems, config, out, baselines_train=train if name in OWN_EVAL else None)
                    runs.append({"model": label, "dataset": name, "dir": str(out), "accuracy": results["overall"]["accuracy"]})
                    if results["overall"].get("n_errors"):
                        failed.append(f"{label} on {name}: {results['overall']['n_errors']} failed requests")
        _check_failed("eval", failed)
        return {"runs": runs}

    return Plan(lines, outputs, execute)


def _check_failed(stage: str, failed: list[str]) -> None:
    """Refuse to record a stage as done while items of it failed (a rerun resumes the stage and retries them)."""
    if failed:
        raise FailedItems(f"stage {stage} has failed items ({'; '.join(failed)}); not recorded as done: rerun the same command to retry them")


GAME_PARTS = ("selfplay", "arena")


def games_plan(ctx: StageContext) -> Plan:
    """Self-play in the ten complete-information games and a short arena against random and MCTS."""
    parts = [part for part in GAME_PARTS if ctx.config.get(part)]
    models = _models(ctx)
    lines = [_backend_line(ctx.config), *(f"{part} {ctx.config[part]}" for part in parts)]
    lines += [f"{label} = {model} → {', '.join(str(ctx.where('games', label, part)) for part in parts)}" for label, model in models.items()]
    outputs = {part: [{"model": label, "dir": str(ctx.where("games", label, part))} for label in models] for part in GAME_PARTS}

    def execute() -> dict[str, Any]:
        out: dict[str, list] = {part: [] for part in GAME_PARTS}
        for label, model in models.items():
            with closing_backend(_backend(ctx.config, model)) as backend:  # one engine at a time (see eval_plan)
                _play(ctx, label, backend, ctx.config.get("selfplay", {}), ctx.config.get("arena", {}), out)
        _check_failed("games", [
            f"{part} {entry['model']}: {entry['failed']} with a failed request" for part in GAME_PARTS for entry in out[part] if entry["failed"]
        ])
        return out

    return Plan(lines, outputs, execute)


def _play(ctx: StageContext, label: str, backend, selfplay_cfg: dict, arena_cfg: dict, out: dict[str, list]) -> None:
    """Self-play and arena for one model's backend, appended to `out`."""
    from recon.games.arena.runner import ArenaConfig, run_arena
    from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay

    # a model trained with `think: required` thinks in the games too (prefill, budget, parsing after
    # </think>) unless the games section says otherwise
    thinks = {"think": ctx.preset.get("think") == "required"}
    if selfplay_cfg:
        settings = {**thinks, **{k: v for k, v in selfplay_cfg.items() if k != "games"}}
        path = ctx.path("games", label, "selfplay")
        results = run_selfplay(
            backend,
            selfplay_cfg.get("games", "all"),
            SelfPlayConfig(seed=ctx.preset.get("seed", 0), model_label=label, **settings),
            path,
        )
        out["selfplay"].append({"model": label, "dir": str(path), "overall": results["table4"]["overall"],
                                "failed": results["failed_request_trials"]})
    if arena_cfg:
        settings = {**thinks, **{k: v for k, v in arena_cfg.items() if k not in ("games", "opponents")}}
        path = ctx.path("games", label, "arena")
        results = run_arena(
            [backend, *arena_cfg.get("opponents", ["random", "mcts"])],
            arena_cfg.get("games", "all"),
            ArenaConfig(seed=ctx.preset.get("seed", 0), **settings),
            path,
        )
        out["arena"].append({"model": label, "dir": str(path), "failed": results["failed_request_matches"]})


def report_plan(ctx: StageContext) -> Plan:
    """The report folder: index.md, index.html and PNG figures."""
    out = ctx.where("report")

    def execute() -> dict[str, Any]:
        from recon.report.build import build_report

        return {key: str(value) for key, value in build_report([ctx.run_dir], out).items()}

    return Plan([f"report → {out} (index.md, index.html, figures)"], {"markdown": str(out / "index.md")}, execute)


STAGES: list[Stage] = [
    planned("data", data_plan, "build verified splits", dirs=("data",)),
    planned("sft", training_stage_plan("sft"), "supervised fine-tuning on worked solutions", needs=("data",), inputs=_recipe_digest,
            dirs=("train/sft", "train/sft.yaml", "train/sft_data.jsonl")),
    planned("grpo", training_stage_plan("grpo"), "GRPO from the SFT checkpoint", needs=("data", "sft"), inputs=_recipe_digest,
            dirs=("train/grpo", "train/grpo.yaml", "train/grpo_data.jsonl")),
    planned("eval", eval_plan, "evaluate base, SFT and GRPO", needs=("data", "sft", "grpo"), dirs=("eval",), reads=("models",)),
    planned("games", games_plan, "self-play equilibria and arena", needs=("sft", "grpo"), dirs=("games",), reads=("models",)),
    planned("report", report_plan, "write the report", needs=("data", "sft", "grpo", "eval", "games"), dirs=("report",)),
]


def _published_source_line(preset: dict[str, Any]) -> str:
    """Where the published splits come from, or why a run would stop before its first stage."""
    from recon.data.registry import published_source

    try:
        return f"published splits from {published_source(hub_id=hub_id(preset))}"
    except UserError as exc:
        return f"{exc} (a run stops before its first stage)"


def selected_stages(preset: dict[str, Any]) -> list[Stage]:
    return [s for s in STAGES if s.name in preset.get("stages", [s.name for s in STAGES])]


def plan(preset: dict[str, Any], run_dir: Path, only: list[str] | None = None, from_stage: str | None = None) -> list[str]:
    """What `run_pipeline` would run, stage by stage: models, datasets and output folders, from each stage's
    own planner (`Stage.plan`, the one its run executes) with the outputs the earlier stages plan. Runs and
    writes nothing; an unusable dataset name or recipe raises here, before any stage runs."""
    from rich.console import Console

    stages = selected_stages(preset)
    names = [s.name for s in stages]
    if not stages:
        raise PresetError("preset: stages: no stage selected")
    for flag, chosen in (("--only", only or []), ("--from", [from_stage] if from_stage else [])):
        for name in chosen:
            if name not in names:
                raise PresetError(f"{flag} {name}: not a stage of this preset ({', '.join(names)})")
    lines = [f"preset {preset['name']}: model {preset['model']}, think {preset.get('think', 'required')}, seed {preset.get('seed', 0)}",
             f"run folder {run_dir}", _published_source_line(preset)]
    outputs: dict[str, dict[str, Any]] = {}
    for index, stage in enumerate(stages, 1):
        skipped = " (skipped: --only)" if only and stage.name not in only else ""
        lines.append(f"{index}. {stage.name}{skipped}")
        try:
            planned_stage = stage.plan(StageContext(run_dir, preset.get(stage.name) or {}, preset, outputs, Console(quiet=True)))
        except PresetError:
            raise
        except UserError as exc:
            raise PresetError(f"preset: {stage.name}: {exc}") from None
        lines += [f"   {line}" for line in planned_stage.lines]
        outputs[stage.name] = relative_to_run(planned_stage.outputs, run_dir)
    return lines


def run_pipeline(
    preset: dict[str, Any],
    run_dir: Path,
    *,
    from_stage: str | None = None,
    force: bool = False,
    only: list[str] | None = None,
    console=None,
) -> dict[str, dict[str, Any]]:
    """Run (or resume) the pipeline described by `preset` in `run_dir` (checked by `plan` first; refused
    when a stage to run reads the published splits and neither the local folder nor a hub id has them)."""
    plan(preset, run_dir, only, from_stage)
    stages = selected_stages(preset)
    if any(reads_published(s.name, preset.get(s.name) or {}) for s in stages if not only or s.name in only):
        from recon.data.registry import published_source

        published_source(hub_id=hub_id(preset))
    from recon.inference.vllm_backend import shared_engines

    # The eval and games stages' vLLM backends share one engine per base model (base, SFT and GRPO as LoRA
    # requests to it); no training stage starts one, so nothing holds an engine while a model trains.
    with shared_engines():
        return run_stages(stages, preset, run_dir, from_stage=from_stage, force=force, only=only, console=console)
