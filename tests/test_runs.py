"""Same run means same run: one run identity, lock and JSONL store (`recon.runs`) for eval, distill,
self-play, arena and pipeline stages. A rerun with another model revision, backend option, sampling
setting or data is refused (or, in the pipeline, recomputed from empty folders), never reused; a second
writer is refused; failed requests are retried and the exit status says when some remain; every
malformed reply of an OpenAI-compatible server is recorded, not fatal."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from fake_openai_server import MALFORMED, FakeOpenAIServer, Reply
from rich.console import Console
from typer.testing import CliRunner

from recon.cli import app
from recon.data.problem import Problem, write_jsonl
from recon.distill.run import DistillConfig, distill
from recon.evaluation import EvalConfig, evaluate, read_records
from recon.stats import bootstrap_ci, bootstrap_statistic, stratified_bootstrap_ci
from recon.games.arena.agents import LLMAgent
from recon.games.arena.runner import ArenaConfig, run_arena
from recon.games.library import select_games
from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay
from recon.inference import Completion, ScriptedBackend
from recon.pipeline.stages import Stage, planned, run_stages
from recon.report.build import build_report
from recon.runs import (
    EXIT_FAILED_ITEMS,
    CorruptRecord,
    RunConflict,
    RunLocked,
    backend_identity,
    open_run,
    read_appended_jsonl,
    write_atomic,
)

REPO = Path(__file__).resolve().parents[1]
CHOICES = ["Cooperate", "Defect"]
ANSWER = "<think>\nbackward induction\n</think>\n\\boxed{Option 2}"


def problem(i: int, text: str = "which outcome?") -> Problem:
    return Problem(
        id=f"p{i}",
        category="trigger",
        source="test",
        question=f"Problem {i}: {text}",
        choices=CHOICES,
        answer_type="option",
        gold="Option 2",
        messages=[{"role": "user", "content": f"Problem {i}: {text}\nOption 1: Cooperate\nOption 2: Defect"}],
    )


class Described(ScriptedBackend):
    """A scripted backend that reports backend settings, as real backends do."""

    def __init__(self, respond=ANSWER, revision="r1", **settings):
        super().__init__(lambda messages: respond, revision=revision)
        self.settings = settings

    def describe(self) -> dict:
        return {**super().describe(), "settings": self.settings}


# ------------------------------------------------------------------ recon.runs itself


def test_identity_mismatch_names_the_changed_fields_and_overwrite_clears(tmp_path):
    with open_run(tmp_path / "r", "eval", {"sampling": {"temperature": 0.0}, "model": "a"}) as run:
        run.file("samples.jsonl").write_text("{}\n")
    with pytest.raises(RunConflict) as err:
        with open_run(tmp_path / "r", "eval", {"sampling": {"temperature": 0.7}, "model": "b"}):
            pass
    message = str(err.value)
    assert "\n" not in message and "changed: model, sampling.temperature" in message
    assert "--out NEW" in message and "--overwrite" in message
    with open_run(tmp_path / "r", "eval", {"model": "b"}, overwrite=True) as run:
        assert not run.resumed and not run.file("samples.jsonl").exists()
    with pytest.raises(RunConflict, match="kind 'eval', not 'distill'"):
        with open_run(tmp_path / "r", "distill", {"model": "b"}):
            pass


def test_a_folder_that_is_not_a_run_is_never_touched(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(RunConflict, match="no run manifest"):
            with open_run(tmp_path, "eval", {"x": 1}, overwrite=overwrite):
                pass
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_a_second_writer_is_refused_naming_folder_and_pid(tmp_path):
    with open_run(tmp_path / "r", "eval", {"x": 1}):
        with pytest.raises(RunLocked, match=rf"{tmp_path / 'r'} is being written by another recon process \(pid \d+\)"):
            with open_run(tmp_path / "r", "eval", {"x": 1}):
                pass
        # another process too
        code = f"from recon.runs import open_run\nwith open_run({str(tmp_path / 'r')!r}, 'eval', {{'x': 1}}): pass"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        assert other.returncode != 0 and "RunLocked" in other.stderr
    with open_run(tmp_path / "r", "eval", {"x": 1}) as run:  # released: the same identity resumes
        assert run.resumed


def test_corrupt_complete_line_is_a_user_error_naming_file_and_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"a": 1}\n{"a": 2\n{"a": 3}\n{"a": 4')
    with pytest.raises(CorruptRecord, match=r"samples.jsonl:2: corrupt record") as err:
        read_appended_jsonl(path)
    assert "\n" not in str(err.value)
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3')  # a torn tail is not corruption
    assert read_appended_jsonl(path, repair=True) == ([{"a": 1}, {"a": 2}], True)
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'


def test_atomic_writes_from_many_threads_leave_one_whole_file(tmp_path):
    target = tmp_path / "results.json"
    texts = [json.dumps({"writer": i, "pad": "x" * 10000}) for i in range(16)]
    threads = [threading.Thread(target=write_atomic, args=(target, t)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() in texts and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_backend_identity_keys_results_not_execution():
    described = {
        "backend": "openai", "model": "m", "served_model": "modelA", "base_url": "http://a", "revision": None,
        "chat_template": "server-side", "settings": {"concurrency": 8, "max_retries": 5, "openai": "1.0", "dtype": "bf16"},
    }  # fmt: skip
    ident = backend_identity(described, {"served_model": "modelA", "batch_size": 8, "dtype": "bf16", "timeout": 9})
    assert ident["served_model"] == "modelA" and ident["options"] == {"served_model": "modelA", "dtype": "bf16"}
    assert ident["settings"] == {"dtype": "bf16"} and "base_url" not in ident
    other = backend_identity({**described, "served_model": "modelB", "base_url": "http://b"})
    assert other != backend_identity(described) and backend_identity({**described, "base_url": "http://b"}) == backend_identity(described)


# ------------------------------------------------------------------ eval


def run_eval(out, backend=None, problems=None, **cfg):
    backend = backend or Described()
    config = EvalConfig(backend=backend.name, **cfg)
    return evaluate(backend, problems or [problem(i) for i in range(3)], config, out, show_progress=False, baselines_train=None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"backend": Described(revision="r2", dtype="bfloat16")}, "backend.revision"),
        ({"backend_options": {"served_model": "modelB"}}, "backend.options.served_model"),
        ({"backend": Described(dtype="float32")}, "backend.settings.dtype"),
        ({"temperature": 0.7}, "eval.temperature"),
        ({"think": "required"}, "eval.think"),
    ],
)
def test_eval_rerun_with_other_model_option_or_sampling_is_refused(tmp_path, change, field):
    run_eval(tmp_path / "run", backend=Described(dtype="bfloat16"), backend_options={"served_model": "modelA"})
    kwargs = {"backend": Described(dtype="bfloat16"), "backend_options": {"served_model": "modelA"}, **change}
    with pytest.raises(RunConflict, match=rf"changed: {field}\)"):
        run_eval(tmp_path / "run", **kwargs)
    # execution settings may change: the same run resumes
    resumed = Described(dtype="bfloat16", batch_size=64)
    run_eval(tmp_path / "run", backend=resumed, backend_options={"served_model": "modelA", "batch_size": 2}, chunk_size=1)
    assert resumed.calls == []


def test_eval_rerun_with_changed_data_is_refused(tmp_path):
    run_eval(tmp_path / "run")
    changed = [problem(0), problem(1, text="another question"), problem(2)]
    with pytest.raises(RunConflict, match="item p1 changed since it was answered"):
        run_eval(tmp_path / "run", problems=changed)


def test_eval_failed_requests_are_retried_and_reported_apart(tmp_path):
    def flaky(messages):
        if "Problem 1" in messages[-1]["content"]:
            raise ConnectionError("server down")
        return ANSWER

    first = run_eval(tmp_path / "run", backend=ScriptedBackend(flaky, revision="s"))
    o = first["overall"]
    assert (o["n_errors"], o["n_wrong"], o["accuracy"], o["accuracy_answered"]) == (1, 0, pytest.approx(2 / 3), 1.0)
    assert not first["complete"] and first["failed_items"] == ["p1"]
    assert "Failed requests" in (tmp_path / "run" / "results.md").read_text()
    healthy = ScriptedBackend(lambda m: ANSWER, revision="s")
    kept = evaluate(healthy, [problem(i) for i in range(3)], EvalConfig(backend="scripted"), tmp_path / "run",
                    show_progress=False, baselines_train=None, retry_failed=False)  # fmt: skip
    assert healthy.calls == [] and kept["overall"]["n_errors"] == 1
    again = run_eval(tmp_path / "run", backend=healthy)
    assert len(healthy.calls) == 1 and again["complete"] and again["overall"]["accuracy"] == 1.0
    assert len(read_records(tmp_path / "run" / "samples.jsonl")) == 3


def test_eval_is_locked_while_it_runs(tmp_path):
    with open_run(tmp_path / "run", "eval", {"held": True}):
        with pytest.raises(RunLocked):
            run_eval(tmp_path / "run")


def eval_args(url, data, out, *extra):
    return ["eval", "--backend", "openai", "--model", "fake", "--data", str(data), "--out", str(out), "--quiet",
            "--backend-option", f"base_url={url}", "--backend-option", "max_retries=1", "--backend-option", "backoff=0.01",
            "--backend-option", "timeout=1", *extra]  # fmt: skip


FAULTS = {**MALFORMED, "http_500": Reply.error(500), "hang": Reply.hang(1.5)}


def test_eval_cli_records_every_malformed_reply_exits_3_then_recovers(tmp_path):
    """Every malformed reply, a 500 and a hang: recorded errors, exit 3; a 429 once: retried. The server
    recovers: the rerun asks the failed items again and exits 0."""
    variants = sorted(FAULTS)
    problems = [problem(i) for i in range(len(variants) + 2)]
    data = tmp_path / "items.jsonl"
    write_jsonl(problems, data)
    healthy = False

    def responder(body, attempt):
        i = int(body["messages"][-1]["content"].split(":")[0].split()[-1])
        if i == len(variants) and attempt == 0:
            return Reply.error(429, retry_after="0")
        if healthy or i >= len(variants):
            return Reply(ANSWER)
        return FAULTS[variants[i]]

    out = tmp_path / "run"
    with FakeOpenAIServer(responder) as server:
        broken = CliRunner().invoke(app, eval_args(server.url, data, out))
        assert broken.exit_code == EXIT_FAILED_ITEMS, broken.output
        assert f"{len(variants)} of {len(problems)} requests failed" in broken.output
        records = {r["id"]: r for r in read_records(out / "samples.jsonl")}
        for i, name in enumerate(variants):
            assert records[f"p{i}"]["status"] == "error" and records[f"p{i}"]["error"], name
        results = json.loads((out / "results.json").read_text())
        assert results["overall"]["accuracy_answered"] == 1.0 and results["overall"]["n_errors"] == len(variants)
        healthy = True
        fixed = CliRunner().invoke(app, eval_args(server.url, data, out))
    assert fixed.exit_code == 0, fixed.output
    assert json.loads((out / "results.json").read_text())["overall"]["accuracy"] == 1.0


def test_eval_cli_other_served_model_into_the_same_folder_is_refused(tmp_path):
    data = tmp_path / "items.jsonl"
    write_jsonl([problem(0)], data)
    with FakeOpenAIServer(lambda body, attempt: Reply(ANSWER)) as server:
        first = CliRunner().invoke(app, eval_args(server.url, data, tmp_path / "run", "--backend-option", "served_model=modelA"))
        second = CliRunner().invoke(app, eval_args(server.url, data, tmp_path / "run", "--backend-option", "served_model=modelB"))
        replaced = CliRunner().invoke(
            app, eval_args(server.url, data, tmp_path / "run", "--backend-option", "served_model=modelB", "--overwrite")
        )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 2 and "served_model" in second.output
    assert replaced.exit_code == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["model"]["backend"]["served_model"] == "modelB"


def test_corrupt_samples_line_is_one_line_exit_2(tmp_path):
    data = tmp_path / "items.jsonl"
    write_jsonl([problem(0), problem(1)], data)
    out = tmp_path / "run"
    with FakeOpenAIServer(lambda body, attempt: Reply(ANSWER)) as server:
        assert CliRunner().invoke(app, eval_args(server.url, data, out)).exit_code == 0
        samples = out / "samples.jsonl"
        lines = samples.read_text().splitlines()
        samples.write_text(lines[0][:30] + "\n" + lines[1] + "\n")
        result = CliRunner().invoke(app, eval_args(server.url, data, out))
    assert result.exit_code == 2 and "samples.jsonl:1: corrupt record" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ distill


class Teacher:
    def __init__(self, text=ANSWER):
        self.text, self.calls = text, []

    def generate(self, conversations, params, progress=None):
        self.calls += conversations
        return [[Completion(text=self.text) for _ in range(params.n)] for _ in conversations]


def run_distill(out, problems=None, teacher=None, **cfg):
    config = DistillConfig(**{"teacher_model": "teacher-a", "teacher_url": "http://unused", "data": "d", **cfg})
    teacher = teacher or Teacher()
    return distill(problems or [problem(i) for i in range(3)], lambda: teacher, out, config, progress=False, log=lambda m: None)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"teacher_model": "teacher-b"}, "teacher_model"), ({"temperature": 0.2}, "temperature"), ({"max_tokens": 99}, "max_tokens")],
)
def test_distill_rerun_with_other_teacher_or_sampling_is_refused(tmp_path, change, field):
    run_distill(tmp_path / "run")
    with pytest.raises(RunConflict, match=rf"changed: {field}\)"):
        run_distill(tmp_path / "run", **change)
    teacher = Teacher()
    run_distill(tmp_path / "run", teacher=teacher, teacher_url="http://elsewhere", concurrency=1)  # where, not what
    assert teacher.calls == []


def test_distill_rerun_with_changed_data_is_refused(tmp_path):
    run_distill(tmp_path / "run")
    with pytest.raises(RunConflict, match="problem 'p2' .* changed since it was distilled"):
        run_distill(tmp_path / "run", problems=[problem(0), problem(1), problem(2, text="edited")])
    teacher = Teacher()
    run_distill(tmp_path / "run", problems=[problem(i) for i in range(4)], teacher=teacher)  # more problems extend it
    assert len(teacher.calls) == 1


def test_distill_is_locked_while_it_runs(tmp_path):
    with open_run(tmp_path / "run", "distill", None):
        with pytest.raises(RunLocked):
            run_distill(tmp_path / "run")


def test_distill_corrupt_raw_line_is_refused_naming_file_and_line(tmp_path):
    run_distill(tmp_path / "run")
    raw = tmp_path / "run" / "raw.jsonl"
    lines = raw.read_text().splitlines()
    raw.write_text(lines[0] + "\n" + lines[1][:-5] + "\n" + lines[2] + "\n")
    with pytest.raises(CorruptRecord, match=r"raw.jsonl:2: corrupt record"):
        run_distill(tmp_path / "run")


def test_distill_cli_records_every_malformed_reply(tmp_path):
    variants = sorted(MALFORMED)
    problems = [problem(i) for i in range(len(variants))]
    data = tmp_path / "items.jsonl"
    write_jsonl(problems, data)
    state = {"healthy": False}

    def responder(body, attempt):
        i = int(body["messages"][-1]["content"].split(":")[0].split()[-1])
        return Reply(ANSWER) if state["healthy"] else MALFORMED[variants[i]]

    out = tmp_path / "run"
    with FakeOpenAIServer(responder) as server:
        args = ["distill", "--teacher-url", server.url, "--teacher-model", "fake-teacher", "--data", str(data), "--out", str(out),
                "--max-retries", "1", "--timeout", "2", "--retry-backoff", "0.01", "--no-progress", "--temperature", "0"]  # fmt: skip
        broken = CliRunner().invoke(app, args)
        assert broken.exit_code == EXIT_FAILED_ITEMS, broken.output
        raw = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
        assert len(raw) == len(variants) and all(r["verdict"] == "failed" and r["error"] for r in raw)
        state["healthy"] = True
        fixed = CliRunner().invoke(app, args)
    assert fixed.exit_code == 0, fixed.output
    assert json.loads((out / "summary.json").read_text())["overall"]["kept"] == len(variants)


# ------------------------------------------------------------------ self-play and arena


def test_selfplay_rerun_with_other_revision_option_sampling_or_game_is_refused(tmp_path):
    out = tmp_path / "run"
    config = SelfPlayConfig(trials=1)
    run_selfplay(Described("<s>choice_2</s>"), "pd", config, out, progress=False)
    with pytest.raises(RunConflict, match=r"changed: backend.revision\)"):
        run_selfplay(Described("<s>choice_2</s>", revision="r2"), "pd", config, out, progress=False)
    with pytest.raises(RunConflict, match=r"changed: backend.settings.served_model\)"):
        run_selfplay(Described("<s>choice_2</s>", served_model="other"), "pd", config, out, progress=False)
    with pytest.raises(RunConflict, match=r"changed: play.temperature\)"):
        run_selfplay(Described("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=1, temperature=0.1), out, progress=False)
    [pd] = select_games("pd")
    edited = dataclasses.replace(pd, payoffs=tuple(tuple((a + 1, b) for a, b in row) for row in pd.payoffs))
    with pytest.raises(RunConflict, match=r"changed: games.pd\)"):
        run_selfplay(Described("<s>choice_2</s>"), [edited], config, out, progress=False)
    same = Described("<s>choice_2</s>")
    results = run_selfplay(same, "pd", SelfPlayConfig(trials=2, batch_size=3), out, progress=False)
    assert results["games"]["pd"]["trials"] == 2 and len(same.calls) > 0  # one new trial, the old one kept


def test_games_replay_what_met_a_failed_request(tmp_path):
    """A trial or match that met a failed request is counted apart and played again on the next run."""
    state = {"down": True}

    def reply(text):
        def respond(messages):
            if state["down"]:
                raise ConnectionError("server down")
            return text

        return ScriptedBackend(respond, revision="same-model")

    sp = run_selfplay(reply("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=2), tmp_path / "sp", progress=False)
    ar = arena(tmp_path / "ar", reply("<Take 1 from pile 1>"))
    assert sp["failed_request_trials"] == 2 and ar["failed_request_matches"] == 2
    kept = run_selfplay(reply("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=2), tmp_path / "sp", progress=False, retry_failed=False)
    assert kept["failed_request_trials"] == 2
    state["down"] = False
    sp = run_selfplay(reply("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=2), tmp_path / "sp", progress=False)
    ar = arena(tmp_path / "ar", reply("<Take 1 from pile 1>"))
    assert sp["failed_request_trials"] == 0 and sp["games"]["pd"]["trials"] == 2
    assert ar["failed_request_matches"] == 0 and ar["matches_played"] == 2
    assert len((tmp_path / "sp" / "transcripts.jsonl").read_text().splitlines()) == 2


def test_selfplay_is_locked_while_it_runs(tmp_path):
    with open_run(tmp_path / "run", "selfplay", {"held": True}):
        with pytest.raises(RunLocked):
            run_selfplay(Described("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=1), tmp_path / "run", progress=False)


def arena(out, backend, **cfg):
    config = ArenaConfig(**{"matches": 2, "mcts_simulations": 2, "progress": False, "max_tokens": 16, **cfg})
    player = LLMAgent(backend, name="llm:player", params=config.sampling())
    return run_arena([player, "random"], "nim", config, out)


def test_arena_rerun_with_another_model_behind_the_same_name_is_refused(tmp_path):
    out = tmp_path / "run"
    arena(out, Described("<Take 1 from pile 1>"))
    with pytest.raises(RunConflict, match=r"changed: agents.0.backend.revision\)"):
        arena(out, Described("<Take 1 from pile 1>", revision="r2"))
    with pytest.raises(RunConflict, match=r"backend.settings.served_model"):
        arena(out, Described("<Take 1 from pile 1>", served_model="b"))
    with pytest.raises(RunConflict, match=r"config.temperature"):
        arena(out, Described("<Take 1 from pile 1>"), temperature=0.1)
    with open_run(out, "arena", None):
        with pytest.raises(RunLocked):
            arena(out, Described("<Take 1 from pile 1>"))


# ------------------------------------------------------------------ pipeline stages


def test_pipeline_stage_rerun_starts_from_empty_folders_and_a_killed_one_resumes(tmp_path):
    """A training stage never resumes another configuration's checkpoint; a killed one resumes its own."""
    seen = []

    def train(ctx):
        out = ctx.run_dir / "train" / "sft"
        seen.append(sorted(p.name for p in out.iterdir()) if out.exists() else [])
        (out / "checkpoint-1").mkdir(parents=True, exist_ok=True)
        if ctx.config.get("die"):
            raise KeyboardInterrupt  # killed mid-training
        return {"checkpoint": str(out)}

    stages = [Stage("sft", train, "train", dirs=("train/sft",))]

    def run(preset):
        return run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))

    run({"sft": {"lr": 1}})
    run({"sft": {"lr": 2}})  # another configuration: the old checkpoint is gone before training starts
    with pytest.raises(KeyboardInterrupt):
        run({"sft": {"lr": 3, "die": True}})
    with pytest.raises(KeyboardInterrupt):
        run({"sft": {"lr": 3, "die": True}})  # same configuration, killed before: resumes its checkpoint
    assert seen == [[], [], [], ["checkpoint-1"]]
    with open_run(tmp_path / "run", "pipeline", None):
        with pytest.raises(RunLocked):
            run({"sft": {"lr": 2}})


