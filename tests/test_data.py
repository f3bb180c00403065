"""Loading the published data, the Problem record, the data report and contamination checks."""

import json
import shutil
from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data.contamination import contamination_report, mask_numbers, overlapping
from recon.data.problem import Problem, from_dataset, read_problems, to_dataset, write_jsonl
from recon.data.published import CATEGORY_BLOCKS, DataFormatError, load_all, load_split
from recon.data.report import baseline_accuracies, data_report, fit_baselines


@pytest.fixture(scope="module")
def published(data_dir):
    return load_all(data_dir)


def test_split_sizes_and_category_blocks(published):
    assert {k: len(v) for k, v in published.items()} == {"train": 1800, "eval": 300, "sft_cot": 866}
    for split, column in (("train", 1), ("eval", 2)):
        counts = Counter(p.category for p in published[split])
        assert counts == {block[0]: block[column] for block in CATEGORY_BLOCKS}


def test_answer_types_and_golds(published):
    types = {p.category: p.answer_type for p in published["eval"]}
    assert types["econnli"] == "yes_no" and types["econlogicqa"] == "ordering"
    assert types["pure_nash"] == types["pte"] == "pairs" and types["trigger"] == "option"
    for p in published["train"]:
        if p.answer_type == "option":
            assert 1 <= p.gold_option <= len(p.choices)
            assert p.gold.split(": ", 1)[1] == p.choices[p.gold_option - 1]


def test_sft_cot_rows_keep_the_teacher_response(published):
    sft = published["sft_cot"]
    assert all("</think>" in p.meta["response"] for p in sft[:50])
    matched = [p for p in sft if p.meta["train_id"]]
    assert len(matched) > 800
    train = {p.id: p for p in published["train"]}
    assert all(train[p.meta["train_id"]].category == p.category for p in matched)


def _copy_csvs(data_dir, tmp_path):
    for name in ("train_dataset.csv", "eval_dataset.csv", "sft_cot_dataset.csv"):
        shutil.copy(data_dir / name, tmp_path / name)
    return tmp_path


def _swap_rows(df):
    df.iloc[[5, 285]] = df.iloc[[285, 5]].values  # an enforceability row swapped with a pte row
    return df


def _set_cell(row, column, value):
    def edit(df):
        df.loc[row, column] = value
        return df

    return edit


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (_swap_rows, r"eval_dataset.csv row 6: .*enforceability"),
        (_set_cell(41, "prompt", "__import__('os').system('echo pwned')"), r"eval_dataset.csv row 42: prompt is not a message list"),
        (_set_cell(0, "answer", "Option 9: nothing"), r"row 1: answer 'Option 9: nothing'"),
        (lambda df: df.iloc[:-1], "expected 300 rows, found 299"),
    ],
    ids=["reordered", "malformed-prompt", "answer-outside-options", "truncated"],
)
def test_damaged_eval_file_names_file_and_row(data_dir, tmp_path, edit, error):
    _copy_csvs(data_dir, tmp_path)
    df = pd.read_csv(tmp_path / "eval_dataset.csv", dtype=str, keep_default_na=False)
    edit(df).to_csv(tmp_path / "eval_dataset.csv", index=False)
    with pytest.raises(DataFormatError, match=error):
        load_split("eval", tmp_path)


def test_hub_loading_code_path_on_a_local_dataset_repo(data_dir, hub_repo):
    """`load_dataset(hub_id)` reads a hub-style repository; a local folder exercises the same code."""
    from_hub = load_split("eval", hub_id=str(hub_repo))
    assert [p.to_dict() for p in from_hub] == [p.to_dict() for p in load_split("eval", data_dir)]
    sft = load_split("sft_cot", hub_id=str(hub_repo))
    assert len(sft) == 866 and sft[0].meta["response"]


