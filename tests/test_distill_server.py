"""`recon distill` against real HTTP servers: a fault-injecting fake (429/500/hangs, with and without
`reasoning_content`, truncated output), a `kill -9` mid-run then resume, and (slow) a real llama.cpp
server with SmolLM2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeOpenAIServer, Reply
from recon.data.problem import Problem, read_problems, write_jsonl
from recon.distill import judge
from recon.distill.cli import app
from recon.grading import grade
from recon.inference.base import item_keys, item_seed

CHOICES = ["Cooperate forever", "Defect forever", "Alternate", "None of these"]
GOLD = "Option 2: Defect forever"
REPO = Path(__file__).resolve().parents[1]


def make_problem(i: int, scenario: str) -> Problem:
    question = f"Problem {i} [{scenario}]: which outcome is enforceable?"
    options = "\n".join(f"Option {k + 1}: {c}" for k, c in enumerate(CHOICES))
    return Problem(
        id=f"p{i}",
        category="enforceability" if i % 2 else "trigger",
        source="test",
        question=question,
        choices=CHOICES,
        answer_type="option",
        gold=GOLD,
        messages=[{"role": "user", "content": f"{question}\n\nOptions:\n{options}"}],
    )


def scenario_of(body: dict) -> str:
    return body["messages"][-1]["content"].split("[", 1)[1].split("]", 1)[0]


TRACE = "Defection is the stage-game equilibrium and the discount factor is too low to sustain cooperation."
GOOD_REASONING = Reply(content=f"\\boxed{{{GOLD}}}", reasoning=TRACE)
GOOD_THINK = Reply(content=f"<think>\n{TRACE}\n</think>\n\n\\boxed{{{GOLD}}}")
HANG_S = 3.0  # longer than the client timeout below


def fault_responder(body: dict, attempt: int) -> Reply:
    """Each problem's scenario is written in its prompt; `attempt` counts retries of that prompt."""
    s = scenario_of(body)
    script = {
        "reasoning": GOOD_REASONING,
        "think": GOOD_THINK,
        "wrong": Reply(content="<think>\ncooperate\n</think>\n\\boxed{Option 1: Cooperate forever}"),
        "truncated": Reply(content=f"<think>\n{TRACE[:30]}", finish_reason="length"),
        "no_trace": Reply(content=f"\\boxed{{{GOLD}}}"),
        "429_once": Reply.error(429) if attempt == 0 else GOOD_REASONING,
        "500_twice": Reply.error(500) if attempt < 2 else GOOD_THINK,
        "500_always": Reply.error(500),
        "hang_once": Reply.hang(HANG_S) if attempt == 0 else GOOD_THINK,
        "hang_always": Reply.hang(HANG_S),
        "400": Reply.error(400),  # not retryable: fails at once
    }
    return script[s]


FAULTS = ["reasoning", "think", "reasoning", "wrong", "truncated", "no_trace", "429_once", "500_twice", "500_always", "hang_once", "hang_always", "400"]
EXPECTED = {"requested": 12, "answered": 9, "failed": 3, "kept": 6}
EXPECTED_VERDICTS = {"kept": 6, "wrong": 1, "truncated": 1, "no_trace": 1, "failed": 3}