# ------------------------------------------------------------------ report


def test_report_reads_plain_eval_and_selfplay_folders(tmp_path):
    run_eval(tmp_path / "eval", data="items.jsonl")
    run_selfplay(Described("<s>choice_2</s>"), "pd", SelfPlayConfig(trials=1, model_label="scripted-model"), tmp_path / "sp", progress=False)
    paths = build_report([tmp_path / "eval", tmp_path / "sp"], tmp_path / "report")
    text = paths["markdown"].read_text()
    assert "## Other evaluations" in text and "Self-play equilibrium rate" in text and "scripted-model" in text
    (tmp_path / "nothing").mkdir()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "not a run folder" in result.output


# ------------------------------------------------------------------ the one bootstrap


def test_bootstrap_matches_scipy_percentile_method():
    from scipy import stats

    rng = np.random.default_rng(1)
    for data in (rng.integers(0, 2, 40).astype(float), rng.normal(size=25)):
        ours = bootstrap_ci(data, seed=7, resamples=2000)
        ref = stats.bootstrap((data,), np.mean, n_resamples=2000, method="percentile", vectorized=True,
                              **_scipy_rng(np.random.default_rng(7))).confidence_interval  # fmt: skip
        assert ours == pytest.approx((ref.low, ref.high), abs=1e-12)
        median = bootstrap_statistic(list(data), np.median, seed=3, resamples=500)
        ref = stats.bootstrap((data,), np.median, n_resamples=500, method="percentile", vectorized=False,
                              **_scipy_rng(np.random.default_rng(3))).confidence_interval  # fmt: skip
        assert median == pytest.approx((ref.low, ref.high), abs=1e-12)
    # stratified: each group alone is the plain bootstrap of that group
    group = rng.integers(0, 2, 30).astype(float)
    assert stratified_bootstrap_ci([group], seed=5) == pytest.approx(bootstrap_ci(group, seed=5))


