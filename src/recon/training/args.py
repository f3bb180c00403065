"""Our script arguments (only what TRL has no field for), TRL parsing, batch arithmetic and model resolution."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Sequence


@dataclass
class ReconScriptArguments:
    """Data, reward and evaluation settings of a Recon training run. Everything about the optimiser,
    batching, generation, LoRA and the model lives in TRL's `SFTConfig`/`GRPOConfig` and `ModelConfig`."""

    dataset: str = field(
        default="",
        metadata={
            "help": "Training data: a published split (`sft_cot`, `train`, `eval`) or a JSONL path. SFT reads "
            "prompt/completion rows or problems with a worked solution in meta.solution (or meta.response); "
            "GRPO reads problems. Default: `sft_cot` for SFT, `train` for GRPO."
        },
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder holding the published CSVs (default: $RECON_DATA_DIR or ../shared/data/recon)."}
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training examples (after an even spread over the file)."}
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
    adapter_mode: str = field(
        default="merge",
        metadata={
            "help": "When the model is a LoRA adapter folder (an SFT checkpoint): `merge` it into the base (saved "
            "once under output_dir/init-merged) and train a fresh adapter on top, or `continue` training it."
        },
    )
    auto_resume: bool = field(
        default=True,
        metadata={"help": "Resume from the last checkpoint in output_dir when there is one (unless resume_from_checkpoint is set)."},
    )
    heldout_split: str = field(
        default="eval", metadata={"help": "Held-out problems for periodic evaluation: a published split or a JSONL path."}
    )
    heldout_size: int = field(
        default=0, metadata={"help": "Evaluate this many held-out problems (evenly spread, fixed) at every checkpoint; 0 = off."}
    )
    heldout_max_tokens: int | None = field(
        default=None, metadata={"help": "Generation budget for held-out evaluation (default: max_completion_length or 512)."}
    )


class BatchConfigError(ValueError):
    """A batch configuration that cannot run (refused before loading anything)."""


def parse_args(kind: str, argv: Sequence[str] | None = None):
    """Parse `--config RECIPE.yaml` plus command-line overrides into (ours, SFTConfig|GRPOConfig, ModelConfig).

    Bad batch arithmetic in GRPO is refused here with the numbers spelled out."""
    from trl import GRPOConfig, ModelConfig, SFTConfig, TrlParser

    config_cls = {"sft": SFTConfig, "grpo": GRPOConfig}[kind]
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = TrlParser((ReconScriptArguments, config_cls, ModelConfig), prog=f"recon train {kind}")
    try:
        script, config, model = parser.parse_args_and_config(argv)
    except ValueError as exc:
        message = str(exc)
        if any(word in message for word in ("num_generations", "generation_batch_size", "batch size")):
            raise BatchConfigError(
                f"refusing to launch GRPO: {message}\n"
                "  generation batch = per_device_train_batch_size × processes × steps_per_generation "
                "(default: gradient_accumulation_steps); it must hold whole groups of num_generations completions.\n"
                f"  processes here: {world_size()}"
            ) from exc
        raise SystemExit(f"recon train {kind}: {message}") from exc
    if not script.dataset:
        script.dataset = "sft_cot" if kind == "sft" else "train"
    from recon.grading import THINK_MODES, REWARD_REGISTRY

    if script.think not in THINK_MODES:
        raise SystemExit(f"--think must be one of {THINK_MODES}, got {script.think!r}")
    if script.adapter_mode not in ("merge", "continue"):
        raise SystemExit(f"--adapter_mode must be `merge` or `continue`, got {script.adapter_mode!r}")
    unknown = [name for name in script.rewards if name not in REWARD_REGISTRY]
    if unknown:
        raise SystemExit(f"unknown reward(s) {unknown}; registered: {sorted(REWARD_REGISTRY)}")
    if not model.model_name_or_path:
        raise SystemExit("no model: set model_name_or_path in the recipe or pass --model_name_or_path")
    return script, config, model


def world_size() -> int:
    """Processes in this launch (accelerate/torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


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
        return lines
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
