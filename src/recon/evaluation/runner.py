"""Run an evaluation into a run folder: `samples.jsonl` (append + flush, resumable), `results.json`, `results.md`."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recon.data.problem import Problem, stratified_slice
from recon.errors import UserError
from recon.runs import RunConflict, append_records, backend_identity, drop_records, open_run, read_appended_jsonl
from recon.grading import GRADER_VERSION, THINK_MODES, grade
from recon.evaluation.summary import RESULTS_FILE, summarize, write_results
from recon.inference.base import Backend, Completion, SamplingParams

SAMPLES_FILE = "samples.jsonl"

# Config fields that do not change any record, so a rerun with other values resumes the same run.
NOT_HASHED = ("limit", "categories", "chunk_size", "backend_options", "label")


@dataclass
class EvalConfig:
    """Everything that defines an evaluation run (recorded in `results.json`).

    `samples` completions per prompt (pass@1 averaged over them); `permutations` option orders per
    multiple-choice item (the original plus k−1 seeded shuffles, gold remapped)."""

    model: str = "smollm2"
    backend: str = "llamacpp"
    data: str = "recon-eval"
    limit: int | None = None
    categories: list[str] | None = None
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    permutations: int = 1
    think: str = "optional"
    seed: int = 0
    stop_at_answer: bool = True
    prefill_think: bool = False
    stop: list[str] = field(default_factory=list)
    chunk_size: int = 16
    backend_options: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    def __post_init__(self) -> None:
        if self.think not in THINK_MODES:
            raise ValueError(f"think must be one of {THINK_MODES}, got {self.think!r}")
        if self.samples < 1 or self.permutations < 1 or self.chunk_size < 1:
            raise ValueError("samples, permutations and chunk_size must be >= 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError("several samples need a temperature > 0 (greedy samples are identical)")
        self.sampling()  # temperature, top_p, max_tokens checked before a run folder is written

    def sampling(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.samples,
            seed=self.seed,
            stop=list(self.stop),
            stop_at_answer=self.stop_at_answer,
            prefill_think=self.prefill_think,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Unit:
    """One prompt to answer: a problem in one option order."""

    problem: Problem
    perm: int

    @property
    def item_key(self) -> str:
        """What seeds its samples (with the run seed and the sample index): the same texts in any chunk."""
        return f"{self.problem.id}#p{self.perm}"

    def key(self, sample: int) -> str:
        return f"{self.item_key}#s{sample}"


# ---------------------------------------------------------------- data


def load_eval_problems(data: str, hub_id: str | None = None) -> list[Problem]:
    """A dataset by its registry name (`recon-eval`, `recon-train`, `verified:DIR`, a JSONL path; see
    `recon.data.registry`), the `eval` part of a verified folder."""
    from recon.data.registry import load_problems

    return load_problems(data, part="eval", hub_id=hub_id)


def select_problems(problems: list[Problem], categories: list[str] | None, limit: int | None) -> list[Problem]:
    """Filter by category (unknown names fail loudly), then keep `limit` items stratified by category
    (`stratified_slice`: equal shares, whatever the file's order)."""
    if categories:
        known = {p.category for p in problems}
        unknown = sorted(set(categories) - known)
        if unknown:
            raise UserError(f"--categories: unknown categories {unknown}; available: {sorted(known)}")
        problems = [p for p in problems if p.category in set(categories)]
    return stratified_slice(problems, limit)


def build_units(problems: list[Problem], permutations: int, seed: int) -> list[Unit]:
    """Each problem in its original order, plus k−1 seeded option shuffles for multiple-choice items."""
    units = []
    for problem in problems:
        units.append(Unit(problem, 0))
        if permutations > 1 and problem.answer_type == "option":
            from recon.data.options import shuffle_options

            for perm in range(1, permutations):
                rng = random.Random(f"{seed}:{problem.id}:{perm}")
                units.append(Unit(shuffle_options(problem, rng), perm))
    return units


# ---------------------------------------------------------------- run folder


def hashed_config(config: EvalConfig) -> dict:
    """The settings that change records (the config less `NOT_HASHED`), the dataset by its one spelling
    (`canonical_data`)."""
    return {**{k: v for k, v in config.to_dict().items() if k not in NOT_HASHED}, "data": canonical_data(config.data)}


def canonical_data(data: str) -> str:
    """A dataset name as distill keys it (`recon.data.registry.canonical_name`): `eval` and `recon-eval` are
    one run, and so are a file or `verified:DIR` named by a relative or an absolute path. Any other name
    (the pipeline's own `verified`, training's `heldout`) stays as it is, never made a path of the working
    directory; the records' content is checked on resume anyway."""
    from recon.data.registry import canonical_name, is_verified, published_split

    if published_split(data) is not None or (is_verified(data) and data != "verified") or Path(data).expanduser().is_file():
        return canonical_name(data)
    return data


def run_identity(config: EvalConfig, backend_description: dict) -> dict:
    """What changes records: `hashed_config` and the backend's identity (resolved revision, chat template,
    every result-changing option). Item content is checked record by record on resume (`check_records`),
    so a larger `limit` extends a run."""
    return {
        "eval": hashed_config(config),
        "backend": backend_identity(backend_description, config.backend_options),
        "grader": GRADER_VERSION,
    }


def read_records(path: Path, repair: bool = False) -> list[dict]:
    """Records of a samples file; a torn last line (a killed run) is dropped, and cut off with `repair`."""
    return read_appended_jsonl(path, repair)[0]


def check_records(records: list[dict], units: list[Unit], samples: int, out_dir: Path) -> None:
    """Refuse to resume when an item already answered now has another prompt, gold, type or choices."""
    by_key = {u.key(s): u for u in units for s in range(samples)}
    for r in records:
        unit = by_key.get(r["key"])
        if unit is None:
            continue
        p = unit.problem
        if (r["prompt"], r["gold"], r["answer_type"], r["choices"]) != (p.messages, p.gold, p.answer_type, p.choices):
            raise RunConflict(
                f"{out_dir}: item {r['id']} changed since it was answered (prompt, gold or choices differ): the data is "
                "not the one this run used; use --out NEW for a new run, or --overwrite to replace it"
            )


def sample_record(unit: Unit, sample: int, completion: Completion, think: str) -> dict:
    p = unit.problem
    text = completion.full_text
    verdict = grade(text, p.gold, p.answer_type, p.choices, think=think)
    failed = completion.error is not None
    return {
        "key": unit.key(sample),
        "id": p.id,
        "category": p.category,
        "answer_type": p.answer_type,
        "perm": unit.perm,
        "sample": sample,
        "gold": p.gold,
        "choices": p.choices,
        "prompt": p.messages,
        "completion": completion.text,
        "reasoning": completion.reasoning,
        "predicted": verdict.predicted,
        "status": "error" if failed else verdict.status,
        "correct": False if failed else verdict.correct,
        "reward": None if failed else verdict.reward,
        "text_match": verdict.text_match,
        "reason": completion.error if failed else verdict.reason,
        "finish_reason": completion.finish_reason,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "completion_chars": len(text),
        "latency_s": round(completion.latency_s, 4),
        "error": completion.error,
    }


# ---------------------------------------------------------------- evaluate


def evaluate(
    backend: Backend,
    problems: list[Problem],
    config: EvalConfig,
    out_dir: str | Path,
    *,
    show_progress: bool = True,
    baselines_train: list[Problem] | None = None,
    retry_failed: bool = True,
    overwrite: bool = False,
) -> dict:
    """Evaluate `backend` on `problems` (already selected) and write the run folder; returns the results.

    Resumes a folder made with the same identity (`run_identity`; records already written are kept,
    missing ones generated) and refuses one made with another (`overwrite` clears it instead). With
    `retry_failed` (the default) records whose request failed are asked again. `baselines_train` fits
    the trivial baselines (default: the published train split, when available)."""

    out_dir = Path(out_dir)
    if not problems:
        raise ValueError("no problems to evaluate")
    ids = [p.id for p in problems]
    if len(set(ids)) != len(ids):
        raise ValueError("problem ids must be unique")
    description = backend.describe()
    identity = run_identity(config, description)
    with open_run(out_dir, "eval", identity, overwrite=overwrite, info={"results": RESULTS_FILE, "label": config.label}) as run:
        records = read_records(out_dir / SAMPLES_FILE, repair=True)
        units = build_units(problems, config.permutations, config.seed)
        check_records(records, units, config.samples, out_dir)
        if retry_failed:  # failed requests are asked again
            records = drop_records(out_dir / SAMPLES_FILE, records, lambda r: r["status"] == "error")
        timing = _generate(backend, units, records, config, out_dir, show_progress)
        if baselines_train is None:
            baselines_train = _published_train()
        results = summarize(
            records,
            problems,
            config,
            description,
            run_hash=run.manifest["key"][:16],
            baselines_train=baselines_train,
            timing=timing,
        )
        write_results(results, out_dir)
    return results


def _generate(backend: Backend, units: list[Unit], records: list[dict], config: EvalConfig, out_dir: Path, show_progress: bool) -> dict:
    """Answer the units without a record yet, appending each chunk's records (extends `records`);
    returns this session's timing."""
    done = {r["key"] for r in records}
    pending = [u for u in units if any(u.key(s) not in done for s in range(config.samples))]
    params = config.sampling()
    started = time.perf_counter()
    generated_tokens = 0

    bar = _progress_bar(len(units), len(units) - len(pending), show_progress)

    def on_progress(conversations: int, tokens: int) -> None:
        nonlocal generated_tokens
        generated_tokens += tokens
        bar.update(conversations)
        elapsed = max(time.perf_counter() - started, 1e-9)
        bar.set_postfix_str(f"{generated_tokens / elapsed:.1f} tok/s")

    try:
        with (out_dir / SAMPLES_FILE).open("a", encoding="utf-8") as fh:
            # A backend that schedules its own batches (vLLM) takes its `prompts_per_call` at once; chunks
            # only bound what a killed run loses.
            size = getattr(backend, "prompts_per_call", None) or config.chunk_size
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                outputs = backend.generate(
                    [u.problem.messages for u in chunk], params, progress=on_progress, keys=[u.item_key for u in chunk]
                )
                if len(outputs) != len(chunk) or any(len(o) != config.samples for o in outputs):
                    raise RuntimeError(f"backend {backend.name} returned the wrong number of completions")
                new = [
                    sample_record(unit, sample, completion, config.think)
                    for unit, completions in zip(chunk, outputs)
                    for sample, completion in enumerate(completions)
                    if unit.key(sample) not in done
                ]
                append_records(fh, new)  # one write per chunk: a kill leaves at most one torn line
                records.extend(new)
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    return {
        "generated_this_session": len(pending),
        "seconds": round(elapsed, 3),
        "completion_tokens": generated_tokens,
        "tokens_per_s": round(generated_tokens / elapsed, 2) if elapsed > 0 and pending else None,
        "items_per_s": round(len(pending) / elapsed, 3) if elapsed > 0 and pending else None,
    }


def _published_train() -> list[Problem] | None:
    try:
        from recon.data.published import load_split

        return load_split("train")
    except Exception:  # noqa: BLE001 - no published data: results say the baselines are missing
        return None


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="item", desc="eval", disable=not enabled, dynamic_ncols=True)
