"""Our script arguments (only what TRL has no field for), TRL parsing, batch arithmetic and model resolution."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Sequence

from recon.errors import UserError


@dataclass
class ReconScriptArguments:
    """Data, reward and evaluation settings of a Recon training run. Everything about the optimiser,
    batching, generation, LoRA and the model lives in TRL's `SFTConfig`/`GRPOConfig` and `ModelConfig`."""

    dataset: str = field(
        default="",
        metadata={
            "help": "Training data, named as everywhere in Recon (recon.data.registry): a published split "
            "(`recon-sft-cot`/`sft_cot`, `recon-train`/`train`, `recon-eval`/`eval`), `verified:DIR` (its train.jsonl) "
            "or a JSONL path. SFT reads "
            "prompt/completion rows or problems with a worked solution in meta.solution (or meta.response); "
            "GRPO reads problems. Default: `sft_cot` for SFT, `train` for GRPO."
        },
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder holding the published CSVs (default: $RECON_DATA_DIR or ../shared/data/recon)."}
    )
    hub_id: str | None = field(
        default=None, metadata={"help": "Read the published splits from this HF hub dataset instead (e.g. MasterZhou/Recon)."}
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training examples (after an even spread over the file)."}
    )
    length_buckets: bool = field(
        default=False,
        metadata={
            "help": "SFT: batches of rows of similar length (little padding) in a random batch order (no long → short "
            "trend over training, unlike train_sampling_strategy group_by_length); train_sampling_strategy is then ignored."
        },
    )
    think: str = field(
        default="required",
        metadata={"help": "How completions are graded: `required` (one </think> before the answer), `optional`, `none`."},
    )
    rewards: list[str] = field(
        default_factory=lambda: ["hierarchical"],
        metadata={"help": "GRPO reward names from recon.grading.REWARD_REGISTRY; weights via TRL's `reward_weights`."},
    )
    reshuffle_options: bool = field(
        default=True,
        metadata={
            "help": "GRPO: re-shuffle option order (gold remapped) every epoch so the policy cannot learn positions. "
            "False keeps the published fixed order, as in the paper."
        },
    )
    stop_at_answer: bool = field(
        default=True,
        metadata={
            "help": "GRPO (transformers generation): end a completion with EOS as soon as its final \\boxed{} is "
            "closed. vLLM ignores it."
        },
    )
    dynamic_sampling_rounds: int = field(
        default=0,
        metadata={
            "help": "GRPO: DAPO's dynamic sampling. A group whose completions all get the same reward (no gradient) is "
            "replaced by a freshly drawn prompt's group, in up to this many extra generation rounds per step; 0 = off "
            "(the paper's behaviour). One process only."
        },
    )
    adapter_mode: str = field(
        default="merge",
        metadata={
            "help": "When the model is a LoRA adapter folder (an SFT checkpoint): `merge` it into the base (saved "
            "once under output_dir/init-merged) and train a fresh adapter on top, or `continue` training it."
        },
    )
    global_batch_size: int = field(
        default=0,
        metadata={
            "help": "Sequences (SFT) or completions (GRPO) per optimizer step over all processes. When > 0, "
            "per_device_train_batch_size is the largest micro-batch per device and gradient_accumulation_steps is "
            "derived from the world size at launch (per device × processes × accumulation = this); a world size "
            "that cannot reach it is refused. 0: use the per-device settings as given."
        },
    )
    prepare_only: bool = field(
        default=False,
        metadata={
            "help": "GRPO: merge an SFT adapter into output_dir/init-merged (the model a `trl vllm-serve` server "
            "must load), print its path and exit without training."
        },
    )
    auto_resume: bool = field(
        default=True,
        metadata={"help": "Resume from the last checkpoint in output_dir when there is one (unless resume_from_checkpoint is set)."},
    )
    overwrite: bool = field(
        default=False,
        metadata={"help": "Empty output_dir first when it holds a training run of another configuration (else that is refused)."},
    )
    heldout_split: str = field(
        default="eval", metadata={"help": "Held-out problems for periodic evaluation: a published split or a JSONL path."}
    )
    heldout_size: int = field(
        default=0, metadata={"help": "Evaluate this many held-out problems (stratified by category, fixed) at every checkpoint; 0 = off."}
    )
    heldout_max_tokens: int | None = field(
        default=None, metadata={"help": "Generation budget for held-out evaluation (default: max_completion_length or 512)."}
    )


