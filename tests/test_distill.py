"""`recon distill` logic: trace splitting, the keep/reject verdicts, SFT records, the crash-safe
run folder and resume, with an in-process backend (the server-backed tests are in test_distill_server.py)."""

from __future__ import annotations

import json
import threading

import pytest

from recon.data.problem import Problem, write_jsonl
from recon.distill import DistillConfig, RunConflict, distill, judge, sft_completion, split_trace
from recon.distill.run import judge_samples
from recon.grading import grade
from recon.inference.base import Completion

CHOICES = ["Cooperate forever", "Defect forever", "Alternate", "None of these"]


def make_problem(i: int, category: str = "enforceability", **meta) -> Problem:
    options = "\n".join(f"Option {k + 1}: {c}" for k, c in enumerate(CHOICES))
    question = f"Problem {i}: which outcome is enforceable?"
    return Problem(
        id=f"p{i}",
        category=category,
        source="test",
        question=question,
        choices=CHOICES,
        answer_type="option",
        gold="Option 2: Defect forever",
        messages=[{"role": "user", "content": f"{question}\n\nOptions:\n{options}"}],
        meta=meta,
    )


def right(i: int) -> Completion:
    return Completion(text=f"<think>\nStep {i}: defecting is the one-shot equilibrium.\n</think>\n\n\\boxed{{Option 2: Defect forever}}")


WRONG = Completion(text="<think>\ncooperation pays\n</think>\n\\boxed{Option 1: Cooperate forever}")


class FakeBackend:
    """Scripted completions per problem id (read from the prompt), one list per call."""

    def __init__(self, script, calls: list | None = None, gate: threading.Event | None = None):
        self.script = script
        self.calls = calls if calls is not None else []
        self.gate = gate

    def generate(self, conversations, params, progress=None):
        out = []
        for conv in conversations:
            pid = "p" + conv[-1]["content"].split(":")[0].split()[-1]
            self.calls.append(pid)
            if self.gate is not None and not self.gate.wait(timeout=10):
                raise RuntimeError("gate never opened")
            out.append([self.script(pid, k) for k in range(params.n)])
        return out


def config(tmp_path, **kw) -> DistillConfig:
    base = dict(teacher_model="teacher", teacher_url="http://unused", data=str(tmp_path / "d.jsonl"), concurrency=2)
    base.update(kw)
    return DistillConfig(**base)


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- traces ---------------------------------------------------------------------------------


def test_split_trace_sources():
    assert split_trace("\\boxed{Yes}", "I reason.") == split_trace("\\boxed{Yes}", " I reason. ")
    t = split_trace("\\boxed{Yes}", "I reason.")
    assert (t.trace, t.answer, t.source) == ("I reason.", "\\boxed{Yes}", "reasoning_content")
    t = split_trace("<think>\nI reason.\n</think>\n\n\\boxed{Yes}")
    assert (t.trace, t.answer, t.source) == ("I reason.", "\\boxed{Yes}", "think_block")
    # DeepSeek-R1 templates prefill `<think>`: the content starts inside the trace.
    t = split_trace("I reason.\n</think>\n\\boxed{Yes}")
    assert (t.trace, t.source) == ("I reason.", "think_block")
    t = split_trace("\\boxed{Yes}", None)
    assert (t.trace, t.source) == ("", "none")
    assert split_trace("<think></think>\\boxed{Yes}").source == "none"  # an empty trace is no trace


def test_judge_verdicts_and_verified_gold():
    gold, kind = "Option 2: Defect forever", "option"
    ok = right(0)
    assert judge(ok.text, None, "stop", None, gold, kind, CHOICES).verdict == "kept"
    assert judge("\\boxed{Option 2: Defect forever}", "trace", "stop", None, gold, kind, CHOICES).verdict == "kept"
    assert judge(WRONG.text, None, "stop", None, gold, kind, CHOICES).verdict == "wrong"
    assert judge(ok.text, None, "length", None, gold, kind, CHOICES).verdict == "truncated"
    assert judge("", None, "stop", "HTTP 500", gold, kind, CHOICES).verdict == "failed"
    assert judge("\\boxed{Option 2}", None, "stop", None, gold, kind, CHOICES).verdict == "no_trace"
    # a box inside the trace would teach boxing while thinking: the grader calls it a violation
    boxed_in_trace = "<think>\\boxed{Option 2}</think>\\boxed{Option 2: Defect forever}"
    assert judge(boxed_in_trace, None, "stop", None, gold, kind, CHOICES).verdict == "format_violation"
    assert judge("<think>hmm</think> no idea", None, "stop", None, gold, kind, CHOICES).verdict == "no_answer"
    # solver-verified gold wins over the published label
    p = make_problem(0, verified_gold="Option 1: Cooperate forever")
    rows = judge_samples(p, [right(0), WRONG], DistillConfig("t", "u", "d", samples=2))
    assert [r["verdict"] for r in rows] == ["wrong", "kept"]
    assert rows[1]["gold"] == "Option 1: Cooperate forever"