def _scipy_rng(generator) -> dict:
    import inspect

    from scipy import stats

    return {"rng": generator} if "rng" in inspect.signature(stats.bootstrap).parameters else {"random_state": generator}


# ------------------------------------------------------------------ folders of another kind, training runs


def test_overwrite_never_clears_a_run_of_another_kind(tmp_path):
    """`recon eval --out PIPELINE_RUN --overwrite` is refused before anything is deleted."""
    with open_run(tmp_path / "run", "pipeline", None) as run:
        (run.file("train") / "sft" / "checkpoint-1").mkdir(parents=True)
    with pytest.raises(RunConflict, match="kind 'pipeline', not 'eval'") as err:
        with open_run(tmp_path / "run", "eval", {"model": "a"}, overwrite=True):
            pass
    assert "\n" not in str(err.value)
    assert (tmp_path / "run" / "train" / "sft" / "checkpoint-1").is_dir()


def test_pipeline_refuses_a_folder_that_is_not_a_run_and_adopts_an_old_pipeline_folder(tmp_path):
    stages = [Stage("data", lambda ctx: {}, "data", dirs=("data",))]
    project = tmp_path / "myproject"
    (project / "data").mkdir(parents=True)
    (project / "data" / "precious.csv").write_text("keep me")
    with pytest.raises(RunConflict, match=rf"{project} holds files .* no run manifest.*--run-dir NEW") as err:
        run_stages(stages, {}, project, console=Console(quiet=True))
    assert "\n" not in str(err.value)
    assert (project / "data" / "precious.csv").read_text() == "keep me"
    old = tmp_path / "old"  # a pipeline folder written before run manifests
    (old / "stages").mkdir(parents=True)
    run_stages(stages, {}, old, console=Console(quiet=True))
    assert json.loads((old / "run.json").read_text())["kind"] == "pipeline"


