"""What SFT and GRPO share: the entry point, auto-resume, the final save and held-out evaluation."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from recon.errors import UserError
from recon.training.args import (
    BatchConfigError, last_checkpoint, parse_args, print_plan, recipe_values, with_packaged_config, world_size,
)

# Fields that change how a run is executed or recorded, not what it learns: a run may resume under other values.
EXECUTION_FIELDS = frozenset(
    {"output_dir", "overwrite", "auto_resume", "resume_from_checkpoint", "logging_steps", "logging_dir", "logging_first_step",
     "save_steps", "save_total_limit", "save_strategy", "report_to", "run_name", "dataloader_num_workers", "disable_tqdm",
     "push_to_hub", "hub_model_id", "prepare_only"}
)


def train_identity(kind: str, argv: Sequence[str]) -> dict[str, Any]:
    """What a training run's results depend on: the recipe with its command-line overrides (less
    `EXECUTION_FIELDS`), the content of the files it names (chat template, dataset) and the content
    revision of the folders it names (a model or adapter folder, `verified:DIR`), so a model retrained in
    place is another identity: its checkpoints and `init-merged` are refused, never resumed."""
    from recon.resources import packaged
    from recon.runs import named_file_digests

    config = {k: v for k, v in recipe_values(with_packaged_config(argv)).items() if k not in EXECUTION_FIELDS}
    identity = {"kind": kind, "config": config, "files": named_file_digests(config.values(), packaged)}
    folders = folder_revisions(config.values())
    return {**identity, "folders": folders} if folders else identity


def folder_revisions(values) -> dict[str, str | None]:
    """{value: content revision} for the string values that name a folder: a model folder or a LoRA
    adapter (its base's revision + its own, as the backends key models: `recon.inference.models`), or the
    folder of `verified:DIR` / `$RECON_VERIFIED_DIR`."""
    from recon.data.registry import is_verified, verified_folder
    from recon.inference.models import ModelResolutionError, folder_revision, resolve_model

    out = {}
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            folder = verified_folder(value) if is_verified(value) else Path(value).expanduser()
        except UserError:  # plain `verified` without $RECON_VERIFIED_DIR: the dataset loader refuses it
            continue
        if not folder.is_dir():
            continue
        try:
            out[value] = resolve_model(str(folder), materialize_hf=False).revision
        except ModelResolutionError:  # not a model folder (a verified data folder)
            out[value] = folder_revision(folder)
    return out


@contextlib.contextmanager
def training_run(kind: str, argv: Sequence[str], script, config):
    """The output folder as a run folder (`recon.runs.open_run`, kind `train`): locked while it trains, and
    another configuration's checkpoints are refused, never resumed. With several processes the main one
    opens (locks, checks, clears with `--overwrite`) and every other waits for its decision: they start
    only after the folder is cleared, and a refusal stops them all with the same error."""
    from recon.runs import open_run

    def opening():
        return open_run(config.output_dir, "train", train_identity(kind, argv), overwrite=script.overwrite,
                        info={"argv": list(argv)}, flags=("--output_dir NEW", "--overwrite true"))  # fmt: skip

    if world_size() <= 1:
        with opening() as run:
            yield run
        return
    with contextlib.ExitStack() as stack:
        run, refusal = None, None
        if int(os.environ.get("RANK", "0")) == 0:
            try:
                run = stack.enter_context(opening())
            except UserError as exc:
                refusal = exc
        decision = main_process_decision(config, None if refusal is None else str(refusal))
        if refusal is not None:
            raise refusal
        if decision is not None:
            raise UserError(decision)
        yield run


def main_process_decision(config, message: str | None) -> str | None:
    """The main process's `message` on every process (a barrier: the others wait for it), through the
    process group TrainingArguments sets up (its backend and `ddp_timeout`)."""
    import torch.distributed as dist

    config.device  # noqa: B018 - initialises the process group as the trainer will use it
    box = [message]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def main_for(kind: str, run: Callable, argv: Sequence[str]) -> dict:
    """Parse the recipe and overrides, then run; a user error (a batch configuration that cannot work,
    a bad field, a bad dataset, an output_dir holding another configuration's run) exits with status 2
    and says why, before any model is loaded."""
    try:
        script, config, model_cfg = parse_args(kind, argv)
        with training_run(kind, argv, script, config):
            return run(script, config, model_cfg)
    except UserError as exc:
        print(f"[recon.train] error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    finally:
        close_process_group()


def close_process_group() -> None:
    """Destroy the process group of a several-process launch before the process exits: a rank that exits
    with gloo's worker threads alive can abort (`terminate called without an active exception`, exit -6;
    pytorch/pytorch#190489), and the launcher then fails the whole run after it has finished."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def resume_checkpoint(script, config) -> str | None:
    """An explicit `resume_from_checkpoint`, else the last checkpoint in output_dir (when auto_resume)."""
    if config.resume_from_checkpoint:
        return config.resume_from_checkpoint
    return last_checkpoint(config.output_dir) if script.auto_resume else None


def _start_step_callback(summary: dict):
    from transformers import TrainerCallback

    class StartStep(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            summary["start_step"] = state.global_step

    return StartStep()


def train_and_save(trainer, script, config) -> dict:
    """Train (auto-resuming), save the final model and tokenizer to output_dir, write `train_summary.json`."""
    resume = resume_checkpoint(script, config)
    if resume:
        print_plan([f"resuming from {resume}"])
    summary: dict = {"output_dir": config.output_dir, "resumed_from": resume, "world_size": trainer.accelerator.num_processes}
    trainer.add_callback(_start_step_callback(summary))
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(config.output_dir)
    summary.update(
        global_step=trainer.state.global_step,
        train_loss=result.training_loss,
        seconds=round(time.perf_counter() - started, 2),
        checkpoints=sorted(
            (p.name for p in Path(config.output_dir).glob("checkpoint-*")), key=lambda name: int(name.split("-")[-1])
        ),
    )
    if trainer.accelerator.is_main_process:
        Path(config.output_dir, "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print_plan([f"done: step {summary['global_step']}, loss {summary['train_loss']:.4f}, saved to {config.output_dir}"])
    return summary


# A pessimistic transformers decode step (7B model, batch 8, one GPU), used only to refuse held-out budgets
# that the other processes could not wait out inside `ddp_timeout`.
HF_DECODE_STEP_S = 0.1
HELDOUT_HF_BATCH = 8


def heldout_callbacks(script, config, processes: int | None = None) -> list:
    """[a callback evaluating every save on a fixed held-out slice], or [] when heldout_size is 0.

    GRPO with vLLM evaluates through the trainer's own vLLM (every process its share of the items, weights
    synced first); otherwise the main process evaluates the saved checkpoint with transformers while the
    others wait, so a budget that could outlast `ddp_timeout` on several processes is refused here."""
    if script.heldout_size <= 0:
        return []
    from recon.data.problem import stratified_slice
    from recon.training.data import load_problems

    max_tokens = script.heldout_max_tokens or getattr(config, "max_completion_length", None) or 512
    if not getattr(config, "use_vllm", False):
        check_heldout_budget(script.heldout_size, max_tokens, config.ddp_timeout, processes or world_size())
    problems = stratified_slice(load_problems(script.heldout_split, script.data_dir, script.hub_id), script.heldout_size)
    if getattr(config, "use_vllm", False):
        return [TrainerVLLMHeldout(problems, script.think, max_tokens, config.output_dir).as_callback()]
    return [heldout_eval_callback(problems, script.think, max_tokens, config.output_dir)]


def check_heldout_budget(items: int, max_tokens: int, timeout_s: float, processes: int) -> None:
    """Refuse a transformers held-out evaluation that could keep the other processes waiting past `timeout_s`."""
    if processes <= 1:
        return
    worst = -(-items // HELDOUT_HF_BATCH) * max_tokens * HF_DECODE_STEP_S
    if worst > timeout_s / 2:
        raise BatchConfigError(
            f"refusing to launch: held-out evaluation of {items} items × {max_tokens} tokens with transformers on the "
            f"main process may take ~{worst / 60:.0f} min while {processes - 1} other processes wait (ddp_timeout "
            f"{timeout_s:.0f} s); lower heldout_size or heldout_max_tokens, raise ddp_timeout, or generate with vLLM (GRPO)"
        )


def _write_heldout(output_dir: str, step: int, out: Path, checkpoint: str, result: dict) -> None:
    from recon.runs import append_heldout

    append_heldout(output_dir, {"step": step, "checkpoint": checkpoint, "results": str(out), **result})
    print_plan([f"held-out eval at step {step}: {json.dumps(result)}"])


def heldout_eval_callback(problems, think: str, max_tokens: int, output_dir: str):
    """Greedy evaluation of each checkpoint through `recon.evaluation.evaluate` (main process only), written to
    `output_dir/heldout/checkpoint-N/`; one summary line per checkpoint in `output_dir/heldout/summary.jsonl`
    (`recon.runs.append_heldout`, read by `recon.runs.read_heldout`)."""
    from transformers import TrainerCallback

    class HeldoutEval(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            name = f"checkpoint-{state.global_step}"
            checkpoint = Path(output_dir) / name
            if not checkpoint.is_dir():
                return
            out = Path(output_dir) / "heldout" / name
            result = evaluate_checkpoint(checkpoint, problems, think, max_tokens, out)
            _write_heldout(output_dir, state.global_step, out, str(checkpoint), result)

    return HeldoutEval()


class TrainerVLLMHeldout:
    """Greedy held-out evaluation at every save through the GRPO trainer's own vLLM (colocated engines or the
    server): the current weights are pushed to vLLM first, every process generates its share of the items,
    and the main process grades them with the evaluator (`output_dir/heldout/checkpoint-N/`). A
    TrainerCallback (`as_callback`); `attach` the trainer after building it."""

    def __init__(self, problems, think: str, max_tokens: int, output_dir: str):
        self.problems, self.think, self.max_tokens, self.output_dir = list(problems), think, max_tokens, output_dir
        self.trainer = None

    def attach(self, trainer) -> None:
        self.trainer = trainer

    def as_callback(self):
        from transformers import TrainerCallback

        heldout = self

        class VLLMHeldoutEval(TrainerCallback):
            def __init__(self):
                self.heldout = heldout

            def on_save(self, args, state, control, **kwargs):
                heldout.on_save(state)

        return VLLMHeldoutEval()

    def on_save(self, state) -> None:
        from recon.inference import ScriptedBackend

        texts = self.generate_all()
        if not state.is_world_process_zero:
            return
        by_prompt = {json.dumps(p.messages): text for p, text in zip(self.problems, texts)}
        backend = ScriptedBackend(lambda messages: by_prompt[json.dumps(messages)], revision=f"step-{state.global_step}")
        name = f"checkpoint-{state.global_step}"
        out = Path(self.output_dir) / "heldout" / name
        result = _evaluate(backend, self.problems, self.think, self.max_tokens, out, name, "trainer-vllm")
        _write_heldout(self.output_dir, state.global_step, out, str(Path(self.output_dir) / name), result)

    def shares(self, rank: int, world: int) -> tuple[list[int], list[int]]:
        """(this process's item indices, the same padded to an equal share, so server-mode collectives line up)."""
        share = -(-len(self.problems) // world)
        mine = list(range(len(self.problems)))[rank * share : (rank + 1) * share]
        return mine, mine + [0] * (share - len(mine))

    def generate_all(self) -> list[str]:
        """Greedy completions of every held-out problem, in order (a collective: every process calls it)."""
        from accelerate.utils import gather_object

        from recon.inference.vllm_backend import single_bos

        trainer = self.trainer
        tokenizer = trainer.processing_class
        mine, padded = self.shares(trainer.accelerator.process_index, trainer.accelerator.num_processes)
        prompts = [
            single_bos(
                tokenizer(
                    tokenizer.apply_chat_template(self.problems[i].messages, tokenize=False, add_generation_prompt=True),
                    add_special_tokens=False,
                )["input_ids"],
                tokenizer.bos_token_id,
            )
            for i in padded
        ]
        generation = trainer.vllm_generation
        if trainer.state.global_step != getattr(trainer, "_last_loaded_step", None):
            generation.sync_weights()  # as TRL does before generating: vLLM gets the weights just saved
            trainer._last_loaded_step = trainer.state.global_step
        greedy = {"temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repetition_penalty": 1.0,
                  "max_completion_length": self.max_tokens}  # fmt: skip
        saved = {key: getattr(generation, key) for key in greedy}
        try:
            for key, value in greedy.items():
                setattr(generation, key, value)
            _, completion_ids, _, _ = generation.generate(prompts, None, num_generations=1)
        finally:
            for key, value in saved.items():
                setattr(generation, key, value)
        done = [(i, tokenizer.decode(ids, skip_special_tokens=True)) for i, ids in zip(mine, completion_ids)]
        return [text for _, text in sorted(dict(gather_object(done)).items())]


def attach_trainer(callbacks: list, trainer) -> None:
    """Give callbacks that generate through the trainer (the vLLM held-out evaluation) their trainer."""
    for callback in callbacks:
        if isinstance(getattr(callback, "heldout", None), TrainerVLLMHeldout):
            callback.heldout.attach(trainer)


def evaluate_checkpoint(checkpoint: Path, problems, think: str, max_tokens: int, out_dir: Path) -> dict:
    """Greedy evaluation of a saved checkpoint on `problems` with the transformers backend (the
    evaluator's own run folder: samples, results JSON and markdown); returns the headline numbers."""
    from recon.inference import load_backend
    from recon.inference.base import closing_backend

    with closing_backend(load_backend("hf", model=str(checkpoint), batch_size=HELDOUT_HF_BATCH)) as backend:
        return _evaluate(backend, problems, think, max_tokens, out_dir, checkpoint.name, "hf")


def _evaluate(backend, problems, think: str, max_tokens: int, out_dir: Path, label: str, backend_name: str) -> dict:
    from recon.evaluation import EvalConfig, evaluate

    config = EvalConfig(
        model=label, backend=backend_name, data="heldout", max_tokens=max_tokens, think=think, temperature=0.0, label=label
    )
    return headline(evaluate(backend, list(problems), config, out_dir, show_progress=False))


def headline(results: dict) -> dict:
    """The scalar numbers of the evaluator's overall results (accuracy, format rate, …)."""
    return {k: v for k, v in results["overall"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