def cli_args(url: str, data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--teacher-url", url, "--teacher-model", "fake-teacher", "--data", str(data), "--out", str(out),
        "--max-retries", "2", "--timeout", "1", "--retry-backoff", "0.05", "--no-progress", *extra,
    ]  # fmt: skip


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fault_injection_counts_match(tmp_path):
    problems = [make_problem(i, s) for i, s in enumerate(FAULTS)]
    data, out = tmp_path / "problems.jsonl", tmp_path / "run"
    write_jsonl(problems, data)
    with FakeOpenAIServer(fault_responder) as server:
        result = CliRunner().invoke(app, cli_args(server.url, data, out, "--concurrency", "4", "--temperature", "0"))
    assert result.exit_code == 3, result.output  # finished, but with failed requests
    assert "3 of 12 teacher requests failed" in result.output
    summary = json.loads((out / "summary.json").read_text())
    overall = summary["overall"]
    assert {k: overall[k] for k in EXPECTED} == EXPECTED
    assert {k: v for k, v in overall["verdicts"].items() if v} == EXPECTED_VERDICTS
    assert "overall" in result.output and "kept" in result.output  # the printed table

    raw = {r["id"]: r for r in read(out / "raw.jsonl")}
    assert len(raw) == len(problems)
    by_scenario = {FAULTS[int(pid[1:])]: r for pid, r in raw.items()}
    assert by_scenario["reasoning"]["trace_source"] == "reasoning_content"
    assert by_scenario["think"]["trace_source"] == "think_block"
    assert by_scenario["truncated"]["finish_reason"] == "length"
    assert "429" not in (by_scenario["429_once"]["error"] or "")  # recovered by a retry
    assert "HTTP 500" in by_scenario["500_always"]["error"] and "3 attempts" in by_scenario["500_always"]["error"]
    assert "Timeout" in by_scenario["hang_always"]["error"]
    assert "HTTP 400" in by_scenario["400"]["error"] and "1 attempt" in by_scenario["400"]["error"]

    sft = read(out / "sft.jsonl")
    assert sorted(r["id"] for r in sft) == sorted(pid for pid, r in raw.items() if r["verdict"] == "kept")
    for rec in sft:
        assert rec["prompt"] == problems[int(rec["id"][1:])].messages
        [turn] = rec["completion"]
        assert turn["role"] == "assistant"
        assert turn["content"] == f"<think>\n{TRACE}\n</think>\n\n\\boxed{{{GOLD}}}"
        assert grade(turn["content"], GOLD, "option", CHOICES).status == "exact"

    # a rerun asks only the three failed problems again (all fail again here); --no-retry-failed asks none
    with FakeOpenAIServer(fault_responder) as server:
        again = CliRunner().invoke(app, cli_args(server.url, data, out, "--concurrency", "4", "--temperature", "0"))
        asked = {scenario_of({"messages": json.loads(key)}) for key, _, _ in server.calls}
        requests = len(server.calls)
        kept = CliRunner().invoke(app, cli_args(server.url, data, out, "--concurrency", "4", "--temperature", "0", "--no-retry-failed"))
        assert len(server.calls) == requests  # nothing asked again
    assert again.exit_code == 3 and kept.exit_code == 3, again.output
    assert asked == {"500_always", "hang_always", "400"}
    assert Counter(r["id"] for r in read(out / "raw.jsonl")) == Counter({p.id: 1 for p in problems})
    assert json.loads((out / "summary.json").read_text())["overall"]["kept"] == 6


def test_samples_keep_first_or_all_distinct(tmp_path):
    """Samples are separate requests (per-item seeds differ): script them by sample index, read back from the
    seed (sample k of a conversation is seeded by item_seed(run seed 0, the conversation, k))."""

    def by_seed(body, attempt):
        key = item_keys([body["messages"]], None)[0]
        seed = next(k for k in range(4) if item_seed(0, key, k) == body.get("seed"))
        if seed == 0:
            return Reply(content="<think>\nno\n</think>\n\\boxed{Option 1: Cooperate forever}")
        trace = "same reasoning" if seed in (1, 2) else f"other reasoning {seed}"
        return Reply(content=f"\\boxed{{{GOLD}}}", reasoning=trace)

    problems = [make_problem(i, "seeded") for i in range(3)]
    data = tmp_path / "problems.jsonl"
    write_jsonl(problems, data)
    with FakeOpenAIServer(by_seed) as server:
        first = CliRunner().invoke(app, cli_args(server.url, data, tmp_path / "first", "--samples", "4"))
        every = CliRunner().invoke(app, cli_args(server.url, data, tmp_path / "all", "--samples", "4", "--keep-all-correct"))
    assert first.exit_code == 0 and every.exit_code == 0, first.output + every.output
    assert len(read(tmp_path / "first" / "sft.jsonl")) == 3
    assert len(read(tmp_path / "all" / "sft.jsonl")) == 6  # seeds 1 and 3 (seed 2 repeats seed 1)
    verdicts = Counter(r["verdict"] for r in read(tmp_path / "all" / "raw.jsonl"))
    assert verdicts == {"wrong": 3, "kept": 6, "duplicate": 3}
    summary = json.loads((tmp_path / "all" / "summary.json").read_text())["overall"]
    assert (summary["requested"], summary["kept"], summary["problems_kept"]) == (12, 6, 3)