def test_pipeline_eval_with_failed_requests_is_not_done_and_a_rerun_retries_them(tmp_path, monkeypatch):
    """Failed eval requests leave the stage unfinished (FailedItems, exit 3); the rerun resumes it and asks only them."""
    from recon.pipeline import run as pipeline_run
    from recon.runs import FailedItems

    data = tmp_path / "data.jsonl"
    write_jsonl([problem(i) for i in range(3)], data)
    backend = {"now": None}
    monkeypatch.setattr(pipeline_run, "_backend", lambda section, model: backend["now"])
    stages = [Stage("data", lambda ctx: {"train": str(data), "eval": str(data)}, "data"),
              planned("eval", pipeline_run.eval_plan, "eval", needs=("data",), dirs=("eval",))]  # fmt: skip
    preset = {"model": "m", "eval": {"datasets": {"verified": {}}}}

    def flaky(messages):
        if "Problem 1" in messages[-1]["content"]:
            raise ConnectionError("server down")
        return ANSWER

    backend["now"] = ScriptedBackend(flaky, revision="s")
    with pytest.raises(FailedItems, match="stage eval has failed items \\(base on verified: 1 failed requests\\).*rerun") as err:
        run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))
    assert err.value.exit_code == EXIT_FAILED_ITEMS
    assert json.loads((tmp_path / "run" / "stages" / "eval.json").read_text())["status"] == "running"
    backend["now"] = healthy = ScriptedBackend(lambda m: ANSWER, revision="s")
    outputs = run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))
    assert len(healthy.calls) == 1 and outputs["eval"]["runs"][0]["accuracy"] == 1.0
    assert json.loads((tmp_path / "run" / "stages" / "eval.json").read_text())["status"] == "done"


