"""The CPU study presets: a learning curve from a held-out slice, 20 self-play trials, an ablation that
leaves categories out of the training files only, `extends`, and eval limits stratified by category."""

from collections import Counter

import pytest

from recon.data.problem import Problem, read_problems, stratified_slice, write_jsonl
from recon.data.taught import TAUGHT_TRAIN_KEPT
from recon.evaluation.runner import select_problems
from recon.pipeline.preset import PresetError, load_preset
from recon.pipeline.run import TRAIN_KEPT, _sft_subset, _training_split, plan

GAME_THEORY = ["pure_nash", "pte", "bayes_nash", "backward_induction", "trigger", "enforceability", "feasibility"]


def problem(i, category):
    return Problem(id=f"{category}-{i}", category=category, source="generated", question=f"q{i}", choices=None,
                   answer_type="yes_no", gold="Yes", messages=[{"role": "user", "content": f"q{i}"}],
                   meta={"solution": "<think>\nx\n</think>\n\n\\boxed{Yes}"})


def test_study_preset_plans_a_learning_curve_on_the_slice_300_stratified_items_and_20_trials(tmp_path):
    preset = load_preset("cpu-study")
    assert preset["eval"]["datasets"]["verified"]["limit"] == 300 and preset["games"]["selfplay"]["trials"] == 20
    lines = plan(preset, tmp_path / "run")
    curve = [line for line in lines if "learning curve" in line]
    assert len(curve) == 2 and all(str(tmp_path / "run" / "data" / "taught_eval.jsonl") in line for line in curve)
    # `heldout_split: verified` (the default) draws it from the run's verified eval; taught needs the slice
    verified = plan(load_preset("cpu-study", ["sft.args.heldout_split=verified"]), tmp_path / "run2")
    assert any(str(tmp_path / "run2" / "data" / "eval.jsonl") in line for line in verified if "learning curve" in line)
    with pytest.raises(PresetError, match="sft.args.heldout_split taught needs a data.taught section"):
        plan(load_preset("paper", ["sft.args.heldout_split=taught", "sft.args.heldout_size=4"]), tmp_path / "run3")


def test_ablation_preset_extends_the_study_and_leaves_the_game_categories_out_of_training(tmp_path):
    study, ablation = load_preset("cpu-study"), load_preset("cpu-study-ablation")
    assert ablation["name"] == "cpu-study-ablation" and ablation["data"]["exclude_categories"] == GAME_THEORY
    assert {k: v for k, v in ablation["data"].items() if k != "exclude_categories"} == study["data"]
    assert ablation["games"] == study["games"] and ablation["eval"] == study["eval"]
    lines = plan(ablation, tmp_path / "run")
    # GRPO draws its prompts from the taught slice less the excluded categories (issue 22)
    assert any(line.strip() == f"data {tmp_path / 'run' / 'data' / TAUGHT_TRAIN_KEPT}" for line in lines)
    assert any(line.strip() == f"data {tmp_path / 'run2' / 'data' / TRAIN_KEPT}" for line in plan(
        load_preset("cpu-study-ablation", ["grpo.dataset=verified"]), tmp_path / "run2"))


def test_models_key_leaves_the_base_model_out_of_eval_and_games(tmp_path):
    ablation = load_preset("cpu-study-ablation")
    assert ablation["models"] == ["sft", "grpo"] and "models" not in load_preset("cpu-study")
    lines = plan(ablation, tmp_path / "run")
    assert not any(line.strip().startswith("base = ") for line in lines)
    assert sum(line.strip().startswith(("sft = ", "grpo = ")) for line in lines) == 4  # eval and games, two models each
    with pytest.raises(PresetError, match=r"models\[0\]: 'teacher' is not one of"):
        load_preset("cpu-study", ["models=[teacher]"])


def test_excluded_categories_must_be_registry_names_and_the_runs_own_training_files(tmp_path):
    with pytest.raises(PresetError, match=r"data\.exclude_categories\[1\]: 'nash' is not one of"):
        load_preset("cpu-study", ["data.exclude_categories=[pte, nash]"])
    preset = load_preset("cpu-study-ablation", ["sft.dataset=sft_cot"])
    with pytest.raises(PresetError, match="sft.dataset must be generated"):
        plan(preset, tmp_path / "run")


def test_extends_merges_sections_and_refuses_a_cycle(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: cpu-demo\nsft: {args: {max_steps: 7}}\n")
    preset, demo = load_preset(str(child)), load_preset("cpu-demo")
    assert preset["name"] == "child" and preset["sft"]["args"]["max_steps"] == 7
    assert preset["sft"]["args"]["learning_rate"] == demo["sft"]["args"]["learning_rate"] and preset["eval"] == demo["eval"]
    loop = tmp_path / "loop.yaml"
    loop.write_text(f"extends: {loop}\nmodel: x\n")
    with pytest.raises(PresetError, match="extends itself"):
        load_preset(str(loop))


def test_exclusion_removes_categories_from_training_files_only(tmp_path):
    train = [problem(i, c) for i in range(3) for c in ("pure_nash", "bertrand", "trigger")]
    write_jsonl(train, tmp_path / "train.jsonl")
    config = {"exclude_categories": ["pure_nash", "trigger"], "sft_reasoning": "full"}
    assert {p.category for p in read_problems(_sft_subset(tmp_path, config))} == {"bertrand"}
    kept = _training_split(tmp_path, config)
    assert kept.name == TRAIN_KEPT and [p.id for p in read_problems(kept)] == [p.id for p in train if p.category == "bertrand"]
    assert len(read_problems(tmp_path / "train.jsonl")) == 9  # the baselines' train split is untouched
    assert _training_split(tmp_path, {}) == tmp_path / "train.jsonl"


def test_limit_takes_equal_shares_per_category_whatever_the_file_order():
    # 60 of one category, 10 of another, 2 of a third, interleaved unevenly
    problems = [problem(i, "big") for i in range(60)] + [problem(i, "mid") for i in range(10)] + [problem(i, "tiny") for i in range(2)]
    problems = problems[::2] + problems[1::2]
    chosen = select_problems(problems, None, 21)
    assert Counter(p.category for p in chosen) == {"tiny": 2, "big": 10, "mid": 9}  # the leftover item goes by name order
    positions = [problems.index(p) for p in chosen]
    assert positions == sorted(positions) and len(set(positions)) == 21
    assert stratified_slice(problems, 300) == problems and stratified_slice(problems, None) == problems
    assert Counter(p.category for p in stratified_slice(problems, 3)) == {"big": 1, "mid": 1, "tiny": 1}


def test_demo_preset_evaluates_300_stratified_verified_items_per_model(tmp_path):
    """Issue 18's goal 1: every model of `make demo` on >= 300 verified items, one option order at least."""
    demo = load_preset("cpu-demo")
    verified = demo["eval"]["datasets"]["verified"]
    assert verified["limit"] >= 300 and verified.get("permutations", 1) >= 1 and "categories" not in verified
    assert demo["games"]["selfplay"]["trials"] > 1  # Table 4 gets intervals, however wide
    lines = plan(demo, tmp_path / "run")
    evaluated = [line for line in lines if line.strip().startswith(("base = ", "sft = ", "grpo = ")) and str(tmp_path / "run" / "eval") in line]
    assert len(evaluated) == 3
