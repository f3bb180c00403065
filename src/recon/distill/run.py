"""Distil teacher chain-of-thought: ask the teacher, keep the traces the shared grader accepts,
append everything to a resumable run folder, and summarise."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from recon.data.problem import Problem
from recon.distill.store import SUMMARY_JSON, SUMMARY_MD, RunStore, problem_fingerprint, run_identity
from recon.runs import open_run, write_atomic, write_json
from recon.distill.traces import VERDICTS, grading_gold, judge, normalized_trace


@dataclass
class DistillConfig:
    """Everything that defines a distillation run (recorded in `summary.json`; its identity in `run.json`)."""

    teacher_model: str
    teacher_url: str
    data: str
    samples: int = 1
    keep_all_correct: bool = False
    max_tokens: int = 8192
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int = 0
    concurrency: int = 8
    max_retries: int = 4
    timeout_s: float = 600.0
    retry_backoff_s: float = 1.0
    max_consecutive_failures: int = 20
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"--samples must be >= 1, got {self.samples}")
        if self.concurrency < 1:
            raise ValueError(f"--concurrency must be >= 1, got {self.concurrency}")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError("--samples > 1 needs --temperature > 0 (greedy samples are identical)")
        self.sampling()  # bad max_tokens/temperature/top_p fail here, before the run folder is touched

    def sampling(self):
        """The teacher's sampling parameters: `samples` completions per problem."""
        from recon.inference.base import SamplingParams

        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.samples,
            seed=self.seed,
            stop_at_answer=False,
        )

    @property
    def requests_per_problem(self) -> int:
        """A problem's samples are requested concurrently, up to the overall limit."""
        return min(self.samples, self.concurrency)

    @property
    def workers(self) -> int:
        """Problems in flight, so that at most `concurrency` requests are open at once."""
        return max(1, self.concurrency // self.requests_per_problem)


# A backend per worker thread: `generate(conversations, params) -> list[list[Completion]]`.
BackendFactory = Callable[[], Any]


def openai_teacher(config: DistillConfig) -> BackendFactory:
    """Backends for the teacher server (the shared `openai` backend: retries 429/5xx/timeouts with
    exponential backoff and records a request that still fails as a failed completion)."""

    def make():
        from recon.inference import load_backend

        return load_backend(
            "openai",
            model=config.teacher_model,
            base_url=config.teacher_url,
            concurrency=config.requests_per_problem,
            max_retries=config.max_retries,
            timeout=config.timeout_s,
            backoff=config.retry_backoff_s,
        )

    return make


def judge_samples(problem: Problem, completions: list[Any], config: DistillConfig) -> list[dict[str, Any]]:
    """Raw records for one problem's samples, each with its verdict. Without `keep_all_correct`
    only the first correct sample is kept (later ones are `extra_correct`); with it, every correct
    sample whose trace differs from the ones already kept (repeats are `duplicate`)."""
    gold = grading_gold(problem.meta, problem.gold)
    rows, seen = [], set()
    for index, c in enumerate(completions):
        j = judge(c.text, c.reasoning, c.finish_reason, c.error, gold, problem.answer_type, problem.choices)
        verdict = j.verdict
        if verdict == "kept":
            key = normalized_trace(j.trace.trace)
            if seen and not config.keep_all_correct:
                verdict = "extra_correct"
            elif key in seen:
                verdict = "duplicate"
            seen.add(key)
        rows.append(
            {
                "id": problem.id,
                "category": problem.category,
                "problem": problem_fingerprint(problem),
                "sample": index,
                "teacher": config.teacher_model,
                "text": c.text,
                "reasoning": c.reasoning,
                "finish_reason": c.finish_reason,
                "error": c.error,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "latency_s": round(c.latency_s, 3),
                "gold": gold,
                "verdict": verdict,
                "grade_status": j.grade_status,
                "predicted": j.predicted,
                "trace_source": j.trace.source if j.trace else None,
                "reason": j.reason,
            }
        )
    return rows


def summarize(problems: list[Problem], rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts per category and overall. Per sample: requested, answered (a response came back),
    failed (no response after retries), truncated, kept, and every verdict. Per problem: problems,
    done, problems_kept, kept_rate (= problems_kept / done)."""
    order = list(dict.fromkeys(p.category for p in problems))

    def empty() -> dict[str, Any]:
        counts: dict[str, Any] = dict.fromkeys(("problems", "done", "requested", "answered", "failed", "kept", "problems_kept"), 0)
        counts["verdicts"] = dict.fromkeys(VERDICTS, 0)
        return counts

    per: dict[str, dict[str, Any]] = {c: empty() for c in order}
    for p in problems:
        per[p.category]["problems"] += 1
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_problem.setdefault(r["id"], []).append(r)
    for group in by_problem.values():
        s = per.setdefault(group[0]["category"], empty())
        s["done"] += 1
        s["problems_kept"] += any(r["verdict"] == "kept" for r in group)
        for r in group:
            s["requested"] += 1
            s["failed"] += bool(r["error"])
            s["answered"] += not r["error"]
            s["kept"] += r["verdict"] == "kept"
            s["verdicts"][r["verdict"]] += 1
    total = empty()
    for s in per.values():
        for k, v in s.items():
            if k == "verdicts":
                for verdict, n in v.items():
                    total["verdicts"][verdict] += n
            else:
                total[k] += v
    for s in [*per.values(), total]:
        s["kept_rate"] = round(s["problems_kept"] / s["done"], 4) if s["done"] else None
    return {"overall": total, "per_category": per}


# The summary table: problems, then samples by outcome (answered = truncated + no trace + bad format
# + wrong + correct, where correct = kept + correct-but-not-kept), then the kept rate per problem.
TABLE_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("problems", lambda s: s["problems"]),
    ("done", lambda s: s["done"]),
    ("requested", lambda s: s["requested"]),
    ("answered", lambda s: s["answered"]),
    ("failed", lambda s: s["failed"]),
    ("truncated", lambda s: s["verdicts"]["truncated"]),
    ("no trace", lambda s: s["verdicts"]["no_trace"]),
    ("bad format", lambda s: s["verdicts"]["format_violation"] + s["verdicts"]["no_answer"]),
    ("wrong", lambda s: s["verdicts"]["wrong"]),
    ("kept", lambda s: s["kept"]),
    ("kept rate", lambda s: "-" if s["kept_rate"] is None else f"{s['kept_rate']:.1%}"),
]


def summary_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row of table cells per category, then `overall`."""
    named = [*summary["per_category"].items(), ("overall", summary["overall"])]
    return [[name, *(str(get(s)) for _, get in TABLE_COLUMNS)] for name, s in named]


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a markdown table (one row per category, then overall)."""
    lines = ["| category | " + " | ".join(h for h, _ in TABLE_COLUMNS) + " |", "|---|" + "---:|" * len(TABLE_COLUMNS)]
    rows = summary_rows(summary)
    for i, row in enumerate(rows):
        name = f"**{row[0]}**" if i == len(rows) - 1 else row[0]
        lines.append(f"| {name} | " + " | ".join(row[1:]) + " |")
    return "\n".join(lines) + "\n"


def _run_pool(
    todo: list[Problem],
    work: Callable[[Problem], list[Any]],
    record: Callable[[Problem, list[Any]], str | None],
    config: DistillConfig,
) -> str | None:
    """Ask for `todo` with `config.workers` problems in flight (few, so a kill loses little work),
    recording each as it finishes. Stops early, returning why, after `max_consecutive_failures`
    problems in a row failed outright (the teacher is down or misconfigured)."""
    pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="distill")
    queue = iter(todo)
    running: dict[Future, Problem] = {}
    streak, stopped = 0, None
    try:
        while True:
            while stopped is None and len(running) < config.workers and (problem := next(queue, None)) is not None:
                running[pool.submit(work, problem)] = problem
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                problem = running.pop(future)
                error = record(problem, future.result())
                streak = streak + 1 if error else 0
                if config.max_consecutive_failures and streak >= config.max_consecutive_failures and stopped is None:
                    stopped = (
                        f"{streak} problems in a row got no answer from the teacher (last: {error}); "
                        "check --teacher-url/--teacher-model, then rerun (failed problems are asked again)"
                    )
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not wait for open requests
        raise
    pool.shutdown()
    return stopped


class _Progress:
    """A rich progress bar showing kept-rate and failures so far."""

    def __init__(self, total: int, done: int, kept: int, failed: int, enabled: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.done, self.kept, self.failed = done, kept, failed
        self.bar = Progress(
            TextColumn("distill"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("kept {task.fields[rate]} · failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not enabled,
        )
        self.task = self.bar.add_task("distill", total=total, completed=done, rate=self._rate(), failed=failed)

    def _rate(self) -> str:
        return f"{self.kept}/{self.done} ({self.kept / self.done:.0%})" if self.done else "-"

    def update(self, kept: bool, failed: int) -> None:
        self.done += 1
        self.kept += kept
        self.failed += failed
        self.bar.update(self.task, advance=1, rate=self._rate(), failed=self.failed)

    def __enter__(self) -> "_Progress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)


def distill(
    problems: list[Problem],
    backend_factory: BackendFactory,
    out_dir: str | Path,
    config: DistillConfig,
    *,
    retry_failed: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or resume) a distillation into `out_dir`; returns the summary (also written to
    `summary.json` and `summary.md`). Problems already in `raw.jsonl` are skipped; with
    `retry_failed` (the default), problems with a failed sample are asked again. A folder holding a
    run with another identity (`store.run_identity`) is refused, or cleared with `overwrite`."""
    repeated = [pid for pid, n in Counter(p.id for p in problems).items() if n > 1]
    if repeated:
        raise ValueError(f"problem ids must be unique; {repeated[0]!r} appears more than once")
    all_problems = problems
    if config.limit is not None:
        problems = problems[: config.limit]
    params = config.sampling()
    with open_run(out_dir, "distill", run_identity(asdict(config)), overwrite=overwrite, info={"results": SUMMARY_JSON}):
        return _distill(problems, all_problems, backend_factory, Path(out_dir), config, params, retry_failed, progress, log)


def _distill(problems, all_problems, backend_factory, out: Path, config: DistillConfig, params, retry_failed: bool, progress: bool, log) -> dict[str, Any]:
    """`distill` inside its locked run folder."""
    store = RunStore(out)
    rows, repaired = store.open(config.samples, all_problems, retry_failed=retry_failed)
    done = {r["id"] for r in rows}
    todo = [p for p in problems if p.id not in done]
    if any(repaired.values()) or done:
        log(
            f"resuming {out}: {len(done)} problems done, {len(todo)} to go"
            f" (repaired: {repaired['torn_lines']} torn line, {repaired['incomplete_problems']} incomplete problem(s);"
            f" retrying {repaired['retried_problems']} failed)"
        )
    local = threading.local()

    def work(problem: Problem) -> list[Any]:
        if not hasattr(local, "backend"):
            local.backend = backend_factory()
        return local.backend.generate([problem.messages], params)[0]

    kept_before = len({r["id"] for r in rows if r["verdict"] == "kept"})
    failed_before = sum(bool(r["error"]) for r in rows)
    stopped = None
    try:
        with _Progress(len(done) + len(todo), len(done), kept_before, failed_before, progress) as bar:

            def record(problem: Problem, completions: list[Any]) -> str | None:
                """Append one problem's results; returns the error when every sample failed."""
                if len(completions) != config.samples:
                    raise RuntimeError(
                        f"backend returned {len(completions)} completions for {problem.id!r}, expected {config.samples}"
                    )
                new = judge_samples(problem, completions, config)
                store.append(problem, new)
                rows.extend(new)
                failed = sum(bool(r["error"]) for r in new)
                bar.update(any(r["verdict"] == "kept" for r in new), failed)
                return new[-1]["error"] if failed == len(new) else None

            stopped = _run_pool(todo, work, record, config)
    finally:
        store.close()
    if stopped:
        log(f"stopped early: {stopped}")
    # A rerun with a smaller --limit still reports everything the folder holds.
    in_run = {p.id for p in problems} | {r["id"] for r in rows}
    summary = summarize([p for p in all_problems if p.id in in_run], rows)
    summary["config"] = asdict(config)
    summary["repaired"] = repaired
    summary["stopped"] = stopped
    write_json(out / SUMMARY_JSON, summary)
    write_atomic(out / SUMMARY_MD, summary_markdown(summary))
    return summary
