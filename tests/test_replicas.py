"""Data-parallel replicas (`--backend-option replicas=N`): the same completions as one backend, in the
caller's order, each worker on its own device, failures raised in the parent, and no change to a run's
identity. The workers are real spawned processes sharing this machine's CPU."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from replica_helpers import echo, environment, exit_on_boom, no_text_on_bad
from typer.testing import CliRunner

from recon.cli import app
from recon.errors import UserError
from recon.inference import SamplingParams, load_backend
from recon.inference.base import closing_backend
from recon.inference.replicas import ReplicaBackend, ReplicaError, shard_bounds
from recon.runs import backend_identity


def questions(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"question {i}" + "?" * i}] for i in range(n)]


def texts(outputs) -> list[list[tuple]]:
    """What a completion says (its latency aside)."""
    return [[(c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.error) for c in comps] for comps in outputs]


@pytest.fixture(autouse=True)
def no_visible_devices_set(monkeypatch):
    """Replica i gets GPU i unless a test sets the parent's CUDA_VISIBLE_DEVICES."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_shards_are_contiguous_and_never_empty():
    assert shard_bounds(5, 2) == [(0, 3), (3, 5)]
    assert shard_bounds(2, 3) == [(0, 1), (1, 2)]
    assert shard_bounds(8, 8) == [(i, i + 1) for i in range(8)]
    assert shard_bounds(0, 2) == []


@pytest.mark.parametrize("count", [5, 2, 0])  # uneven shards; fewer conversations than replicas; none
def test_scripted_replicas_answer_as_one_backend_in_order(count):
    params = SamplingParams(temperature=0.7, n=2, max_tokens=16)
    keys = [f"k{i}" for i in range(count)]
    single = load_backend("scripted", respond=echo).generate(questions(count), params, keys=keys)
    reported = []
    with closing_backend(load_backend("scripted", respond=echo, replicas=3)) as backend:
        assert isinstance(backend, ReplicaBackend)
        outputs = backend.generate(questions(count), params, progress=lambda done, tokens: reported.append((done, tokens)), keys=keys)
    assert texts(outputs) == texts(single) and len(outputs) == count
    assert sum(done for done, _ in reported) == count
    assert sum(tokens for _, tokens in reported) == sum(c.completion_tokens for comps in single for c in comps)


def test_one_replica_is_the_backend_itself():
    assert type(load_backend("scripted", respond=echo, replicas=1)).__name__ == "ScriptedBackend"


def test_replicas_change_no_identity():
    single = load_backend("scripted", respond=echo)
    with closing_backend(load_backend("scripted", respond=echo, replicas=2)) as backend:
        assert backend.describe() == single.describe() and backend.name == "scripted"
        assert backend_identity(backend.describe(), {"replicas": 2}) == backend_identity(single.describe(), {}) == backend_identity(single.describe())
        assert backend_identity(backend.describe(), {"replicas": 2, "seed_text": "x"}) == backend_identity(single.describe(), {"seed_text": "x"})


def test_each_worker_sees_its_own_device(monkeypatch):
    with closing_backend(load_backend("scripted", respond=environment, replicas=2)) as backend:
        seen = [json.loads(comps[0].text) for comps in backend.generate(questions(2), SamplingParams())]
    assert [s["cuda"] for s in seen] == ["0", "1"]
    assert len({s["pid"] for s in seen} | {multiprocessing.current_process().pid}) == 3
    # the parent's own CUDA_VISIBLE_DEVICES: replica i gets its i-th device
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    with closing_backend(load_backend("scripted", respond=environment, replicas=2)) as backend:
        assert [json.loads(comps[0].text)["cuda"] for comps in backend.generate(questions(2), SamplingParams())] == ["5", "7"]
    with pytest.raises(UserError, match="CUDA_VISIBLE_DEVICES=5,7 names only 2 devices"):
        load_backend("scripted", respond=environment, replicas=3)


def test_a_worker_exception_is_raised_in_the_parent_and_the_replicas_go_on():
    backend = load_backend("scripted", respond=no_text_on_bad, replicas=2)
    try:
        conversations = [[{"role": "user", "content": text}] for text in ("fine", "fine", "bad")]
        with pytest.raises(TypeError) as raised:
            backend.generate(conversations, SamplingParams())
        assert isinstance(raised.value.__cause__, ReplicaError) and "in replica 1" in str(raised.value.__cause__)
        assert texts(backend.generate(conversations[:2], SamplingParams())) == [[("ok", "stop", 1, 1, None)]] * 2
    finally:
        backend.close()
    assert not any(worker.is_alive() for worker in backend.workers)


