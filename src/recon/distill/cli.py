"""`recon distill`: collect teacher chain-of-thought from an OpenAI-compatible server, keep the
traces the shared grader accepts, and write SFT data for `recon train sft`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    help="Distil teacher chain-of-thought from an OpenAI-compatible server into SFT data (graded, resumable).",
)

PUBLISHED_TRAIN = "recon-train"


def load_problems(data: str) -> list:
    """A dataset by its registry name (`recon-train`, `verified:DIR`, a problems JSONL; see `recon.data.registry`)."""
    from recon.data.registry import load_problems as load_named

    return load_named(data, part="train")


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from recon.distill.run import TABLE_COLUMNS, summary_rows

    table = Table(title="distillation (counts are teacher samples; kept rate = problems with a kept trace / problems done)")
    table.add_column("category")
    for header, _ in TABLE_COLUMNS:
        table.add_column(header, justify="right")
    rows = summary_rows(summary)
    for i, row in enumerate(rows):
        table.add_row(*row, style="bold" if i == len(rows) - 1 else None)
    console = Console()
    console.width = max(console.width, 140)  # keep every column readable in logs and narrow terminals
    console.print(table)


@app.callback(invoke_without_command=True)
def distill_command(
    teacher_url: str = typer.Option(..., help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"),
    teacher_model: str = typer.Option(..., help="model name the server expects (e.g. Qwen/QwQ-32B)"),
    data: str = typer.Option(..., help=f"problems JSONL, {PUBLISHED_TRAIN!r} (the published training set) or verified:DIR"),
    out: Path = typer.Option(..., help="run folder (created; rerun the same command to resume)"),
    samples: int = typer.Option(1, min=1, help="teacher samples per problem"),
    keep_all_correct: bool = typer.Option(False, "--keep-all-correct", help="keep every distinct correct trace, not just the first"),
    concurrency: int = typer.Option(8, min=1, help="teacher requests in flight at once"),
    max_tokens: int = typer.Option(8192, min=1, help="teacher completion budget (tokens)"),
    temperature: float = typer.Option(0.6, min=0.0, help="teacher sampling temperature"),
    top_p: float = typer.Option(0.95, help="teacher nucleus sampling"),
    seed: int = typer.Option(0, help="sampling seed sent to the teacher"),
    limit: Optional[int] = typer.Option(None, min=1, help="only the first N problems"),
    max_retries: int = typer.Option(4, min=0, help="retries per request on 429/5xx/timeouts (exponential backoff)"),
    timeout: float = typer.Option(600.0, min=0.1, help="seconds per request before it counts as a timeout"),
    retry_backoff: float = typer.Option(1.0, min=0.0, help="first retry delay in seconds (doubles each retry, jittered)"),
    max_consecutive_failures: int = typer.Option(
        20, min=0, help="stop after this many problems in a row failed outright (teacher down); 0 = never"
    ),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="on resume, ask again for problems whose request failed"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run in --out made with other settings"),
    progress: bool = typer.Option(True, help="show the progress bar"),
) -> None:
    """Distil teacher traces into `OUT/sft.jsonl` (+ `raw.jsonl`, `summary.json`, `summary.md`).
    The API key, if the server needs one, is read from OPENAI_API_KEY."""
    from recon.data.registry import canonical_name
    from recon.distill.run import DistillConfig, distill, openai_teacher
    from recon.errors import http_url, writable_folder
    from recon.runs import EXIT_FAILED_ITEMS

    http_url(teacher_url, "--teacher-url")
    writable_folder(out, "--out")
    try:
        config = DistillConfig(
            teacher_model=teacher_model,
            teacher_url=teacher_url,
            data=canonical_name(data),
            samples=samples,
            keep_all_correct=keep_all_correct,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            concurrency=concurrency,
            max_retries=max_retries,
            timeout_s=timeout,
            retry_backoff_s=retry_backoff,
            max_consecutive_failures=max_consecutive_failures,
            limit=limit,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    problems = load_problems(data)

    summary = distill(
        problems, openai_teacher(config), out, config, retry_failed=retry_failed, overwrite=overwrite, progress=progress, log=typer.echo
    )
    print_summary(summary)
    typer.echo(f"wrote {out / 'sft.jsonl'} ({summary['overall']['kept']} traces), raw.jsonl, summary.json, summary.md")
    if summary["stopped"]:
        typer.echo(f"error: stopped early: {summary['stopped']}", err=True)
        raise typer.Exit(EXIT_FAILED_ITEMS)
    if summary["overall"]["failed"]:
        typer.echo(
            f"error: {summary['overall']['failed']} of {summary['overall']['requested']} teacher requests failed "
            "(counted apart from wrong answers); rerun the same command to retry them",
            err=True,
        )
        raise typer.Exit(EXIT_FAILED_ITEMS)


if __name__ == "__main__":
    app()