class BatchConfigError(UserError, ValueError):
    """A batch configuration that cannot run (refused before loading anything)."""


def with_packaged_config(argv: Sequence[str]) -> list[str]:
    """argv with its `--config recipes/…` resolved to the packaged copy, so it works from any folder."""
    argv = list(argv)
    if "--config" in argv[:-1]:
        from recon.resources import resource_path

        at = argv.index("--config") + 1
        argv[at] = str(resource_path(argv[at]))
    return argv


def parse_args(kind: str, argv: Sequence[str] | None = None):
    """Parse `--config RECIPE.yaml` plus command-line overrides into (ours, SFTConfig|GRPOConfig, ModelConfig).

    Bad batch arithmetic in GRPO is refused here with the numbers spelled out."""
    from trl import GRPOConfig, ModelConfig, SFTConfig, TrlParser

    config_cls = {"sft": SFTConfig, "grpo": GRPOConfig}[kind]
    argv = with_packaged_config(sys.argv[1:] if argv is None else argv)
    argv += derived_batch_args(kind, recipe_values(argv), world_size())
    parser = TrlParser((ReconScriptArguments, config_cls, ModelConfig), prog=f"recon train {kind}")
    parser.error = lambda message: refuse_argument(kind, argv, message)  # one line, not argparse's usage screen
    try:
        script, config, model = parser.parse_args_and_config(argv)
    except UserError:
        raise
    except ValueError as exc:
        message = str(exc)
        if any(word in message for word in ("num_generations", "generation_batch_size", "batch size")):
            raise BatchConfigError(
                f"refusing to launch GRPO: {message}\n"
                "  generation batch = per_device_train_batch_size × processes × steps_per_generation "
                "(default: gradient_accumulation_steps); it must hold whole groups of num_generations completions.\n"
                f"  processes here: {world_size()}"
            ) from exc
        raise UserError(f"recon train {kind}: {message}") from exc
    if not script.dataset:
        script.dataset = "sft_cot" if kind == "sft" else "train"
    from recon.grading import THINK_MODES, REWARD_REGISTRY

    if script.think not in THINK_MODES:
        raise UserError(f"--think must be one of {THINK_MODES}, got {script.think!r}")
    if script.adapter_mode not in ("merge", "continue"):
        raise UserError(f"--adapter_mode must be `merge` or `continue`, got {script.adapter_mode!r}")
    unknown = [name for name in script.rewards if name not in REWARD_REGISTRY]
    if unknown:
        raise UserError(f"unknown reward(s) {unknown}; registered: {sorted(REWARD_REGISTRY)}")
    if not model.model_name_or_path:
        raise UserError("no model: set model_name_or_path in the recipe or pass --model_name_or_path")
    return script, config, model


def refuse_argument(kind: str, argv: Sequence[str], message: str) -> NoReturn:
    """argparse's error as a UserError naming the recipe file when the bad value came from it (a field
    not given on the command line), e.g. `sft.yaml: seed: invalid int value: 'abc'`."""
    match = re.match(r"argument (--[\w.-]+)(?:/[^:]*)?: (.*)", message)
    if match is None:
        raise UserError(f"recon train {kind}: {message}")
    flag, problem = match.groups()
    config = argv[argv.index("--config") + 1] if "--config" in argv[:-1] else None
    if config is not None and flag not in argv and not any(a.startswith(flag + "=") for a in argv):
        raise UserError(f"{config}: {flag.lstrip('-')}: {problem}")
    raise UserError(f"recon train {kind}: {flag}: {problem}")


