"""Evaluator logic with the deterministic scripted backend: baselines, CIs, failure rates, permutations,
samples, resume after a crash (including a real kill -9), config changes, compare and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data.problem import write_jsonl
from recon.data.published import load_split
from recon.evaluation import EvalConfig, build_units, compare_runs, evaluate, read_records, select_problems
from recon.stats import bootstrap_ci, mcnemar_exact, paired_bootstrap
from recon.inference import ScriptedBackend
from recon.runs import RunConflict

ALWAYS_OPTION_1 = "<think>short</think> \\boxed{Option 1}"


@pytest.fixture(scope="module")
def eval_problems(data_dir):
    return load_split("eval", data_dir)


@pytest.fixture(scope="module")
def train_problems(data_dir):
    return load_split("train", data_dir)


def gold_answerer(problems, permutations=1, seed=0):
    """A scripted model that knows the (remapped) gold of every prompt it can be shown."""
    answers = {u.problem.messages[-1]["content"]: u.problem.gold for u in build_units(problems, permutations, seed)}
    return lambda messages: f"<think>easy</think> \\boxed{{{answers[messages[-1]['content']]}}}"


def run(problems, respond, out, train, **config):
    config.setdefault("backend", "scripted")
    return evaluate(ScriptedBackend(respond), problems, EvalConfig(**config), out, show_progress=False, baselines_train=train)


def test_always_option_1_scores_exactly_its_baseline(eval_problems, train_problems, tmp_path):
    results = run(eval_problems, lambda m: ALWAYS_OPTION_1, tmp_path / "run", train_problems)
    for name, metrics in results["categories"].items():
        baseline = metrics["baselines"]["option_1"]
        assert metrics["accuracy"] == pytest.approx(baseline if baseline is not None else 0.0), name
    assert results["overall"]["accuracy"] == pytest.approx(results["overall"]["baselines"]["option_1"])
    assert results["complete"] and results["overall"]["n_items"] == 300


def test_perfect_model_and_complete_result_files(eval_problems, train_problems, tmp_path):
    problems = select_problems(eval_problems, ["pte", "econnli", "econlogicqa", "trigger"], None)
    results = run(problems, gold_answerer(problems), tmp_path / "run", train_problems)
    overall = results["overall"]
    assert overall["accuracy"] == 1.0 and overall["ci95"] == [1.0, 1.0] and overall["exact_rate"] == 1.0
    assert overall["format_failure_rate"] == overall["parse_failure_rate"] == 0.0
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["config"]["think"] == "optional" and saved["seed"] == 0 and saved["model"]["revision"]
    assert saved["environment"]["packages"]["recon-econ"] and saved["config_hash"]
    markdown = (tmp_path / "run" / "results.md").read_text()
    assert "Table 3" in markdown and all(c in markdown for c in ("pte", "econnli", "baseline: majority"))
    records = read_records(tmp_path / "run" / "samples.jsonl")
    assert len(records) == 80 and {"prompt", "completion", "predicted", "status", "reward", "latency_s"} <= records[0].keys()
    assert all(r["reward"] == 5.0 for r in records)


def test_failure_rates_and_errors_are_counted(eval_problems, tmp_path):
    problems = eval_problems[:40]
    index = {p.messages[-1]["content"]: i for i, p in enumerate(problems)}
    perfect = gold_answerer(problems)

    def respond(messages):
        kind = index[messages[-1]["content"]] % 4
        if kind == 0:
            return "<think>a</think></think> \\boxed{Option 1}"  # two </think>: format violation
        if kind == 1:
            return "I am not sure."  # nothing parsable
        if kind == 2:
            raise ConnectionError("server went away")  # a failed request
        return perfect(messages)

    overall = run(problems, respond, tmp_path / "run", None)["overall"]
    assert overall["format_failure_rate"] == overall["parse_failure_rate"] == overall["error_rate"] == 0.25
    assert overall["accuracy"] == 0.25
    low, high = overall["ci95"]
    assert 0.1 < low < 0.25 < high < 0.45


def test_permutations_average_orders_and_report_circular_accuracy(eval_problems, train_problems, tmp_path):
    problems = select_problems(eval_problems, ["enforceability", "auction_risk", "econnli"], None)
    results = run(problems, lambda m: ALWAYS_OPTION_1, tmp_path / "opt1", train_problems, permutations=3)
    units = build_units(problems, 3, 0)
    assert len(units) == 40 * 3 + 20  # yes/no items are asked once
    by_item: dict[str, list[bool]] = {}
    for u in units:
        by_item.setdefault(u.problem.id, []).append(u.problem.gold_option == 1)
    option_items = [v for v in by_item.values() if len(v) == 3]
    overall = results["overall"]
    assert overall["accuracy"] == pytest.approx(sum(sum(v) / len(v) for v in by_item.values()) / len(by_item))
    assert overall["circular_accuracy"] == pytest.approx(sum(all(v) for v in option_items) / len(option_items))
    assert overall["permuted_items"] == 40
    assert "correct under all orders" in (tmp_path / "opt1" / "results.md").read_text()
    records = read_records(tmp_path / "opt1" / "samples.jsonl")
    moved = [r for r in records if r["perm"] > 0]
    assert moved and all(r["gold"].startswith("Option ") for r in moved)
    perfect = run(problems, gold_answerer(problems, 3), tmp_path / "gold", train_problems, permutations=3)
    assert perfect["overall"]["accuracy"] == 1.0 and perfect["overall"]["circular_accuracy"] == 1.0


def test_samples_give_pass_at_1_averaged(eval_problems, tmp_path):
    perfect = gold_answerer(eval_problems[:10])
    results = run(
        eval_problems[:10],
        lambda messages, sample: perfect(messages) if sample == 0 else "no idea",
        tmp_path / "run",
        None,
        samples=3,
        temperature=0.7,
    )
    assert results["overall"]["accuracy"] == pytest.approx(1 / 3) and results["overall"]["n_samples"] == 30


class CrashAfter(ScriptedBackend):
    """Dies (like a killed process) on its n-th generate call."""

    def __init__(self, respond, calls_before_crash):
        super().__init__(respond)
        self.left = calls_before_crash

    def generate(self, conversations, params, progress=None, keys=None):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().generate(conversations, params, progress, keys)


def test_resume_after_crash_loses_and_duplicates_nothing(eval_problems, tmp_path):
    problems, out = eval_problems[:40], tmp_path / "run"
    config = EvalConfig(backend="scripted", chunk_size=4)
    with pytest.raises(KeyboardInterrupt):
        evaluate(CrashAfter(gold_answerer(problems), 2), problems, config, out, show_progress=False, baselines_train=None)
    assert len(read_records(out / "samples.jsonl")) == 8
    with (out / "samples.jsonl").open("a") as fh:
        fh.write('{"key": "eval-0008#p0#s0", "id": "ev')  # a torn write from the moment of the kill
    second = ScriptedBackend(gold_answerer(problems))
    results = evaluate(second, problems, config, out, show_progress=False, baselines_train=None)
    assert len(second.calls) == 32  # only the missing items were generated
    records = read_records(out / "samples.jsonl")
    assert sorted(r["key"] for r in records) == sorted(f"{p.id}#p0#s0" for p in problems)
    assert results["complete"] and results["overall"]["accuracy"] == 1.0


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from recon.data.published import load_split
    from recon.evaluation import EvalConfig, evaluate
    from recon.inference import ScriptedBackend

    def respond(messages):
        time.sleep(0.02)
        return "<think>x</think> \\\\boxed{Option 1}"

    problems = load_split("eval", sys.argv[2])[:60]
    evaluate(ScriptedBackend(respond, revision="kill"), problems, EvalConfig(backend="scripted", chunk_size=3), sys.argv[1],
             show_progress=False, baselines_train=None)
    """
)


