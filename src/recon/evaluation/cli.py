"""`recon eval`: evaluate a model on Recon problems; `recon eval compare RUN_A RUN_B`; `recon eval audit RUN… --problems F`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Evaluate a model (accuracy with CIs, failure rates, baselines, position robustness); "
    "`recon eval compare A B` for paired deltas.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(text).name if "/" in text or text.endswith(".jsonl") else text).strip("-")[:40]


def default_out_dir(config) -> Path:
    """`runs/eval/<model>_<backend>_<data>_<hash>`: the same command resumes, a changed one (settings or
    result-changing backend options) starts anew."""
    from recon.evaluation.runner import canonical_data, hashed_config
    from recon.runs import EXECUTION_OPTIONS, digest

    options = {k: v for k, v in config.backend_options.items() if k not in EXECUTION_OPTIONS}
    return Path("runs") / "eval" / f"{_slug(config.model)}_{config.backend}_{_slug(canonical_data(config.data))}_{digest([hashed_config(config), options])[:8]}"


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    model: str = typer.Option("smollm2", help="smollm2, an HF hub id, a model/LoRA-adapter folder or a .gguf file"),
    backend: str = typer.Option("hf", help="hf | llamacpp | openai | vllm"),
    data: str = typer.Option("recon-eval", help="recon-eval | recon-train | recon-sft-cot | verified:DIR | PATH.jsonl"),
    hub_id: Optional[str] = typer.Option(None, "--hub-id", help="read the published splits from this HF hub dataset (e.g. MasterZhou/Recon)"),
    limit: Optional[int] = typer.Option(None, help="N items, equal shares per category (stratified; after --categories)"),
    categories: Optional[str] = typer.Option(None, help="comma-separated category names"),
    samples: int = typer.Option(1, help="completions per prompt (pass@1 averaged over them; needs --temperature > 0)"),
    temperature: float = typer.Option(0.0, help="0 = greedy"),
    top_p: float = typer.Option(1.0),
    max_tokens: int = typer.Option(512),
    permutations: int = typer.Option(1, help="option orders per multiple-choice item (CircularEval when > 1)"),
    think: str = typer.Option("optional", help="required | optional | none: where the final answer is read"),
    prefill_think: bool = typer.Option(False, help="start the answer with '<think>\\n' (DeepSeek-R1 style)"),
    stop_at_answer: bool = typer.Option(True, help="stop a completion once its final boxed answer is complete"),
    seed: int = typer.Option(0),
    chunk_size: int = typer.Option(16, help="prompts per generate call (and per checkpoint write)"),
    option: list[str] = typer.Option([], "--backend-option", help="backend option KEY=VALUE (repeatable), e.g. base_url=…, batch_size=8; "
                                      "replicas=N: N copies of the backend, one per GPU, items split between them (each loads the "
                                      "whole model: a 7B takes ~15 GB on every GPU, plus a host process per copy)"),
    old_option: list[str] = typer.Option([], "--option", hidden=True, help="old name of --backend-option"),
    chat_template: Optional[Path] = typer.Option(None, help="Jinja chat template file (default: the model's own)"),
    label: Optional[str] = typer.Option(None, help="name of this run in tables"),
    out: Optional[Path] = typer.Option(None, help="run folder (default runs/eval/<model>_<backend>_<data>_<hash>)"),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="on resume, ask again for samples whose request failed"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run in --out made with other settings"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Evaluate a model; rerunning the same command resumes an interrupted run."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console

    from recon.evaluation.runner import SAMPLES_FILE, EvalConfig, evaluate, load_eval_problems, select_problems
    from recon.evaluation.summary import MARKDOWN_FILE, RESULTS_FILE
    from recon.data.problem import check_unique_ids
    from recon.errors import UserError, user_input, writable_folder
    from recon.inference import check_backend, load_backend, parse_backend_options
    from recon.runs import EXIT_FAILED_ITEMS

    console = Console(stderr=True)
    check_backend(backend)
    backend_options = parse_backend_options([*option, *old_option])
    if chat_template:
        if not chat_template.is_file():
            raise UserError(f"--chat-template {chat_template}: {'a folder, expected a file' if chat_template.is_dir() else 'no such file'}")
        backend_options["chat_template"] = str(chat_template)
    with user_input("recon eval"):
        config = EvalConfig(
            model=model,
            backend=backend,
            data=data,
            limit=limit,
            categories=[c.strip() for c in categories.split(",") if c.strip()] if categories else None,
            samples=samples,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            permutations=permutations,
            think=think,
            seed=seed,
            stop_at_answer=stop_at_answer,
            prefill_think=prefill_think,
            chunk_size=chunk_size,
            backend_options=backend_options,
            label=label,
        )
    problems = load_eval_problems(data, hub_id)
    check_unique_ids(problems, data)
    problems = select_problems(problems, config.categories, limit)
    out_dir = writable_folder(out or default_out_dir(config), "--out")
    runner = load_backend(backend, model, **backend_options)  # bad options refused before the run folder is written
    console.print(f"evaluating {model} via {backend} on {len(problems)} items → {out_dir}")
    results = evaluate(runner, problems, config, out_dir, show_progress=not quiet, retry_failed=retry_failed, overwrite=overwrite)
    typer.echo((out_dir / MARKDOWN_FILE).read_text())
    console.print(f"wrote {out_dir}/{SAMPLES_FILE}, {RESULTS_FILE}, {MARKDOWN_FILE}")
    overall = results["overall"]
    if overall["n_errors"]:
        console.print(
            f"[red]error:[/red] {overall['n_errors']} of {overall['n_samples']} requests failed "
            f"({len(results['failed_items'])} items, not scored as answers); rerun the same command to retry them"
        )
        raise typer.Exit(EXIT_FAILED_ITEMS)


@app.command()
def compare(
    run_a: Path = typer.Argument(..., help="baseline run folder"),
    run_b: Path = typer.Argument(..., help="run folder to compare against A"),
    json_out: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    seed: int = typer.Option(0),
) -> None:
    """Per-category accuracy deltas B − A with a paired bootstrap and McNemar's test."""
    from rich.console import Console

    from recon.evaluation.compare import compare_markdown, compare_runs

    try:
        comparison = compare_runs(run_a, run_b, seed=seed)
    except (FileNotFoundError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if json_out:
        typer.echo(json.dumps(comparison, indent=2))
    else:
        typer.echo(compare_markdown(comparison))


@app.command()
def audit(
    runs: list[Path] = typer.Argument(..., help="eval run folders (their samples.jsonl)"),
    problems: Path = typer.Option(..., "--problems", help="the problems JSONL those runs evaluated, with the solver's traces "
                                  "(meta.solution), e.g. runs/cpu-demo/data/taught_eval.jsonl"),
    json_out: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """The step audit: every step of each run's scratchpads scored against the solver's own trace, per category
    and step kind (correct / wrong / missing), so a reader sees which step fails."""
    from recon.data.problem import read_problems
    from recon.errors import UserError
    from recon.evaluation.runner import SAMPLES_FILE
    from recon.evaluation.trace_audit import audit_eval_dir, audit_markdown

    traced = {p.id: p for p in read_problems(problems) if p.meta.get("solution")}
    if not traced:
        raise UserError(f"{problems}: no problem has a worked solution (meta.solution) to audit against")
    audits = {}
    for run in runs:
        if not (run / SAMPLES_FILE).is_file():
            raise UserError(f"{run}: no {SAMPLES_FILE}; pass an eval run folder")
        result = audit_eval_dir(run, traced)
        if not result["items"]:
            raise UserError(f"{run}: none of its samples is an item of {problems} with a worked solution")
        audits[str(run)] = result
    typer.echo(json.dumps(audits, indent=2) if json_out else "\n".join(audit_markdown(audits)))