def test_sft_completion_is_what_the_grader_accepts():
    text = sft_completion("  a long trace \n", "Option 2: Defect forever")
    assert text == "<think>\na long trace\n</think>\n\n\\boxed{Option 2: Defect forever}"
    g = grade(text, "Option 2: Defect forever", "option", CHOICES)
    assert g.correct and g.status == "exact"


def test_keep_first_or_all_distinct_correct():
    p = make_problem(0)
    samples = [WRONG, right(1), right(1), right(2)]
    first = judge_samples(p, samples, DistillConfig("t", "u", "d", samples=4))
    assert [r["verdict"] for r in first] == ["wrong", "kept", "extra_correct", "extra_correct"]
    every = judge_samples(p, samples, DistillConfig("t", "u", "d", samples=4, keep_all_correct=True))
    assert [r["verdict"] for r in every] == ["wrong", "kept", "duplicate", "kept"]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        DistillConfig("t", "u", "d", samples=3, temperature=0)
    with pytest.raises(ValueError, match="samples"):
        DistillConfig("t", "u", "d", samples=0)


# --- the run folder ---------------------------------------------------------------------------


def script_mixed(pid: str, k: int) -> Completion:
    n = int(pid[1:])
    if n % 4 == 1:
        return WRONG
    if n % 4 == 2:
        return Completion(text="", finish_reason="error", error="HTTP 500 after 4 retries")
    return right(n * 10 + k)


def test_distill_writes_consistent_files(tmp_path):
    problems = [make_problem(i, "enforceability" if i < 5 else "trigger") for i in range(8)]
    out = tmp_path / "run"
    summary = distill(problems, lambda: FakeBackend(script_mixed), out, config(tmp_path), progress=False, log=lambda m: None)
    raw, sft = read(out / "raw.jsonl"), read(out / "sft.jsonl")
    assert sorted(r["id"] for r in raw) == sorted(p.id for p in problems)
    kept_ids = {"p0", "p3", "p4", "p7"}
    assert {r["id"] for r in sft} == kept_ids and len(sft) == 4
    rec = next(r for r in sft if r["id"] == "p3")
    assert rec["prompt"] == make_problem(3).messages
    assert rec["completion"] == [{"role": "assistant", "content": sft_completion("Step 30: defecting is the one-shot equilibrium.", "Option 2: Defect forever")}]
    o = summary["overall"]
    assert (o["problems"], o["requested"], o["answered"], o["failed"], o["kept"]) == (8, 8, 6, 2, 4)
    assert o["verdicts"]["wrong"] == 2 and o["kept_rate"] == 0.5
    assert summary["per_category"]["trigger"]["kept"] == 1 and summary["per_category"]["trigger"]["failed"] == 1
    assert json.loads((out / "summary.json").read_text())["overall"] == o
    assert "| **overall** | 8 | 8 | 8 | 6 | 2 | 0 | 0 | 0 | 2 | 4 | 50.0% |" in (out / "summary.md").read_text()


def test_resume_repairs_a_torn_tail_and_skips_done(tmp_path):
    problems = [make_problem(i) for i in range(6)]
    out = tmp_path / "run"
    cfg = config(tmp_path, samples=2, temperature=0.7)
    distill(problems[:3], lambda: FakeBackend(lambda pid, k: right(k)), out, cfg, progress=False, log=lambda m: None)
    # simulate kill -9 in the middle of writing the last problem's two samples (sft.jsonl has it)
    raw_path = out / "raw.jsonl"
    lines = raw_path.read_text().splitlines(keepends=True)
    assert len(lines) == 6
    torn = json.loads(lines[5])["id"]
    raw_path.write_text("".join(lines[:5]) + lines[5][:20])
    calls: list = []
    summary = distill(problems, lambda: FakeBackend(lambda pid, k: right(k), calls), out, cfg, progress=False, log=lambda m: None)
    assert sorted(calls) == sorted([torn, "p3", "p4", "p5"])  # the torn problem is asked again, the others skipped
    raw, sft = read(raw_path), read(out / "sft.jsonl")
    assert sorted((r["id"], r["sample"]) for r in raw) == [(f"p{i}", k) for i in range(6) for k in range(2)]
    assert sorted(r["id"] for r in sft) == [f"p{i}" for i in range(6)]
    assert summary["overall"]["requested"] == 12 and summary["repaired"]["incomplete_problems"] == 1