def test_kill_9_then_resume_loses_and_repeats_nothing(tmp_path):
    problems = [make_problem(i, "slow") for i in range(24)]
    data, out = tmp_path / "problems.jsonl", tmp_path / "run"
    write_jsonl(problems, data)
    slow = Reply(content=GOOD_THINK.content, hang_s=0.3)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with FakeOpenAIServer(lambda body, attempt: slow) as server:
        args = cli_args(server.url, data, out, "--concurrency", "2", "--temperature", "0")
        args[args.index("--timeout") + 1] = "30"
        proc = subprocess.Popen([sys.executable, "-m", "recon.distill.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        raw_path = out / "raw.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and (not raw_path.exists() or raw_path.read_text().count("\n") < 6):
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        before = read(raw_path)
        assert 6 <= len(before) < len(problems), "the run was not killed mid-way"
        calls_before = len(server.calls)

        rerun = subprocess.run([sys.executable, "-m", "recon.distill.cli", *args], env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "resuming" in rerun.stdout
        asked_again = len(server.calls) - calls_before

    raw, sft = read(raw_path), read(out / "sft.jsonl")
    assert Counter(r["id"] for r in raw) == Counter({p.id: 1 for p in problems})
    assert Counter(r["id"] for r in sft) == Counter({p.id: 1 for p in problems})
    assert [r["id"] for r in raw[: len(before)]] == [r["id"] for r in before]  # what was written stays
    assert asked_again <= len(problems) - len(before)  # done problems are not asked again
    summary = json.loads((out / "summary.json").read_text())["overall"]
    assert (summary["requested"], summary["kept"], summary["done"]) == (24, 24, 24)


# --- real llama.cpp server ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_end_to_end_llama_cpp_smollm2(smollm2_server, tmp_path):
    from recon.data.published import load_split

    train = load_split("train")
    problems = train[::180][:10]  # ten problems across the categories
    data, out = tmp_path / "train10.jsonl", tmp_path / "run"
    write_jsonl(problems, data)
    started = time.time()
    result = CliRunner().invoke(
        app,
        ["--teacher-url", smollm2_server, "--teacher-model", "smollm2", "--data", str(data), "--out", str(out),
         "--max-tokens", "48", "--concurrency", "2", "--temperature", "0", "--timeout", "300", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    print(f"distilled 10 problems from SmolLM2 in {time.time() - started:.1f} s")

    raw = read(out / "raw.jsonl")
    assert sorted(r["id"] for r in raw) == sorted(p.id for p in problems)
    assert all(r["error"] is None for r in raw), [r["error"] for r in raw]
    assert all(r["completion_tokens"] > 0 and r["teacher"] == "smollm2" for r in raw)
    sft = read(out / "sft.jsonl")
    kept = [r for r in raw if r["verdict"] == "kept"]
    assert sorted(r["id"] for r in sft) == sorted(r["id"] for r in kept)
    by_id = {p.id: p for p in read_problems(data)}
    for r in raw:  # every recorded verdict is what the shared grader says about the recorded text
        p = by_id[r["id"]]
        assert judge(r["text"], r["reasoning"], r["finish_reason"], r["error"], p.gold, p.answer_type, p.choices).verdict == r["verdict"]
    for rec in sft:
        p = by_id[rec["id"]]
        assert rec["prompt"] == p.messages
        assert grade(rec["completion"][0]["content"], p.gold, p.answer_type, p.choices).correct
    summary = json.loads((out / "summary.json").read_text())
    o = summary["overall"]
    print("SmolLM2 verdicts:", {k: v for k, v in o["verdicts"].items() if v})
    assert (o["problems"], o["done"], o["requested"], o["answered"], o["failed"], o["kept"]) == (10, 10, 10, 10, 0, len(sft))
    assert sum(s["requested"] for s in summary["per_category"].values()) == 10
    assert sum(o["verdicts"].values()) == 10
    assert (out / "summary.md").read_text().count("\n") == 2 + len(summary["per_category"]) + 1
    cfg = summary["config"]
    assert cfg["teacher_url"] == smollm2_server and cfg["max_tokens"] == 48


def test_teacher_down_stops_early_then_resumes(tmp_path):
    problems = [make_problem(i, "reasoning") for i in range(30)]
    data, out = tmp_path / "problems.jsonl", tmp_path / "run"
    write_jsonl(problems, data)
    runner = CliRunner()
    with FakeOpenAIServer(lambda body, attempt: Reply.error(503)) as server:
        down = runner.invoke(app, cli_args(server.url, data, out, "--concurrency", "1", "--max-consecutive-failures", "3"))
    assert down.exit_code == 3
    assert "stopped early" in down.output and "HTTP 503" in down.output
    assert [r["verdict"] for r in read(out / "raw.jsonl")] == ["failed"] * 3
    with FakeOpenAIServer(fault_responder) as server:
        up = runner.invoke(app, cli_args(server.url, data, out, "--concurrency", "4"))
    assert up.exit_code == 0, up.output
    summary = json.loads((out / "summary.json").read_text())["overall"]
    assert (summary["done"], summary["failed"], summary["kept"]) == (30, 0, 30)