def world_size() -> int:
    """Processes in this launch (accelerate/torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


# TrainingArguments' and GRPOConfig's own defaults, for recipes that leave these fields out.
DEFAULT_PER_DEVICE, DEFAULT_GENERATIONS = 8, 8


def recipe_values(argv: Sequence[str]) -> dict:
    """The recipe named by `--config` with the command line's `--key value` / `--key=value` on top (values
    read as YAML; a flag followed by several values, `--rewards hierarchical format`, is the list of them,
    as TRL reads it; a flag with none is `true`)."""
    import yaml

    values: dict = {}
    cli: dict = {}
    args = list(argv)
    flags = [i for i, token in enumerate(args) if token.startswith("--")]
    for i, end in zip(flags, [*flags[1:], len(args)]):
        key, eq, raw = args[i][2:].partition("=")
        given = [yaml.safe_load(v) for v in ([raw] if eq else args[i + 1 : end])]
        cli[key] = True if not given else given[0] if len(given) == 1 else given
    if cli.get("config"):
        with open(cli["config"], encoding="utf-8") as fh:
            values.update(yaml.safe_load(fh) or {})
    values.update({k: v for k, v in cli.items() if k != "config"})
    return values


def resolve_batch(kind: str, global_batch: int, max_per_device: int, processes: int, generations: int = 1) -> tuple[int, int]:
    """(per-device micro-batch, gradient accumulation) with per device × processes × accumulation =
    `global_batch`, the per-device batch as large as allowed (≤ `max_per_device`); a `BatchConfigError`
    when no split exists. GRPO's global batch must also hold whole groups of `generations` completions."""
    unit = "sequences" if kind == "sft" else "completions"
    if global_batch < 1 or max_per_device < 1 or processes < 1:
        raise BatchConfigError(
            f"global_batch_size ({global_batch}), per_device_train_batch_size ({max_per_device}) and processes "
            f"({processes}) must be >= 1"
        )
    if kind == "grpo" and global_batch % generations:
        raise BatchConfigError(
            f"refusing to launch GRPO: global_batch_size {global_batch} is not a whole number of groups of "
            f"num_generations={generations}"
        )
    if global_batch % processes:
        usable = [n for n in range(1, global_batch + 1) if global_batch % n == 0]
        raise BatchConfigError(
            f"refusing to launch {kind.upper()}: global_batch_size {global_batch} {unit} cannot be split evenly over "
            f"{processes} processes; launch on one of {usable} processes, or change global_batch_size "
            "(a deviation from the recipe's batch)"
        )
    per_process = global_batch // processes
    per_device = max(d for d in range(1, min(max_per_device, per_process) + 1) if per_process % d == 0)
    return per_device, per_process // per_device


def derived_batch_args(kind: str, values: dict, processes: int) -> list[str]:
    """Command-line overrides that set per-device batch and accumulation from `global_batch_size` (none when
    it is 0): appended after the user's own arguments, so they win over the recipe's per-device values."""
    global_batch = int(values.get("global_batch_size") or 0)
    if global_batch <= 0:
        return []
    per_device, accum = resolve_batch(
        kind,
        global_batch,
        int(values.get("per_device_train_batch_size") or DEFAULT_PER_DEVICE),
        processes,
        int(values.get("num_generations") or DEFAULT_GENERATIONS),
    )
    return ["--per_device_train_batch_size", str(per_device), "--gradient_accumulation_steps", str(accum)]