def test_resume_after_kill_9(eval_problems, data_dir, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out), str(data_dir)])
    samples = out / "samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not samples.exists() or samples.read_bytes().count(b"\n") < 9):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(read_records(samples))
    assert 9 <= before < 60, "the kill should land mid-run"
    second = ScriptedBackend([ALWAYS_OPTION_1], revision="kill")
    evaluate(second, eval_problems[:60], EvalConfig(backend="scripted", chunk_size=3), out, show_progress=False, baselines_train=None)
    keys = [r["key"] for r in read_records(samples)]
    assert len(keys) == len(set(keys)) == 60 and len(second.calls) == 60 - before


def test_config_change_is_refused_but_a_larger_limit_extends(eval_problems, tmp_path):
    out = tmp_path / "run"
    run(eval_problems[:5], lambda m: ALWAYS_OPTION_1, out, None, max_tokens=64)
    with pytest.raises(RunConflict, match="max_tokens"):
        run(eval_problems[:5], lambda m: ALWAYS_OPTION_1, out, None, max_tokens=128)
    backend = ScriptedBackend(lambda m: ALWAYS_OPTION_1)
    results = evaluate(backend, eval_problems[:8], EvalConfig(backend="scripted", max_tokens=64, limit=8), out, show_progress=False, baselines_train=None)
    assert len(backend.calls) == 3 and results["overall"]["n_items"] == 8


