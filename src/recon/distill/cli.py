"""`recon distill`: collect teacher chain-of-thought from an OpenAI-compatible server, keep the
traces the shared grader accepts, and write SFT data for `recon train sft`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, help=__doc__)

PUBLISHED_TRAIN = "recon-train"


def load_problems(data: str) -> list:
    """`recon-train` (the published 1,800 training questions) or a problems JSONL file."""
    if data == PUBLISHED_TRAIN:
        from recon.data.published import load_split

        return load_split("train")
    path = Path(data)
    if not path.is_file():
        raise typer.BadParameter(f"{data!r} is neither {PUBLISHED_TRAIN!r} nor a problems JSONL file", param_hint="--data")
    from recon.data.problem import read_problems

    return read_problems(path)


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="distillation summary (samples; kept rate = problems with a kept trace / problems done)")
    cols = ["problems", "done", "requested", "answered", "failed", "truncated", "wrong", "kept", "kept rate"]
    table.add_column("category")
    for c in cols:
        table.add_column(c, justify="right")

    def row(name: str, s: dict, style: str | None = None) -> None:
        v = s["verdicts"]
        rate = "-" if s["kept_rate"] is None else f"{s['kept_rate']:.1%}"
        cells = [s["problems"], s["done"], s["requested"], s["answered"], s["failed"], v["truncated"], v["wrong"], s["kept"], rate]
        table.add_row(name, *map(str, cells), style=style)

    for category, s in summary["per_category"].items():
        row(category, s)
    row("overall", summary["overall"], style="bold")
    Console().print(table)


@app.callback(invoke_without_command=True)
def distill_command(
    teacher_url: str = typer.Option(..., help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"),
    teacher_model: str = typer.Option(..., help="model name the server expects (e.g. Qwen/QwQ-32B)"),
    data: str = typer.Option(..., help=f"problems JSONL, or {PUBLISHED_TRAIN!r} for the published training set"),
    out: Path = typer.Option(..., help="run folder (created; rerun the same command to resume)"),
    samples: int = typer.Option(1, min=1, help="teacher samples per problem"),
    keep_all_correct: bool = typer.Option(False, help="keep every distinct correct trace, not just the first"),
    concurrency: int = typer.Option(8, min=1, help="problems in flight at once"),
    max_tokens: int = typer.Option(8192, min=1, help="teacher completion budget (tokens)"),
    temperature: float = typer.Option(0.6, min=0.0, help="teacher sampling temperature"),
    top_p: float = typer.Option(0.95, help="teacher nucleus sampling"),
    seed: int = typer.Option(0, help="sampling seed sent to the teacher"),
    limit: Optional[int] = typer.Option(None, min=1, help="only the first N problems"),
    max_retries: int = typer.Option(4, min=0, help="retries per request on 429/5xx/timeouts (exponential backoff)"),
    timeout: float = typer.Option(600.0, min=0.1, help="seconds per request before it counts as a timeout"),
    retry_failed: bool = typer.Option(False, help="on resume, ask again for problems whose request failed"),
    progress: bool = typer.Option(True, help="show the progress bar"),
) -> None:
    """Distil teacher traces into `OUT/sft.jsonl` (+ `raw.jsonl`, `summary.json`, `summary.md`).
    The API key, if the server needs one, is read from OPENAI_API_KEY."""
    from recon.distill.run import DistillConfig, distill
    from recon.distill.store import RunConflict

    try:
        config = DistillConfig(
            teacher_model=teacher_model,
            teacher_url=teacher_url,
            data=data if data == PUBLISHED_TRAIN else str(Path(data).resolve()),
            samples=samples,
            keep_all_correct=keep_all_correct,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            concurrency=concurrency,
            max_retries=max_retries,
            timeout_s=timeout,
            limit=limit,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    problems = load_problems(data)

    def backend():
        from recon.inference import load_backend

        # One backend per worker thread; it runs this problem's samples concurrently.
        return load_backend(
            "openai", model=teacher_model, base_url=teacher_url, concurrency=samples, max_retries=max_retries, timeout=timeout
        )

    try:
        summary = distill(problems, backend, out, config, retry_failed=retry_failed, progress=progress, log=typer.echo)
    except RunConflict as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    print_summary(summary)
    typer.echo(f"wrote {out / 'sft.jsonl'} ({summary['overall']['kept']} traces), raw.jsonl, summary.json, summary.md")


if __name__ == "__main__":
    app()