def test_pipeline_command_exits_3_when_a_stage_has_failed_items(tmp_path, monkeypatch):
    from recon.pipeline import run as pipeline_run
    from recon.runs import FailedItems

    def failing(*args, **kwargs):
        raise FailedItems("stage games has failed items (selfplay base: 2 with a failed request); rerun the same command to retry them")

    monkeypatch.setattr(pipeline_run, "run_pipeline", failing)
    result = CliRunner().invoke(app, ["pipeline", "--preset", "cpu-demo", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == EXIT_FAILED_ITEMS and "stage games has failed items" in result.output


def test_standalone_training_refuses_another_configurations_checkpoints(tmp_path, capsys):
    """`recon train sft` into an output_dir trained with other settings (or another chat template) is refused,
    not auto-resumed; the same settings resume; `--overwrite true` starts over."""
    from recon.training.run import main_for

    template = tmp_path / "template.jinja"
    template.write_text("{{ messages }}")
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"model_name_or_path: m\ndataset: d.jsonl\nlearning_rate: 1.0e-4\nchat_template_path: {template}\n"
                      "use_cpu: true\nbf16: false\nlogging_steps: 1\n")  # fmt: skip
    out = tmp_path / "out"
    trained = []

    def train(script, config, model_cfg):  # stands in for SFT: leaves a checkpoint behind
        trained.append(sorted(p.name for p in out.iterdir() if not p.name.startswith((".", "run.json"))))
        (out / f"checkpoint-{len(trained)}").mkdir()
        return {}

    def launch(*extra):
        return main_for("sft", train, ["--config", str(recipe), "--output_dir", str(out), *extra])

    launch()
    launch("--logging_steps", "5")  # execution only: resumes
    for changed in (["--learning_rate", "2e-4"], []):
        if not changed:
            template.write_text("{{ other }}")
        with pytest.raises(SystemExit) as exit_:
            launch(*changed)
        assert exit_.value.code == 2
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and "--output_dir NEW" in error and "--overwrite true" in error
        assert ("config.learning_rate" if changed else f"files.{template}") in error
    launch("--overwrite", "true")
    assert trained == [[], ["checkpoint-1"], []]