def test_resume_under_another_grader_version_is_refused(eval_problems, tmp_path, monkeypatch):
    out = tmp_path / "run"
    run(eval_problems[:5], lambda m: ALWAYS_OPTION_1, out, None)
    monkeypatch.setattr("recon.evaluation.runner.GRADER_VERSION", "another")
    with pytest.raises(RunConflict, match="grader"):
        run(eval_problems[:5], lambda m: ALWAYS_OPTION_1, out, None)


def test_compare_runs_paired_deltas(eval_problems, tmp_path):
    problems = eval_problems[:60]
    run(problems, lambda m: ALWAYS_OPTION_1, tmp_path / "a", None)
    run(problems, gold_answerer(problems), tmp_path / "b", None, label="oracle")
    comparison = compare_runs(tmp_path / "a", tmp_path / "b")
    overall = comparison["categories"]["overall"]
    assert overall["accuracy_b"] == 1.0 and overall["delta"] == pytest.approx(1.0 - overall["accuracy_a"])
    assert overall["mcnemar"]["only_a"] == 0 and overall["mcnemar"]["p_value"] < 0.01 and overall["ci95"][0] > 0
    same = compare_runs(tmp_path / "a", tmp_path / "a")["categories"]["overall"]
    assert same["delta"] == 0 and same["p_bootstrap"] == 1.0 and same["mcnemar"]["p_value"] == 1.0
    result = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0 and "enforceability" in result.output and "McNemar" in result.output
    missing = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nothing")])
    assert missing.exit_code == 2


def test_statistics():
    assert bootstrap_ci([1.0] * 30) == (1.0, 1.0)
    low, high = bootstrap_ci([1.0, 0.0] * 50)
    assert 0.38 < low < 0.5 < high < 0.62
    assert mcnemar_exact([False] * 10, [True] * 10)["p_value"] == pytest.approx(2 / 1024)
    assert mcnemar_exact([True, False], [False, True])["p_value"] == 1.0
    assert paired_bootstrap([0.0] * 20, [1.0] * 20)["p_value"] == 0.0


def test_bad_selection_fails_clearly(eval_problems):
    with pytest.raises(ValueError, match="unknown categories"):
        select_problems(eval_problems, ["no_such_category"], None)
    with pytest.raises(ValueError, match="temperature"):
        EvalConfig(samples=2)


def test_cli_eval_on_a_jsonl_with_the_tiny_hf_model(eval_problems, tiny_model_dir, tmp_path):
    data = tmp_path / "items.jsonl"
    write_jsonl(eval_problems[:3], data)
    out = tmp_path / "run"
    args = ["eval", "--backend", "hf", "--model", str(tiny_model_dir), "--data", str(data), "--max-tokens", "4",
            "--option", "batch_size=2", "--out", str(out), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["overall"]["n_items"] == 3 and results["model"]["backend"]["settings"]["batch_size"] == 2
    assert len(read_records(out / "samples.jsonl")) == 3 and (out / "results.md").exists()
    again = CliRunner().invoke(app, [*args, "--max-tokens", "5"])  # same folder, other config
    assert again.exit_code == 2 and "other settings (changed: eval.max_tokens)" in again.output
