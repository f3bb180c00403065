"""The real SmolLM2-135M-Instruct on 10 Recon-Eval items through `hf` (Python API) and `llamacpp`
(`recon eval` CLI): the three result files are complete and agree with each other (slow)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data.problem import write_jsonl
from recon.data.published import load_split
from recon.evaluation import EvalConfig, evaluate, read_records
from recon.grading import grade
from recon.inference import load_backend

MAX_TOKENS = 48


@pytest.fixture(scope="module")
def ten_items(data_dir):
    return load_split("eval", data_dir)[::30]  # one item from every other category block


def check_run(out, problems, backend_name):
    results = json.loads((out / "results.json").read_text())
    records = read_records(out / "samples.jsonl")
    markdown = (out / "results.md").read_text()
    assert results["complete"] and results["overall"]["n_items"] == len(problems) == len(records)
    assert {r["id"] for r in records} == {p.id for p in problems}
    by_id = {p.id: p for p in problems}
    for r in records:
        p = by_id[r["id"]]
        assert r["prompt"] == p.messages and r["error"] is None and 0 < r["completion_tokens"] <= MAX_TOKENS
        verdict = grade(r["completion"], p.gold, p.answer_type, p.choices, think="optional")
        assert (verdict.status, verdict.correct) == (r["status"], r["correct"])  # stored verdicts re-grade
    assert results["overall"]["accuracy"] == pytest.approx(sum(r["correct"] for r in records) / len(records))
    mean_tokens = sum(r["completion_tokens"] for r in records) / len(records)
    assert results["overall"]["mean_completion_tokens"] == pytest.approx(mean_tokens)
    for name, metrics in results["categories"].items():
        assert metrics["baselines"] is not None and name in markdown
    assert results["model"]["backend"]["backend"] == backend_name and "<|im_start|>" in results["model"]["chat_template"]
    assert results["model"]["revision"].startswith("sha256:")
    assert results["environment"]["packages"]["transformers"]
    return results, records


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_smollm2_on_ten_items_via_hf_and_llamacpp(ten_items, tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is an optional extra (make test installs it)")
    hf_out = tmp_path / "hf"
    evaluate(
        load_backend("hf", "smollm2", batch_size=10),
        ten_items,
        EvalConfig(backend="hf", max_tokens=MAX_TOKENS),
        hf_out,
        show_progress=False,
    )
    _, hf_records = check_run(hf_out, ten_items, "hf")

    data = tmp_path / "ten.jsonl"
    write_jsonl(ten_items, data)
    cpp_out = tmp_path / "llamacpp"
    result = CliRunner().invoke(
        app,
        ["eval", "--model", "smollm2", "--backend", "llamacpp", "--data", str(data), "--max-tokens", str(MAX_TOKENS),
         "--out", str(cpp_out), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Table 3" in result.output
    _, cpp_records = check_run(cpp_out, ten_items, "llamacpp")
    # Same prompts through both backends; the compare command pairs every item.
    assert [r["prompt"] for r in hf_records] == [r["prompt"] for r in cpp_records]
    compared = CliRunner().invoke(app, ["eval", "compare", str(hf_out), str(cpp_out), "--json"])
    assert compared.exit_code == 0 and json.loads(compared.output)["categories"]["overall"]["n_items"] == 10
