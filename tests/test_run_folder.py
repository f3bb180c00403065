"""The pipeline's run folder: state stored relative to the folder, read through `recon.runs`' typed reader by
the pipeline and the report, and a dry run planned by the very stage objects that run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from recon.errors import UserError
from recon.pipeline.stages import Plan, Stage, planned, run_stages
from recon.runs import PIPELINE_FILE, read_heldout, read_pipeline_state

RESULTS = {"overall": {"accuracy": 0.5}, "categories": {"bargaining": {"accuracy": 0.5}}}


def write_eval(ctx):
    folder = ctx.path("eval", "base", "verified", "results.json").parent
    (folder / "results.json").write_text(json.dumps(RESULTS))
    (folder / "samples.jsonl").write_text(json.dumps({"key": "p0#p0#s0", "completion": "so \\boxed{Option 1}"}) + "\n")
    return {"runs": [{"model": "base", "dataset": "verified", "dir": str(folder), "accuracy": 0.5}]}


def stages(seen):
    def data(ctx):
        ctx.path("data", "train.jsonl").write_text("{}\n")
        return {"dir": str(ctx.where("data")), "train": str(ctx.where("data", "train.jsonl"))}

    def uses_data(ctx):
        seen.append(ctx.output("data", "train").read_text())
        return write_eval(ctx)

    return [Stage("data", data, "data", dirs=("data",)), Stage("eval", uses_data, "eval", needs=("data",), dirs=("eval",))]


def test_state_paths_are_relative_to_the_run_folder_and_survive_a_move(tmp_path, monkeypatch):
    """Run as `--run-dir runs/x` from one folder; then the folder moves and is reread and resumed from another."""
    from recon.report.build import build_report

    monkeypatch.chdir(tmp_path)
    seen = []
    run_stages(stages(seen), {"model": "m"}, tmp_path / "runs" / "x", console=Console(quiet=True))
    run_stages(stages(seen), {"model": "m"}, Path("runs/x"), console=Console(quiet=True), only=["eval"], force=True)
    state = read_pipeline_state(tmp_path / "runs" / "x")
    assert state.stages["data"] == {"dir": "data", "train": "data/train.jsonl"}
    assert state.stages["eval"]["runs"][0]["dir"] == "eval/base/verified"
    moved = tmp_path / "elsewhere" / "y"
    shutil.move(tmp_path / "runs" / "x", moved)
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert read_pipeline_state(moved).path(read_pipeline_state(moved).stages["data"]["train"]).is_file()
    run_stages(stages(seen), {"model": "m"}, moved, console=Console(quiet=True), from_stage="eval")  # the cached data stage's paths resolve
    assert seen == ["{}\n"] * 3
    report = build_report([moved], tmp_path / "report")["markdown"].read_text()
    assert "Reasoning behaviour" in report and "50.0" in report  # the eval section was found after the move
    # `make demo`'s run folder is relative (runs/cpu-demo): results are found through it, not through it twice
    report = build_report([Path("y")], tmp_path / "report-relative")["markdown"].read_text()
    assert "Reasoning behaviour" in report and "50.0" in report


def test_a_section_the_state_names_but_the_folder_lacks_is_a_one_line_error(tmp_path):
    from recon.report.build import build_report

    run_dir = tmp_path / "run"
    run_stages(stages([]), {"model": "m"}, run_dir, console=Console(quiet=True))
    shutil.rmtree(run_dir / "eval" / "base")
    with pytest.raises(UserError) as error:
        build_report([run_dir], tmp_path / "report")
    message = str(error.value)
    assert "\n" not in message and str(run_dir / "eval" / "base" / "verified") in message and "eval" in message
    (run_dir / PIPELINE_FILE).unlink()
    with pytest.raises(UserError, match=f"without {PIPELINE_FILE}"):
        build_report([run_dir], tmp_path / "report")


def test_heldout_rows_written_by_training_are_read_by_the_report(tmp_path):
    from recon.report.build import load_run
    from recon.training.run import _write_heldout

    def sft(ctx):  # stands in for training: a held-out evaluation at two saves
        checkpoint = ctx.path("train", "sft", "heldout").parent
        for step, accuracy in ((2, 0.25), (4, 0.5)):
            name = f"checkpoint-{step}"
            _write_heldout(str(checkpoint), step, checkpoint / "heldout" / name, str(checkpoint / name), {"accuracy": accuracy})
        return {"checkpoint": str(checkpoint)}

    run_stages([Stage("sft", sft, "sft")], {"model": "m"}, tmp_path / "run", console=Console(quiet=True))
    assert [(row["step"], row["accuracy"]) for row in read_heldout(tmp_path / "run" / "train" / "sft")] == [(2, 0.25), (4, 0.5)]
    assert [row["step"] for row in load_run(tmp_path / "run").heldout["sft"]] == [2, 4]


def test_the_dry_run_prints_the_plan_of_the_stage_objects_that_run(tmp_path, monkeypatch):
    """No `_describe_*` twins: every pipeline stage has a planner, the dry run prints its lines with the
    outputs earlier stages plan, and the run executes that same plan."""
    from recon.pipeline import run as pipeline_run

    assert all(stage.plan is not None for stage in pipeline_run.STAGES)
    assert not [name for name in vars(pipeline_run) if name.startswith("_describe") or name == "DESCRIBE"]
    executed = []

    def first(ctx):
        out = ctx.where("data", "file.txt")
        return Plan([f"writes {out}"], {"file": str(out)}, lambda: executed.append("first") or {"file": str(out)})

    def second(ctx):
        source = ctx.output("data", "file")
        return Plan([f"reads {source}"], {}, lambda: executed.append(f"second {source}") or {})

    monkeypatch.setattr(pipeline_run, "STAGES", [planned("data", first, "one"), planned("eval", second, "two", needs=("data",))])
    run_dir = tmp_path / "run"
    lines = pipeline_run.plan({"name": "t", "model": "m", "data": {"hub_id": "org/x"}}, run_dir)
    assert f"   writes {run_dir / 'data' / 'file.txt'}" in lines and f"   reads {run_dir / 'data' / 'file.txt'}" in lines
    assert executed == [] and not run_dir.exists()
    pipeline_run.run_stages(pipeline_run.STAGES, {"model": "m"}, run_dir, console=Console(quiet=True))
    assert executed == ["first", f"second {run_dir / 'data' / 'file.txt'}"]


def test_the_eval_plan_names_the_folders_its_run_writes(tmp_path, monkeypatch):
    from test_runs import ANSWER, problem

    from recon.data.problem import write_jsonl
    from recon.inference import ScriptedBackend
    from recon.pipeline import run as pipeline_run
    from recon.pipeline.stages import StageContext

    data = tmp_path / "run" / "data"
    data.mkdir(parents=True)
    write_jsonl([problem(i) for i in range(2)], data / "eval.jsonl")
    monkeypatch.setattr(pipeline_run, "_backend", lambda section, model: ScriptedBackend(lambda m: ANSWER, revision="s"))
    outputs = {"data": {"eval": "data/eval.jsonl", "train": "data/eval.jsonl"}, "sft": {"checkpoint": "train/sft"}}
    ctx = StageContext(tmp_path / "run", {"datasets": {"verified": {}}}, {"model": "m"}, outputs, Console(quiet=True))
    stage_plan = pipeline_run.eval_plan(ctx)
    result = stage_plan.execute()
    assert [(r["model"], r["dir"]) for r in result["runs"]] == [(r["model"], r["dir"]) for r in stage_plan.outputs["runs"]]
    assert [r["model"] for r in result["runs"]] == ["base", "sft"]
    assert f"sft = {tmp_path / 'run' / 'train' / 'sft'} → {tmp_path / 'run' / 'eval' / 'sft' / 'verified'}" in stage_plan.lines