def test_retry_failed_and_config_conflict(tmp_path):
    problems = [make_problem(i) for i in range(4)]
    out = tmp_path / "run"
    cfg = config(tmp_path)
    first = distill(problems, lambda: FakeBackend(script_mixed), out, cfg, progress=False, log=lambda m: None)
    assert first["overall"]["failed"] == 1
    calls: list = []
    kept = distill(
        problems, lambda: FakeBackend(lambda pid, k: right(k), calls), out, cfg, retry_failed=False, progress=False, log=lambda m: None
    )
    assert calls == [] and kept["overall"] == first["overall"]  # --no-retry-failed: nothing to do
    retried = distill(problems, lambda: FakeBackend(lambda pid, k: right(k), calls), out, cfg, progress=False, log=lambda m: None)
    assert calls == ["p2"]
    assert retried["overall"]["failed"] == 0 and retried["overall"]["kept"] == 3
    assert sorted(r["id"] for r in read(out / "raw.jsonl")) == ["p0", "p1", "p2", "p3"]
    with pytest.raises(RunConflict, match="samples"):
        distill(problems, lambda: FakeBackend(script_mixed), out, config(tmp_path, samples=2), progress=False)


def test_resume_under_another_grader_version_is_refused(tmp_path, monkeypatch):
    problems = [make_problem(i) for i in range(2)]
    out, cfg = tmp_path / "run", config(tmp_path)
    distill(problems, lambda: FakeBackend(script_mixed), out, cfg, progress=False, log=lambda m: None)
    monkeypatch.setattr("recon.distill.store.GRADER_VERSION", "another")
    with pytest.raises(RunConflict, match="grader"):
        distill(problems, lambda: FakeBackend(script_mixed), out, cfg, progress=False, log=lambda m: None)


def test_bounded_concurrency(tmp_path):
    problems = [make_problem(i) for i in range(6)]
    gate, calls = threading.Event(), []
    result = {}

    def run():
        result["s"] = distill(
            problems, lambda: FakeBackend(lambda pid, k: right(k), calls, gate), tmp_path / "run", config(tmp_path, concurrency=3),
            progress=False, log=lambda m: None,
        )

    worker = threading.Thread(target=run)
    worker.start()
    import time

    deadline = time.time() + 5
    while len(calls) < 3 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(calls) == 3  # three in flight, the rest wait
    gate.set()
    worker.join(10)
    assert result["s"]["overall"]["kept"] == 6


def test_problems_jsonl_round_trip_for_cli_loader(tmp_path):
    from recon.distill.cli import load_problems

    path = tmp_path / "d.jsonl"
    write_jsonl([make_problem(i) for i in range(3)], path)
    assert [p.id for p in load_problems(str(path))] == ["p0", "p1", "p2"]
    assert len(load_problems("recon-train")) == 1800


def test_sft_output_trains_with_recon_train_sft(tmp_path, tiny_model_dir):
    """The issue's bar: `sft.jsonl` goes into `recon train sft` unchanged (one step on the tiny model)."""
    import math

    from recon.training.data import sft_rows
    from recon.training.sft import main as train_sft

    out = tmp_path / "run"
    distill([make_problem(i) for i in range(4)], lambda: FakeBackend(lambda pid, k: right(k)), out, config(tmp_path), progress=False, log=lambda m: None)
    sft_path = out / "sft.jsonl"
    assert sft_rows(str(sft_path)) == [{"prompt": r["prompt"], "completion": r["completion"]} for r in read(sft_path)]
    result = train_sft(
        ["--config", "recipes/cpu/smollm2/sft.yaml", "--model_name_or_path", str(tiny_model_dir), "--dataset", str(sft_path),
         "--output_dir", str(tmp_path / "sft"), "--max_steps", "1", "--heldout_size", "0", "--save_strategy", "no",
         "--max_train_samples", "4", "--max_length", "256", "--per_device_train_batch_size", "2"]  # fmt: skip
    )
    assert result["global_step"] == 1 and math.isfinite(result["train_loss"]), result
