"""The verified eval in the report: baselines in Table 3 (payoff-blind on exactly the evaluated items), the
best baseline in summary.json, categories below it named, accuracy where the blind baseline is wrong,
and the learning curve from the training's held-out summaries — on a hand-made pipeline run folder."""

import json

from recon.report.build import build_report

# item → (category, sft correct, payoff-blind correct)
ITEMS = {
    "a0": ("alpha", True, True), "a1": ("alpha", False, True), "a2": ("alpha", True, False), "a3": ("alpha", True, False),
    "b0": ("beta", False, True), "b1": ("beta", True, False), "b2": ("beta", False, False), "b3": ("beta", False, False),
}


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def make_run(tmp_path, with_predictions=True):
    run = tmp_path / "run"
    data, sft, grpo = run / "data", run / "train" / "sft", run / "train" / "grpo"
    data.mkdir(parents=True)
    if with_predictions:
        blind = [{"id": i, "category": c, "prediction": "Option 1", "correct": b} for i, (c, _, b) in ITEMS.items()]
        # an eval item this run did not evaluate (a limit): never counted
        write_jsonl(data / "shortcut_predictions.jsonl", blind + [{"id": "x9", "category": "alpha", "prediction": "Option 2", "correct": True}])
    eval_dir = run / "eval" / "sft" / "verified"
    write_jsonl(eval_dir / "samples.jsonl", [
        {"id": i, "key": f"{i}#p0#s0", "category": c, "answer_type": "option", "correct": s, "perm": 0, "status": "ok", "completion": "x"}
        for i, (c, s, _) in ITEMS.items()
    ])
    results = {
        "overall": {"n_items": 8, "accuracy": 0.5, "ci95": [0.2, 0.8], "baselines": {"option_1": 0.25, "majority": 0.3, "random": 0.25}},
        "categories": {
            "alpha": {"n_items": 4, "accuracy": 0.75, "ci95": [0.25, 1.0], "baselines": {"option_1": 0.5, "majority": 0.25}},
            "beta": {"n_items": 4, "accuracy": 0.25, "ci95": [0.0, 0.75], "baselines": {"option_1": 0.0, "majority": 0.5}},
        },
    }
    (eval_dir / "results.json").write_text(json.dumps(results))
    write_jsonl(sft / "heldout" / "summary.jsonl", [{"step": 2, "accuracy": 0.25, "n_items": 4}, {"step": 4, "accuracy": 0.5, "n_items": 4}])
    write_jsonl(grpo / "heldout" / "summary.jsonl", [{"step": 3, "accuracy": 0.75, "n_items": 4}])
    stages = {"data": {"dir": str(data)}, "sft": {"checkpoint": str(sft)}, "grpo": {"checkpoint": str(grpo)},
              "eval": {"runs": [{"model": "sft", "dataset": "verified", "dir": str(eval_dir), "accuracy": 0.5}]}}
    (run / "pipeline.json").write_text(json.dumps({"preset": {"name": "t"}, "stages": stages, "seconds": 1}))
    return run


def test_summary_names_the_payoff_blind_baseline_measured_on_the_evaluated_items(tmp_path):
    paths = build_report([make_run(tmp_path)], tmp_path / "report")
    summary = json.loads(paths["summary"].read_text())
    assert summary["models"] == {"sft": {"n_items": 8, "accuracy": 0.5, "ci_low": 0.2, "ci_high": 0.8}}
    # 3 of the 8 evaluated items (x9 is not one): above majority 30% and option_1 25%
    assert summary["best_baseline"] == {"name": "payoff_blind_ngram", "accuracy": 0.375}
    # blind wrong on a2 a3 b1 b2 b3; sft right on a2 a3 b1
    wrong = summary["accuracy_where_payoff_blind_wrong"]["sft"]
    assert wrong["overall"] == {"n": 5, "accuracy": 0.6} and wrong["alpha"] == {"n": 2, "accuracy": 1.0}
    text = paths["markdown"].read_text()
    assert "| *baseline: payoff_blind_ngram (best)* | — | 37.5 | | | |" in text
    assert "| *baseline: majority* | — | 30.0 | | | |" in text
    assert "95% lower bound minus it, in points: sft -17.5." in text
    assert "| beta | 4 | 25.0 [0–75] | 50.0 (majority) |" in text
    assert "**Below the best baseline** (accuracy under the category's best baseline): sft: beta." in text
    assert "| **overall** | 60.0 (5) |" in text


def test_learning_curve_table_and_figure_from_the_heldout_summaries(tmp_path):
    paths = build_report([make_run(tmp_path)], tmp_path / "report")
    text = paths["markdown"].read_text()
    # Wilson intervals from n_items: 2/4 → [15, 85], 3/4 → [30, 95]; no format rate recorded → —
    assert "| sft | 4 | 50.0 [15–85] | — |" in text and "| grpo | 3 | 75.0 [30–95] | — |" in text
    assert paths["learning_curve_run"].read_bytes().startswith(b"\x89PNG")


def test_without_the_builds_predictions_the_report_says_the_blind_baseline_is_missing(tmp_path):
    paths = build_report([make_run(tmp_path, with_predictions=False)], tmp_path / "report")
    summary = json.loads(paths["summary"].read_text())
    assert summary["best_baseline"] == {"name": "majority", "accuracy": 0.3}
    assert summary["accuracy_where_payoff_blind_wrong"] == {}
    assert "the payoff-blind baseline is missing" in paths["markdown"].read_text().lower()
