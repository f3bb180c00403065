"""The whole pipeline on the tiny model with minimal sizes, then the report from its JSON."""

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from recon.cli import app
from recon.data.problem import read_problems
from recon.errors import UserError
from recon.grading import grade
from recon.pipeline.preset import apply_override, load_preset


@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("pipeline-run")
    preset = load_preset("cpu-demo")
    preset.update(model=str(tiny_model_dir), name="tiny")
    # the taught slice (issue 22): two categories' traces in SFT, every other train item answer-only, a taught eval
    taught = {"train_per_category": 3, "eval_per_category": 2,
              "categories": {"time_inconsistency": {"why": "copies"}, "bertrand": {"where": {"ask": "price"}, "why": "a comparison"}}}
    preset["data"] = {"generated_per_category": 4, "eval_generated_per_category": 2, "taught": taught}
    # heldout_size: the learning curve, on 2 items of the run's own verified eval at every save
    train_args = {"max_steps": 2, "save_steps": 2, "max_train_samples": 8, "heldout_size": 2, "heldout_max_tokens": 4, "logging_steps": 1}
    preset["sft"]["args"] = {**train_args, "max_length": 256}
    preset["grpo"]["args"] = {**train_args, "max_steps": 1, "save_steps": 1, "max_completion_length": 16}
    preset["eval"] = {
        "backend": "hf",
        "max_tokens": 8,
        "datasets": {"verified": {"limit": 4, "permutations": 2}, "recon-eval": {"limit": 3}, "taught": {"limit": None, "max_tokens": 6}},
    }
    preset["games"] = {
        "backend": "hf",
        "selfplay": {"games": "pd,escalation", "trials": 1, "max_tokens": 8, "max_retries": 0},
        "arena": {"games": ["nim"], "opponents": ["random"], "matches": 1, "max_tokens": 8, "progress": False},
    }
    path = tmp_path_factory.mktemp("preset") / "preset.yaml"  # not in the run folder: a pipeline adopts no other files
    path.write_text(yaml.safe_dump(preset))
    result = CliRunner().invoke(app, ["pipeline", "--preset", str(path), "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return run_dir, path


def test_pipeline_writes_every_stage(tiny_run):
    run_dir, _ = tiny_run
    pipeline = json.loads((run_dir / "pipeline.json").read_text())
    assert list(pipeline["stages"]) == ["data", "sft", "grpo", "eval", "games", "report"]
    evals = pipeline["stages"]["eval"]["runs"]
    assert {(e["model"], e["dataset"]) for e in evals} == {
        (m, d) for m in ("base", "sft", "grpo") for d in ("verified", "recon-eval", "taught")
    }
    for e in evals:
        results = json.loads((run_dir / "eval" / e["model"] / e["dataset"] / "results.json").read_text())
        assert results["complete"] and results["overall"]["accuracy"] == e["accuracy"]
    assert (run_dir / "train" / "grpo" / "train_summary.json").exists()
    sft_rows = read_problems(run_dir / pipeline["stages"]["data"]["sft"])  # paths relative to the run folder
    traced = [p for p in sft_rows if not re.fullmatch(r"<think>\n</think>\n\n\\boxed\{.+\}", p.meta["solution"], re.S)]
    assert {p.category for p in traced} == {"time_inconsistency", "bertrand"} and len(traced) >= 6  # the slice's traces
    assert len(sft_rows) - len(traced) >= len(read_problems(run_dir / "data" / "train.jsonl")) - 8  # the rest answer-only
    assert all(grade(p.meta["solution"], p.gold, p.answer_type, p.choices).correct for p in sft_rows)
    assert [json.loads(line)["category"] for line in open(run_dir / pipeline["stages"]["data"]["taught_train"])].count("bertrand") == 3
    grpo_config = yaml.safe_load((run_dir / "train" / "grpo.yaml").read_text())
    assert grpo_config["dataset"] == str(run_dir / pipeline["stages"]["data"]["taught_train"])  # GRPO draws prompts from the slice
    taught_results = json.loads((run_dir / "eval" / "sft" / "taught" / "results.json").read_text())
    assert taught_results["overall"]["n_items"] == 4 and taught_results["config"]["max_tokens"] == 6
    assert len(pipeline["stages"]["games"]["selfplay"]) == 3 and len(pipeline["stages"]["games"]["arena"]) == 3


def test_report_numbers_come_from_the_run_json(tiny_run):
    run_dir, _ = tiny_run
    report = (run_dir / "report" / "index.md").read_text()
    for heading in ("Table 3", "Table 4", "Table 5", "Reasoning behaviour", "audit of the published labels"):
        assert heading in report
    results = json.loads((run_dir / "eval" / "grpo" / "verified" / "results.json").read_text())
    row = next(line for line in report.splitlines() if line.startswith("| grpo |"))
    assert f"{100 * results['overall']['accuracy']:.1f}" in row
    html = (run_dir / "report" / "index.html").read_text()
    assert "<table>" in html and not re.search(r'src="[^"]+\.png"', html)
    assert (run_dir / "report" / "accuracy_by_category.png").stat().st_size > 1000
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    o = results["overall"]
    assert summary["models"]["grpo"] == {"n_items": o["n_items"], "accuracy": o["accuracy"], "ci_low": o["ci95"][0], "ci_high": o["ci95"][1]}
    assert f"| *baseline: {summary['best_baseline']['name']} (best)* |" in report and "payoff_blind_ngram" in report
    taught = json.loads((run_dir / "eval" / "grpo" / "taught" / "results.json").read_text())["overall"]
    assert summary["taught_slice"]["categories"] == ["bertrand", "time_inconsistency"] and summary["taught_slice"]["n_items"] == 4
    assert summary["taught_slice"]["models"]["grpo"]["accuracy"] == taught["accuracy"] and summary["taught_slice"]["best_baseline"]["name"]
    assert "## The taught slice" in report
    for kind in ("sft", "grpo"):  # the learning curve: held-out items from this run's verified eval
        config = yaml.safe_load((run_dir / "train" / f"{kind}.yaml").read_text())
        assert config["heldout_split"] == str(run_dir / "data" / "eval.jsonl")
        assert f"| {kind} | {config['max_steps']} |" in report
    assert (run_dir / "report" / f"learning_curve_{run_dir.name}.png").exists()
    selfplay = json.loads((run_dir / "games" / "sft" / "selfplay" / "results.json").read_text())
    overall = selfplay["table4"]["overall"]  # Table 4 with its intervals, from the self-play results
    row = next(line for line in report.splitlines() if line.startswith("| **overall average** |"))
    assert f"{100 * overall['estimate']:.1f} [{100 * overall['low']:.0f}–{100 * overall['high']:.0f}]" in row
    first = selfplay["blind_policies"]["first_action"]["overall"]  # pd (0) and escalation (1): the baseline columns
    assert first == 0.5 and row.endswith(f"| {100 * first:.1f} | {100 * selfplay['blind_policies']['uniform_random']['overall']:.1f} |")


def test_rerun_is_cached(tiny_run):
    run_dir, path = tiny_run
    result = CliRunner().invoke(app, ["pipeline", "--preset", str(path), "--run-dir", str(run_dir)])
    assert result.exit_code == 0
    assert result.output.count("cached") == 6


def test_report_command(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    result = CliRunner().invoke(app, ["report", str(run_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "index.html").exists() and json.loads((tmp_path / "report.json").read_text())["runs"]


def test_preset_overrides():
    preset = load_preset("cpu-demo", ["grpo.args.max_steps=3", "eval.backend=hf"])
    assert preset["grpo"]["args"]["max_steps"] == 3 and preset["eval"]["backend"] == "hf"
    with pytest.raises(UserError, match="key.sub=value"):
        apply_override(preset, "nonsense")
    with pytest.raises(UserError, match="unknown preset"):
        load_preset("no-such-preset")


def test_paper_preset_names_existing_recipes():
    from recon.pipeline.preset import PRESET_DIR

    for name in ("paper", "cpu-demo"):
        preset = load_preset(name)
        for stage in ("sft", "grpo"):
            assert (PRESET_DIR.parent.parent / preset[stage]["recipe"]).exists()