def test_jsonl_and_dataset_round_trip(published, tmp_path):
    sample = published["eval"][::37] + published["sft_cot"][:3]
    write_jsonl(sample, tmp_path / "p.jsonl")
    assert [p.to_dict() for p in read_problems(tmp_path / "p.jsonl")] == [p.to_dict() for p in sample]
    ds = to_dataset(sample)
    assert {"prompt", "gold", "answer_type", "choices"} <= set(ds.column_names)
    assert [p.to_dict() for p in from_dataset(ds)] == [p.to_dict() for p in sample]


def test_bad_jsonl_line_is_reported(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: record 1: .*missing"):
        read_problems(path)


def test_problem_validation():
    with pytest.raises(ValueError, match="needs choices"):
        Problem("x", "c", "s", "q", None, "option", "Option 1: a", [{"role": "user", "content": "q"}])
    with pytest.raises(ValueError, match="answer_type"):
        Problem("x", "c", "s", "q", None, "essay", "a", [{"role": "user", "content": "q"}])


def test_baselines_match_direct_counts(published):
    train, evaluation = published["train"], published["eval"]
    table = baseline_accuracies(train, evaluation)
    for category in ("trigger", "auction_risk", "bayes_nash"):
        items = [p for p in evaluation if p.category == category]
        for k in range(1, 5):
            assert table[category][f"option_{k}"] == pytest.approx(sum(p.gold_option == k for p in items) / len(items))
        assert table[category]["random"] == pytest.approx(sum(1 / len(p.choices) for p in items) / len(items))
    assert table["econnli"]["option_1"] is None and table["econnli"]["random"] == 0.5
    # The majority answer is learned from train: in econnli train the majority is whatever train says.
    majority = Counter(p.gold for p in train if p.category == "econnli").most_common(1)[0][0]
    assert fit_baselines(train)["majority"](evaluation[230]) == majority
    items = [p for p in evaluation if p.category == "econnli"]
    assert table["econnli"]["majority"] == pytest.approx(sum(p.gold == majority for p in items) / len(items))
    assert table["overall"]["option_1"] == pytest.approx(sum(p.gold_option == 1 for p in evaluation) / 300)


def test_contamination_counts_on_synthetic_sets():
    def prob(i, q, cat="c"):
        return Problem(str(i), cat, "s", q, ["a", "b"], "option", "Option 1: a", [{"role": "user", "content": q}])

    train = [prob(1, "Pay $10 now?"), prob(2, "Pay $10 now?  "), prob(3, "Pay $99 now?"), prob(4, "Other")]
    evaluation = [prob(5, "pay $10 NOW?"), prob(6, "Pay $5 now?"), prob(7, "Pay $10 now?", cat="d")]
    report = contamination_report({"train": train, "eval": evaluation})
    assert report["within"]["train"] == {"items": 4, "exact": 1, "near": 2}
    assert report["across"]["eval in train"]["exact"] == 1
    assert report["across"]["eval in train"]["near"] == 2
    assert mask_numbers("Pay $1,000.50 at 3.5%") == "pay # at #"
    assert [p.id for p in overlapping(evaluation, train)] == ["5"]


def test_report_cli_json(data_dir, tmp_path):
    result = CliRunner().invoke(app, ["data", "report", "--data-dir", str(data_dir), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["categories"]["overall"]["eval"]["items"] == 300
    assert report["categories"]["trigger"]["train"]["gold_positions"] == {"1": 250}
    assert (tmp_path / "report.md").read_text().startswith("## Items")
    assert report == json.loads((tmp_path / "report.json").read_text())


def test_data_report_contamination_includes_all_pairs(published):
    report = data_report(published)
    assert set(report["contamination"]["across"]) == {
        "train in eval", "train in sft_cot", "eval in train", "eval in sft_cot", "sft_cot in train", "sft_cot in eval",
    }
    assert report["contamination"]["across"]["sft_cot in train"]["exact"] >= 800


def test_export_cli(data_dir, tmp_path):
    out = tmp_path / "eval.jsonl"
    result = CliRunner().invoke(app, ["data", "export", "eval", "--out", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert len(read_problems(out)) == 300
