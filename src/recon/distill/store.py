"""The run folder: `raw.jsonl` (every teacher sample, the source of truth), `sft.jsonl` (derived
from it), `summary.json`/`summary.md`, and the run manifest (`recon.runs`), whose identity is
`run_identity`: the teacher, its sampling, a content hash of the problems and the grader version.

Crash safety: all samples of one problem are appended in one write and flushed, so after a
`kill -9` the only damage is a torn tail. `open_run` cuts it off (and any problem whose samples are
incomplete), then rebuilds `sft.jsonl` from `raw.jsonl`, so a rerun neither loses nor repeats a record."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from recon.data.problem import Problem
from recon.distill.traces import sft_completion, split_trace
from recon.grading import GRADER_VERSION
from recon.runs import RunConflict, append_records, digest, read_appended_jsonl, write_atomic

RAW = "raw.jsonl"
SFT = "sft.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"

# Settings that change what a record means (the run identity); a rerun into the same folder must not
# change them. Where the teacher runs (`teacher_url`), concurrency, retries and `limit` are free to change;
# the data is checked problem by problem (`problem_fingerprint` in every raw row), so more problems extend a run.
IDENTITY_KEYS = ("teacher_model", "samples", "keep_all_correct", "max_tokens", "temperature", "top_p", "seed")


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in IDENTITY_KEYS} | {"grader": GRADER_VERSION}


def problem_fingerprint(problem: Problem) -> str:
    """A hash of what the teacher is asked and graded against (prompt, gold, type, choices, meta)."""
    return digest([problem.messages, problem.gold, problem.answer_type, problem.choices, problem.meta])[:16]


def sft_record(problem: Problem, raw: dict[str, Any]) -> dict[str, Any]:
    """A conversational prompt/completion record for `recon train sft` (TRL's standard format)."""
    parts = split_trace(raw["text"], raw.get("reasoning"))
    return {
        "id": problem.id,
        "category": problem.category,
        "sample": raw["sample"],
        "prompt": problem.messages,
        "completion": [{"role": "assistant", "content": sft_completion(parts.trace, raw["gold"])}],
    }


def dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


class RunStore:
    """Appends results to an output folder; one instance per process."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.raw_path = self.dir / RAW
        self.sft_path = self.dir / SFT
        self._raw = None
        self._sft = None

    def open(
        self, samples: int, problems: list[Problem], *, retry_failed: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Repair a torn tail, drop incomplete problems and (with `retry_failed`) failed ones, rebuild
        `sft.jsonl`, and open both files for appending. The caller holds the run folder (`open_run`).

        Returns the raw rows kept and what was repaired: `torn_lines`, `incomplete_problems`,
        `retried_problems`."""
        rows, torn = read_appended_jsonl(self.raw_path)
        by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_id[row["id"]].append(row)
        problems_by_id = {p.id: p for p in problems}
        unknown = sorted(set(by_id) - set(problems_by_id))
        if unknown:
            raise RunConflict(
                f"{self.raw_path} has {len(unknown)} problem ids not in the data (e.g. {unknown[0]!r}); "
                "use the same --data or a new --out"
            )
        changed = sorted(pid for pid, group in by_id.items() if group[0].get("problem") != problem_fingerprint(problems_by_id[pid]))
        if changed:
            raise RunConflict(
                f"{self.raw_path}: problem {changed[0]!r} (and {len(changed) - 1} more) changed since it was distilled: the data "
                "is not the one this run used; use --out NEW for a new run, or --overwrite to replace it"
            )
        incomplete = {pid for pid, group in by_id.items() if sorted(r["sample"] for r in group) != list(range(samples))}
        failed = {pid for pid, group in by_id.items() if any(r.get("error") for r in group)} if retry_failed else set()
        drop = incomplete | failed
        kept_rows = [r for r in rows if r["id"] not in drop]
        if torn or drop:
            write_atomic(self.raw_path, (dumps(r) for r in kept_rows))
        write_atomic(
            self.sft_path,
            (dumps(sft_record(problems_by_id[r["id"]], r)) for r in kept_rows if r["verdict"] == "kept"),
        )
        self._raw = self.raw_path.open("a", encoding="utf-8")
        self._sft = self.sft_path.open("a", encoding="utf-8")
        repaired = {
            "torn_lines": int(torn),
            "incomplete_problems": len(incomplete),
            "retried_problems": len(failed - incomplete),
        }
        return kept_rows, repaired

    def append(self, problem: Problem, raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record one finished problem: its samples in one write, then its kept SFT records."""
        assert self._raw is not None and self._sft is not None, "RunStore.open() first"
        append_records(self._raw, raw_rows)
        sft = [sft_record(problem, r) for r in raw_rows if r["verdict"] == "kept"]
        append_records(self._sft, sft)
        return sft

    def close(self) -> None:
        for fh in (self._raw, self._sft):
            if fh is not None:
                fh.close()
        self._raw = self._sft = None
