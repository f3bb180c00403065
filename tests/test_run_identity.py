"""Run identities that must not depend on how a thing is spelled: dataset names in eval."""

from __future__ import annotations

from test_runs import Described, problem

from recon.evaluation.cli import default_out_dir
from recon.evaluation.runner import EvalConfig, evaluate


def run_eval(out, data, backend=None):
    backend = backend or Described()
    problems = [problem(i) for i in range(3)]
    return evaluate(backend, problems, EvalConfig(backend=backend.name, data=data), out, show_progress=False, baselines_train=None)


def test_eval_dataset_names_are_keyed_by_one_spelling(tmp_path, monkeypatch):
    """`eval` and `recon-eval`, or one file named by a relative and an absolute path, are one run: the second
    spelling resumes it (asks nothing) and the default folder is the same."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "items.jsonl").write_text("{}\n")
    for first, second in (("eval", "recon-eval"), ("items.jsonl", str(tmp_path / "items.jsonl")),
                          (f"verified:{tmp_path.name}", f"verified:{tmp_path}")):  # fmt: skip
        if first.startswith("verified:"):
            monkeypatch.chdir(tmp_path.parent)
        out = tmp_path / f"run-{first.replace('/', '_').replace(':', '_')}"
        run_eval(out, first)
        again = Described()
        run_eval(out, second, again)
        assert again.calls == [], (first, second)
        assert default_out_dir(EvalConfig(data=first)) == default_out_dir(EvalConfig(data=second))
    # a name that is not a dataset of the registry (training's held-out slice) is never made a path
    from recon.evaluation.runner import hashed_config

    (tmp_path / "heldout").mkdir()
    assert hashed_config(EvalConfig(data="heldout"))["data"] == "heldout"