def test_a_worker_exception_crosses_as_text_and_is_rebuilt_from_an_allow_list():
    """A worker sends its exception as text (nothing is unpickled from it): a UserError stays one (exit 2), a
    built-in type keeps its type (the TypeError above, through real workers), any other type arrives as a
    RuntimeError naming it; the traceback text goes along."""
    from replica_helpers import ProjectSpecificError

    from recon.inference.replicas import _portable, _rebuilt

    def crossed(exc: Exception) -> tuple[Exception, str]:
        try:
            raise exc
        except Exception as raised:  # noqa: BLE001 - a traceback to carry
            name, message, user_error, text = _portable(raised)
        assert all(isinstance(field, str) for field in (name, message, text)) and isinstance(user_error, bool)
        return _rebuilt(name, message, user_error), text

    custom, text = crossed(ProjectSpecificError("the worker's own error type"))
    assert type(custom) is RuntimeError and str(custom) == "ProjectSpecificError: the worker's own error type"
    assert "raise exc" in text
    user, _ = crossed(UserError("bad input seen in the worker"))
    assert type(user) is UserError and str(user) == "bad input seen in the worker"
    key, _ = crossed(KeyError("k"))
    assert type(key) is KeyError


def test_a_dead_worker_stops_all_replicas():
    backend = load_backend("scripted", respond=exit_on_boom, replicas=2)
    conversations = [[{"role": "user", "content": text}] for text in ("fine", "boom")]
    with pytest.raises(ReplicaError, match="replica 1 .* exited with code 7"):
        backend.generate(conversations, SamplingParams())
    assert not any(worker.is_alive() for worker in backend.workers)
    with pytest.raises(RuntimeError, match="closed"):
        backend.generate(conversations[:1], SamplingParams())


def test_hf_replicas_generate_what_one_hf_backend_does(tiny_model_dir):
    options = dict(batch_size=1, device="cpu", threads=1)
    conversations = questions(4)
    keys = [f"item-{i}" for i in range(4)]
    greedy, sampled = SamplingParams(max_tokens=8, stop_at_answer=False), SamplingParams(max_tokens=8, temperature=1.0, n=2, seed=3, stop_at_answer=False)
    with closing_backend(load_backend("hf", str(tiny_model_dir), **options)) as backend:
        expected = [texts(backend.generate(conversations, params, keys=keys)) for params in (greedy, sampled)]
    with closing_backend(load_backend("hf", str(tiny_model_dir), replicas=2, **options)) as backend:
        got = [texts(backend.generate(conversations, params, keys=keys)) for params in (greedy, sampled)]
    assert got == expected
    assert len({comps[0][0] for comps in expected[1]}) == 4  # the items' samples differ: their order is checked


SCRIPT = 'respond=["\\\\boxed{Option 3: c}"]'
ROWS = [{"id": f"p{i}", "category": "c", "question": f"q{i}?", "answer_type": "option", "gold": "Option 3: c",
         "choices": ["a", "b", "c"], "messages": [{"role": "user", "content": f"q{i}?"}]} for i in range(5)]  # fmt: skip


@pytest.fixture
def eval_args(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return ["eval", "--backend", "scripted", "--data", "d.jsonl", "--quiet", "--backend-option", SCRIPT, "--out", "run"]


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", "true"])
def test_a_bad_replicas_value_is_one_line_exit_2(eval_args, value):
    result = CliRunner().invoke(app, [*eval_args, "--backend-option", f"replicas={value}"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "replicas=" in lines[0] and "whole number >= 1" in lines[0], result.stderr


def test_eval_with_replicas_resumes_as_the_same_run(eval_args, tmp_path):
    first = CliRunner().invoke(app, [*eval_args, "--backend-option", "replicas=2"])
    assert first.exit_code == 0, first.output
    samples = (tmp_path / "run" / "samples.jsonl").read_text()
    again = CliRunner().invoke(app, eval_args)  # no replicas: the same identity, nothing left to answer
    assert again.exit_code == 0, again.output
    assert (tmp_path / "run" / "samples.jsonl").read_text() == samples and len(samples.splitlines()) == len(ROWS)
