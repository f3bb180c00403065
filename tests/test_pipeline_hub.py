"""`recon pipeline --hub-id`: a clone without ../shared/data/recon reads every stage's published data from a HF
hub dataset (here a local folder laid out as one, `hub_repo`), and without either the pipeline stops
before its first stage."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from recon.cli import app
from recon.pipeline.preset import load_preset


@pytest.fixture
def no_local_data(tmp_path, monkeypatch):
    """A working folder and a `$RECON_DATA_DIR` without the published CSVs."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("RECON_DATA_DIR", str(empty))
    monkeypatch.chdir(tmp_path)
    return empty


def pipeline(*args: str):
    return CliRunner().invoke(app, ["pipeline", *args])


def test_without_local_data_or_hub_id_the_run_stops_before_any_stage(no_local_data, tmp_path):
    result = pipeline("--preset", "cpu-demo", "--run-dir", "out")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(no_local_data) in lines[0], result.stderr
    assert "--hub-id MasterZhou/Recon" in lines[0] and "RECON_DATA_DIR" in lines[0]
    assert not (tmp_path / "out").exists()
    # The dry run says the same and runs nothing; training and eval stages name the missing data too.
    result = pipeline("--preset", "cpu-demo", "--dry-run", "--set", "sft.dataset=sft_cot")
    assert result.exit_code == 0, result.output
    assert "published data not found" in result.stdout and "a run stops before its first stage" in result.stdout
    assert "data published sft_cot split: published data not found" in result.stdout


def test_a_run_that_reads_no_published_data_needs_none(no_local_data, tmp_path):
    """`--only games` on a cached run folder reads no published split, so missing data does not stop it
    (it stops later, at the never-run stages it needs)."""
    result = pipeline("--preset", "cpu-demo", "--run-dir", "out", "--only", "games")
    assert "published data not found" not in result.output + result.stderr
    assert "has never run" in repr(result.exception)


def test_dry_run_shows_the_hub_id_and_the_flag_overrides_the_preset(no_local_data):
    result = pipeline("--preset", "paper", "--dry-run", "--num-gpus", "1", "--set", "data.hub_id=org/from-preset")
    assert result.exit_code == 0, result.output
    assert "published splits from hub dataset org/from-preset" in result.stdout
    result = pipeline("--preset", "paper", "--dry-run", "--num-gpus", "1", "--set", "data.hub_id=org/from-preset",
                      "--hub-id", "org/from-flag")  # fmt: skip
    out = result.stdout
    assert result.exit_code == 0 and "org/from-preset" not in out, out
    for text in ("published splits from hub dataset org/from-flag",
                 "data published sft_cot split from hub dataset org/from-flag",
                 "dataset recon-eval: published eval split from hub dataset org/from-flag"):  # fmt: skip
        assert text in out, text


def test_preset_hub_id_must_be_text(no_local_data):
    result = pipeline("--preset", "cpu-demo", "--dry-run", "--set", "data.hub_id=[1]")
    assert result.exit_code == 2 and "data.hub_id: expected str" in result.stderr, result.output


def test_every_stage_reads_the_hub_dataset(no_local_data, hub_repo, tiny_model_dir, tmp_path):
    """Data build, the SFT source (`sft_cot`), the training process's held-out split (the published `eval`
    here) and the eval's `recon-eval` all come from the hub dataset; the local data folder is empty."""
    preset = load_preset("cpu-demo")
    preset.update(model=str(tiny_model_dir), name="hub", stages=["data", "sft", "eval"])
    preset["data"] = {"generated_per_category": 2, "eval_generated_per_category": 1, "shortcut_items": 0}
    preset["sft"]["dataset"] = "sft_cot"
    preset["sft"]["args"] = {"max_steps": 1, "save_steps": 1, "max_train_samples": 4, "max_length": 512, "per_device_train_batch_size": 2,
                             "heldout_split": "eval", "heldout_size": 1, "heldout_max_tokens": 4, "logging_steps": 1}  # fmt: skip
    preset["eval"] = {"backend": "hf", "max_tokens": 4, "datasets": {"recon-eval": {"limit": 2}}}
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / "run"
    result = pipeline("--preset", str(path), "--run-dir", str(run_dir), "--hub-id", str(hub_repo))
    assert result.exit_code == 0, result.output + repr(result.exception)

    stages = json.loads((run_dir / "pipeline.json").read_text())["stages"]
    build = json.loads((run_dir / "data" / "build_report.json").read_text())
    assert stages["data"]["counts"] and build  # the verified splits were built from the hub's published rows
    assert stages["sft"]["data_filter"]["items"] == 866  # the published SFT-CoT, read from the hub
    assert yaml.safe_load((run_dir / "train" / "sft.yaml").read_text())["hub_id"] == str(hub_repo)
    heldout = [json.loads(line) for line in (run_dir / "train" / "sft" / "heldout" / "summary.jsonl").read_text().splitlines()]
    assert heldout and heldout[-1]["n_items"] == 1  # the training process read its held-out `eval` split there too
    assert {(e["model"], e["dataset"]) for e in stages["eval"]["runs"]} == {("base", "recon-eval"), ("sft", "recon-eval")}
    results = json.loads((run_dir / "eval" / "base" / "recon-eval" / "results.json").read_text())
    assert results["overall"]["n_items"] == 2