def steps_line(kind: str, global_batch: int, generations: int, n_train: int | None, epochs: float, max_steps: int) -> str:
    """How many optimizer steps the run takes: `max_steps`, or epochs × steps per epoch (SFT: ⌈examples /
    global batch⌉; GRPO: prompts // prompts per step, as TRL's sampler drops a partial batch)."""
    if max_steps and max_steps > 0:
        return f"steps: max_steps = {max_steps}"
    per_step = global_batch if kind == "sft" else global_batch // generations
    if n_train is None:
        return f"steps: {epochs:g} epochs × (training {'examples' if kind == 'sft' else 'prompts'} / {per_step}) (data not read yet: built by the data stage or downloaded)"
    per_epoch = -(-n_train // per_step) if kind == "sft" else n_train // per_step
    return f"steps: {epochs:g} epochs × {per_epoch} steps per epoch ({n_train} examples) = {int(epochs * per_epoch)} steps"


def training_plan(kind: str, values: dict, processes: int, n_train: int | None = None) -> list[str]:
    """What a recipe (a dict of its fields, overrides applied) does on `processes` processes, without
    loading TRL: batch split, steps, optimiser and learning rate. Raises `BatchConfigError` when the
    launch would be refused. Used by `recon pipeline --dry-run`."""
    generations = int(values.get("num_generations") or DEFAULT_GENERATIONS) if kind == "grpo" else 1
    per_device = int(values.get("per_device_train_batch_size") or DEFAULT_PER_DEVICE)
    accum = int(values.get("gradient_accumulation_steps") or 1)
    global_batch = int(values.get("global_batch_size") or 0)
    source = f"global_batch_size {global_batch}"
    if global_batch > 0:
        per_device, accum = resolve_batch(kind, global_batch, per_device, processes, generations)
    else:
        global_batch, source = per_device * processes * accum, "per-device settings"
    unit = "sequences" if kind == "sft" else f"completions = {global_batch // generations} prompts × {generations} generations"
    if kind == "grpo" and global_batch % generations:
        raise BatchConfigError(f"refusing to launch GRPO: {global_batch} completions per step split groups of {generations}")
    return [
        f"{kind} on {processes} process{'es' if processes > 1 else ''}: {per_device} per device × {processes} × "
        f"{accum} accumulation = {global_batch} {unit} per optimizer step ({source})",
        f"{kind} " + steps_line(kind, global_batch, generations, n_train, float(values.get("num_train_epochs", 3.0)), int(values.get("max_steps", -1) or -1)),
        f"{kind} optimizer: {values.get('optim', 'adamw_torch_fused')}, learning rate {values.get('learning_rate')}, "
        f"{values.get('lr_scheduler_type', 'linear')} schedule",
    ]


def batch_plan(kind: str, config, n_train: int, processes: int | None = None) -> list[str]:
    """Human-readable batch arithmetic; raises `BatchConfigError` when it cannot run."""
    processes = processes or world_size()
    per_device, accum = config.per_device_train_batch_size, config.gradient_accumulation_steps
    if per_device < 1 or accum < 1:
        raise BatchConfigError(f"per_device_train_batch_size ({per_device}) and gradient_accumulation_steps ({accum}) must be >= 1")
    global_batch = per_device * processes * accum
    lines = [
        f"world_size={processes}",
        f"optimizer step = {per_device} per device × {processes} processes × {accum} accumulation = {global_batch} "
        + ("sequences" if kind == "sft" else "completions"),
    ]
    if kind == "sft":
        if n_train < per_device * processes:
            raise BatchConfigError(
                f"refusing to launch SFT: {n_train} training examples cannot fill one micro-batch of "
                f"{per_device} × {processes} processes"
            )
        lines.append(f"{n_train} examples → {-(-n_train // global_batch)} optimizer steps per epoch")
        return lines + _schedule(kind, config, global_batch, 1, n_train)
    # GRPOConfig itself refuses a generation batch that does not hold whole groups (parse_args turns
    # that into a BatchConfigError), so the division is exact here.
    gen_batch, groups = config.generation_batch_size, config.num_generations
    prompts = gen_batch // groups
    lines.append(
        f"generation batch = {per_device} × {processes} × {config.steps_per_generation} steps_per_generation = "
        f"{gen_batch} completions = {prompts} prompts × {groups} generations"
    )
    if n_train < prompts:
        raise BatchConfigError(
            f"refusing to launch GRPO: {n_train} training prompts cannot fill one generation batch of {prompts} prompts"
        )
    lines.append(f"{n_train} prompts → {n_train // prompts} generation batches per epoch")
    return lines + _schedule(kind, config, global_batch, groups, n_train)


def _schedule(kind: str, config, global_batch: int, generations: int, n_train: int) -> list[str]:
    return [
        steps_line(kind, global_batch, generations, n_train, config.num_train_epochs, config.max_steps),
        f"optimizer: {config.optim.value if hasattr(config.optim, 'value') else config.optim}, learning rate "
        f"{config.learning_rate:g}",
    ]


def visible_gpus() -> int:
    """CUDA devices this process can see (0 without CUDA or torch)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()


def launcher_processes(launcher: Sequence[str]) -> int | None:
    """The `--num_processes N` an `accelerate launch` command line gives, if any."""
    args = list(launcher)
    for i, arg in enumerate(args):
        if arg == "--num_processes" and i + 1 < len(args):
            return int(args[i + 1])
        if arg.startswith("--num_processes="):
            return int(arg.split("=", 1)[1])
    return None


def is_accelerate_launcher(launcher: Sequence[str]) -> bool:
    return len(launcher) > 1 and Path(launcher[0]).name == "accelerate" and launcher[1] == "launch"


def with_num_processes(launcher: Sequence[str], gpus: int) -> list[str]:
    """An `accelerate launch` command line with `--num_processes` set to `gpus` (at least 1) unless it
    sets one already; any other launcher (a plain python) unchanged."""
    launcher = list(launcher)
    if not is_accelerate_launcher(launcher) or launcher_processes(launcher) is not None:
        return launcher
    return [*launcher, "--num_processes", str(max(gpus, 1))]


def _dataset_size(kind: str, dataset: str) -> int | None:
    """Rows a named training source holds, when it can be read now (a dry run reports, it never fails on
    data, and never downloads: a hub dataset's size is unknown here)."""
    from recon.training.data import load_problems, sft_rows

    try:
        return len(sft_rows(dataset) if kind == "sft" else load_problems(dataset))
    except Exception:  # noqa: BLE001 - data built by a later stage, or not downloaded: size unknown
        return None


def stage_training_plan(kind: str, section: dict, recipe: dict, n_train: int | None = None) -> list[str]:
    """`training_plan` of a pipeline training stage (`section`: its preset section; `recipe`: the recipe's
    fields), for the process count its launcher gives (`--num_processes`, which `recon pipeline --num-gpus`
    sets; 1 for a plain python) or else, for `accelerate launch`, for 1 and for 8 GPUs; `n_train`: the rows the
    stage trains on when known (after its eval-overlap filter). For `recon pipeline --dry-run`; a refused count
    is reported."""
    values = {**recipe, **(section.get("args") or {})}
    dataset = section.get("dataset") or values.get("dataset", "")
    size = n_train if n_train is not None else None if dataset in ("generated", "verified") else _dataset_size(kind, dataset)
    launcher = section.get("launcher", [])
    given = launcher_processes(launcher) or (None if is_accelerate_launcher(launcher) else 1)
    lines = []
    for count in [given] if given else [1, 8]:
        try:
            lines += training_plan(kind, values, count, size)
        except BatchConfigError as exc:
            lines.append(f"{kind} on {count} processes: {exc}")
    return lines


def print_plan(lines: list[str]) -> None:
    """Print the batch plan on the main process only."""
    if int(os.environ.get("RANK", "0")) == 0:
        for line in lines:
            print(f"[recon.train] {line}", flush=True)


def last_checkpoint(output_dir: str) -> str | None:
    """The newest `checkpoint-N` folder in output_dir, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
