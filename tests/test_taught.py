"""The taught slice (issue 22): local trace formats, the slice's fresh train/eval files with disjoint keys
and refitted baselines, the SFT file (traces + every other item answer-only), the step audit on
hand-written scratchpads, the report's `taught_slice` section and the presets that declare the slice."""

import json
import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from recon.data.categories.matrix import pure_nash_steps
from recon.data.contamination import item_keys
from recon.data.generate import generate_category
from recon.data.options import shuffle_options
from recon.data.problem import Problem, read_problems, write_jsonl
from recon.data.taught import (PER_CATEGORY_BEST, TAUGHT_BASELINES, TAUGHT_EVAL, TAUGHT_PREDICTIONS, TAUGHT_TRAIN, answer_only,
                               build_taught, grpo_file, in_slice, sft_file, slice_baselines)
from recon.econ.normal_form import NormalFormGame
from recon.evaluation.trace_audit import audit_records, audit_trace, summarise, trace_steps
from recon.grading import grade
from recon.pipeline.preset import PresetError, load_preset
from recon.report.build import build_report

TAUGHT = {"train_per_category": 12, "eval_per_category": 6,
          "categories": {"time_inconsistency": {"why": "copies"}, "bertrand": {"where": {"ask": "price"}},
                         "pure_nash": {"difficulty": 1}, "backward_induction": {"difficulty": 1}}}


def think_lines(solution: str) -> list[str]:
    return solution.split("<think>\n", 1)[1].split("</think>", 1)[0].strip().splitlines()


# ------------------------------------------------------------------ trace formats


@pytest.mark.parametrize("category", ["pure_nash", "backward_induction", "time_inconsistency", "bertrand"])
def test_every_taught_trace_ends_with_the_line_its_box_copies_even_after_the_options_move(category):
    items = [p for p in generate_category(category, 40, "fmt", 0) if in_slice(p, TAUGHT)]
    assert len(items) >= 15
    rng = random.Random(0)
    for p in items:
        q = shuffle_options(p, rng)  # the build shuffles options: the answer line is renumbered with the box
        last = think_lines(q.meta["solution"])[-1]
        box = q.meta["solution"].rsplit("\\boxed{", 1)[1][:-1]
        assert last == ("Equilibria: " if category == "pure_nash" else "Answer: ") + box
        assert box == q.gold and grade(q.meta["solution"], q.gold, q.answer_type, q.choices).correct


def test_pure_nash_scans_each_line_for_its_max_copies_the_first_matrix_by_labelled_rows_and_carries_the_equilibria_found():
    # Player 0 rows [[3, 1], [3, 0]]: column 0 ties rows 0 and 1; Player 1 [[2, 5], [4, 1]]
    game = NormalFormGame([[[3, 1], [3, 0]], [[2, 5], [4, 1]]])
    steps = pure_nash_steps(game)
    assert steps == [
        "Player 1's best column in each row (second matrix):",
        "row 0: c0=2 c1=5 → max 5 → c0=2 no c1=5 yes → column 1",
        "row 1: c0=4 c1=1 → max 4 → c0=4 yes c1=1 no → column 0",
        "Player 0's payoffs by row (first matrix):",
        "payoffs row 0: c0=3 c1=1",
        "payoffs row 1: c0=3 c1=0",
        "Player 0's best row in each column (first matrix):",
        "column 0: r0=3 r1=3 → max 3 → r0=3 yes r1=3 yes → rows 0, 1",
        "column 1: r0=1 r1=0 → max 1 → r0=1 yes r1=0 no → row 0",
        "Check each row's best column:",
        "check row 0: column 1 → best row 0 → yes → found [[0, 1]]",
        "check row 1: column 0 → best row 0, 1 → yes → found [[0, 1], [1, 0]]",
        "Equilibria: [[0, 1], [1, 0]]",
    ]


PAIR = r"\[(\w+) (-?\d+), (\w+) (-?\d+)\]"  # `[Alice 12, Bob 3]`


def backward_induction_steps(template: str, seed: str, kind: str, copied: str, decided: str) -> list[tuple[Problem, list, list]]:
    """Per generated item of `template`: its `payoffs <kind> …` lines and the `<kind> …` decision line after
    each, matched (whole line) against `copied` and `decided`."""
    out = []
    for p in generate_category("backward_induction", 30, seed, 1):
        if p.meta["template"] == template:
            lines = [line for line in think_lines(p.meta["solution"]) if line.startswith((f"{kind} ", f"payoffs {kind} "))]
            copies, decisions = [re.fullmatch(copied, x) for x in lines[0::2]], [re.fullmatch(decided, x) for x in lines[1::2]]
            assert all(copies) and all(decisions), lines
            out.append((p, copies, decisions))
    assert out
    return out


def test_backward_induction_chain_has_two_lines_per_turn_from_the_last_each_number_named_then_scanned_for_the_max():
    for p, copies, turns in backward_induction_steps(
            "chain", "bi", "turn", rf"payoffs turn (\d) \((\w+)\): stop {PAIR} continue {PAIR}",
            rf"turn (\d) \((\w+)\): stop=(-?\d+) continue=(-?\d+) → max (-?\d+) → stop=\3 (yes|no) continue=\4 (yes|no) → (stop|continue) {PAIR}"):
        assert [int(m.group(1)) for m in turns] == [int(m.group(1)) for m in copies] == list(range(p.meta["turns"], 0, -1))
        names = (copies[0].group(3), copies[0].group(5))
        payoffs = [tuple(int(x) for x in pair) for pair in p.meta["payoffs"]]
        value = payoffs[-1]  # the first turn continues into the final payoffs, each later one into the value above it
        for c, m in zip(copies, turns):
            turn, mover = int(m.group(1)), (int(m.group(1)) - 1) % 2
            assert m.group(2) == c.group(2) == names[mover]
            assert (c.group(3), c.group(5), c.group(7), c.group(9)) == names * 2  # every number carries its player's name
            assert (int(c.group(4)), int(c.group(6))) == payoffs[turn - 1] and (int(c.group(8)), int(c.group(10))) == value
            # the compared numbers are the mover's, read by name off the line above; the action is the larger one's
            assert (int(m.group(3)), int(m.group(4))) == (int(c.group(4 + 2 * mover)), int(c.group(8 + 2 * mover)))
            # then their max, a yes beside the one equal to it, and its action
            top = max(int(m.group(3)), int(m.group(4)))
            assert int(m.group(5)) == top and (m.group(6), m.group(7)) == tuple("yes" if int(m.group(g)) == top else "no" for g in (3, 4))
            assert m.group(8) == ("stop" if m.group(6) == "yes" else "continue")
            value = (int(m.group(10)), int(m.group(12)))
            assert value == (payoffs[turn - 1] if m.group(8) == "stop" else (int(c.group(8)), int(c.group(10))))


def test_backward_induction_tree_copies_each_outcome_with_names_then_scans_the_movers_numbers_for_their_max():
    for p, copies, nodes in backward_induction_steps(
            "tree", "bi-tree", "node", rf"payoffs node (\w+) (at the start|after [\w, ]+): (\w+) {PAIR} (\w+) {PAIR}",
            rf"node (\w+) (at the start|after [\w, ]+): (\w+)=(-?\d+) (\w+)=(-?\d+) → max (-?\d+) → \3=\4 (yes|no) \5=\6 (yes|no) → (\w+) {PAIR}"):
        leaves = {tuple(h): (int(x), int(y)) for h, x, y in p.meta["leaves"]}
        assert len(nodes) == 3
        passed = {}
        for c, m in zip(copies, nodes):
            where = () if c.group(2) == "at the start" else tuple(c.group(2).removeprefix("after ").split(", "))
            names = (c.group(4), c.group(6))
            mover = names.index(c.group(1))
            outcomes = {c.group(3): (int(c.group(5)), int(c.group(7))), c.group(8): (int(c.group(10)), int(c.group(12)))}
            for action, outcome in outcomes.items():  # a leaf's outcome from the listing, a node's from its own line above
                assert outcome == leaves.get(where + (action,), passed.get(where + (action,)))
            assert (m.group(3), int(m.group(4)), m.group(5), int(m.group(6))) == (c.group(3), outcomes[c.group(3)][mover], c.group(8), outcomes[c.group(8)][mover])
            best = max(outcomes, key=lambda a: outcomes[a][mover])
            assert int(m.group(7)) == outcomes[best][mover] and (m.group(8), m.group(9)) == tuple("yes" if a == best else "no" for a in outcomes)
            assert m.group(10) == best and (int(m.group(12)), int(m.group(14))) == outcomes[best]
            passed[where] = outcomes[best]


# ------------------------------------------------------------------ the slice's files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("taught")
    train = generate_category("time_inconsistency", 5, "pub", 0) + generate_category("cournot", 5, "pub", 0)
    for p in train[:3]:  # published-like items: no worked solution
        p.source, p.meta = "published", {}
    evaluation = generate_category("bertrand", 4, "ev", 0)
    write_jsonl(train, out / "train.jsonl")
    report = build_taught(out, 0, TAUGHT, train, evaluation)
    return out, report, train, evaluation


def test_slice_files_have_fresh_items_per_category_with_keys_disjoint_from_every_training_file(built):
    out, report, train, evaluation = built
    slice_train, slice_eval = read_problems(out / TAUGHT_TRAIN), read_problems(out / TAUGHT_EVAL)
    assert report["counts"] == {"train": {c: 12 for c in sorted(TAUGHT["categories"])}, "eval": {c: 6 for c in sorted(TAUGHT["categories"])}}
    assert all(p.meta["ask"] == "price" for p in slice_train + slice_eval if p.category == "bertrand")
    exact, near = item_keys(slice_eval)
    for other in (slice_train, train, evaluation):
        other_exact, other_near = item_keys(other)
        assert not (exact | near) & (other_exact | other_near)
    assert all(v == {"exact": 0, "near": 0} for v in report["eval_overlap"].values())
    assert len({p.id for p in slice_train + slice_eval}) == 72


def test_slice_is_deterministic_for_a_seed(built, tmp_path):
    out, _, train, evaluation = built
    build_taught(tmp_path, 0, TAUGHT, train, evaluation)
    for name in (TAUGHT_TRAIN, TAUGHT_EVAL, TAUGHT_PREDICTIONS, TAUGHT_BASELINES):
        assert (tmp_path / name).read_text() == (out / name).read_text()


def test_baselines_are_scored_on_exactly_the_slice_eval_items(built):
    out, report, _, _ = built
    baselines = json.loads((out / TAUGHT_BASELINES).read_text())
    assert baselines == report["baselines"] and baselines["n_items"] == 24
    predictions = [json.loads(line) for line in (out / TAUGHT_PREDICTIONS).read_text().splitlines()]
    assert sorted(r["id"] for r in predictions) == sorted(p.id for p in read_problems(out / TAUGHT_EVAL))
    per = baselines["per_category"]
    best_each = sum(max(r["accuracy"].values()) * r["n"] for r in per.values()) / 24
    assert all(r["accuracy"][r["best"]] == max(r["accuracy"].values()) for r in per.values())  # the n-gram model counts everywhere
    assert baselines["overall"][PER_CATEGORY_BEST] == pytest.approx(best_each)
    assert baselines["best"]["accuracy"] == max(baselines["overall"].values())


def test_sft_file_has_the_traces_and_every_other_train_item_answer_only(built):
    out, _, train, _ = built
    rows = read_problems(sft_file(out, TAUGHT, seed=0))
    assert len(rows) == 48 + len(train)
    by_id = {p.id: p for p in rows}
    for p in read_problems(out / TAUGHT_TRAIN):
        assert by_id[p.id].meta["solution"] == p.meta["solution"]
        assert think_lines(p.meta["solution"])[-1].startswith(("Answer: ", "Equilibria: "))
    for p in train:
        solution = by_id[p.id].meta["solution"]
        if in_slice(p, TAUGHT) and p.meta.get("solution"):
            assert solution == p.meta["solution"]  # a generated train item of a taught category keeps its trace
        else:
            assert re.fullmatch(r"<think>\n</think>\n\n\\boxed\{.+\}", solution, re.S)
            assert grade(solution, p.gold, p.answer_type, p.choices).correct
    assert any(p.source == "published" for p in rows)
    ablation = read_problems(sft_file(out, TAUGHT, seed=0, excluded={"pure_nash", "cournot"}))
    assert {p.category for p in ablation} == {"time_inconsistency", "bertrand", "backward_induction"}
    assert {p.category for p in read_problems(grpo_file(out, {"pure_nash"}))} == {"time_inconsistency", "bertrand", "backward_induction"}


def test_answer_only_keeps_the_solutions_box_or_boxes_the_gold():
    pub = Problem("p", "x", "published", "q?", ["a", "b"], "option", "Option 2: b", [{"role": "user", "content": "q"}])
    assert answer_only(pub).meta["solution"] == "<think>\n</think>\n\n\\boxed{Option 2: b}"
    pte = generate_category("pte", 1, "a", 1)[0]
    assert answer_only(pte).meta["solution"].endswith(pte.meta["solution"].rsplit("</think>", 1)[1].strip())


# ------------------------------------------------------------------ step audit


SOLVER = """<think>
Backward induction, last turn first:
turn 3 (Ann): stop 19 vs continue 20 → continue (20, 25)
turn 2 (Bo): stop 7 vs continue 25 → continue (20, 25)
turn 1 (Ann): stop 22 vs continue 20 → stop (22, 4)
asked turn 1: stop → Ann should stop
Answer: Option 2: Ann should stop
</think>

\\boxed{Option 2: Ann should stop}"""


def outcomes(model_text: str) -> dict[str, str]:
    return {r["label"]: r["outcome"] for r in audit_trace(SOLVER, model_text)}


def test_a_right_scratchpad_scores_every_step_and_the_box():
    assert trace_steps(SOLVER)[0] == ("turn 3 (Ann)", "stop 19 vs continue 20 → continue (20, 25)")
    assert set(outcomes(SOLVER).values()) == {"correct"} and len(outcomes(SOLVER)) == 6


def test_a_scratchpad_wrong_at_one_step_is_marked_there():
    wrong = SOLVER.replace("turn 2 (Bo): stop 7 vs continue 25 → continue (20, 25)", "turn 2 (Bo): stop 7 vs continue 25 → stop (20, 25)")
    result = outcomes(wrong)
    assert result["turn 2 (Bo)"] == "wrong" and [k for k, v in result.items() if v != "correct"] == ["turn 2 (Bo)"]
    summary = summarise([("backward_induction", audit_trace(SOLVER, wrong)), ("backward_induction", audit_trace(SOLVER, SOLVER))])
    turn = summary["per_category"]["backward_induction"]["turn"]
    assert turn == {"n": 6, "correct": 5, "wrong": 1, "missing": 0, "accuracy": 5 / 6}
    assert summary["first_error"]["backward_induction"] == {"turn": 1, "none": 1}


def test_missing_steps_and_a_box_that_does_not_copy_the_answer_line():
    short = "<think>\nturn 3 (Ann): stop 19 vs continue 20 → continue (20, 25)\nAnswer: Option 2: Ann should stop\n</think>\n\\boxed{Option 1: Ann should continue}"
    result = outcomes(short)
    assert result["turn 2 (Bo)"] == result["turn 1 (Ann)"] == result["asked turn 1"] == "missing"
    assert result["turn 3 (Ann)"] == result["Answer"] == "correct" and result["box"] == "wrong"
    assert outcomes("I think the answer is stop.")["box"] == "missing"


def test_records_of_other_option_orders_or_failed_requests_are_not_audited():
    problem = Problem("i", "backward_induction", "generated", "q", ["a", "b"], "option", "Option 2: b",
                      [{"role": "user", "content": "q"}], {"solution": SOLVER})
    records = [{"id": "i", "perm": 0, "status": "ok", "completion": SOLVER}, {"id": "i", "perm": 1, "status": "ok", "completion": ""},
               {"id": "i", "perm": 0, "status": "error", "completion": ""}, {"id": "other", "perm": 0, "completion": SOLVER}]
    assert audit_records(records, {"i": problem})["items"] == {"backward_induction": 1}


def test_eval_audit_cli_scores_an_eval_folder_and_names_bad_input(tmp_path):
    from typer.testing import CliRunner

    from recon.cli import app

    problem = Problem("i", "backward_induction", "generated", "q", ["a", "b"], "option", "Option 2: b",
                      [{"role": "user", "content": "q"}], {"solution": SOLVER})
    problems = tmp_path / "slice.jsonl"
    write_jsonl([problem], problems)
    run = tmp_path / "eval"
    run.mkdir()
    wrong = SOLVER.replace("stop 7 vs continue 25 → continue", "stop 7 vs continue 25 → stop")
    (run / "samples.jsonl").write_text(json.dumps({"id": "i", "perm": 0, "status": "ok", "completion": wrong}) + "\n")
    result = CliRunner().invoke(app, ["eval", "audit", str(run), "--problems", str(problems), "--json"])
    assert result.exit_code == 0, result.output
    audit = json.loads(result.output)[str(run)]
    assert audit["items"] == {"backward_induction": 1} and audit["first_error"]["backward_induction"] == {"turn": 1}
    assert audit["overall"]["turn"] == {"n": 3, "correct": 2, "wrong": 1, "missing": 0, "accuracy": 2 / 3}
    table = CliRunner().invoke(app, ["eval", "audit", str(run), "--problems", str(problems)]).output
    assert f"| {run} | backward_induction | turn | 3 | 66.7 | 33.3 | 0.0 |" in table
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = CliRunner().invoke(app, ["eval", "audit", str(empty), "--problems", str(problems)])
    assert missing.exit_code == 2 and f"{empty}: no samples.jsonl" in missing.output
    bare = tmp_path / "bare.jsonl"
    write_jsonl([Problem("i", "backward_induction", "generated", "q", ["a", "b"], "option", "Option 2: b",
                               [{"role": "user", "content": "q"}], {})], bare)
    untraced = CliRunner().invoke(app, ["eval", "audit", str(run), "--problems", str(bare)])
    assert untraced.exit_code == 2 and "no problem has a worked solution" in untraced.output


# ------------------------------------------------------------------ report


def test_report_writes_the_taught_slice_beside_the_overall_section(built, tmp_path):
    out, _, _, _ = built
    slice_eval = read_problems(out / TAUGHT_EVAL)
    run = tmp_path / "run"
    run.mkdir()
    stages = {"data": {"dir": str(out)}, "eval": {"runs": []}}
    for model, dataset, items in (("sft", "verified", slice_eval[:4]), ("sft", "taught", slice_eval), ("grpo", "taught", slice_eval)):
        eval_dir = run / "eval" / model / dataset
        eval_dir.mkdir(parents=True)
        samples = [{"id": p.id, "key": f"{p.id}#p0#s0", "category": p.category, "answer_type": p.answer_type, "perm": 0, "status": "ok",
                    "correct": (k % 2 == 0) != (model == "grpo" and k < 4),
                    "completion": p.meta["solution"] if k % 2 == 0 else "no idea"} for k, p in enumerate(items)]
        (eval_dir / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
        categories = sorted({p.category for p in items})
        results = {"overall": {"n_items": len(items), "accuracy": 0.5, "ci95": [0.3, 0.7], "baselines": {"option_1": 0.25, "random": 0.3}},
                   "categories": {c: {"n_items": 1, "accuracy": 0.5, "ci95": [0, 1]} for c in categories}}
        (eval_dir / "results.json").write_text(json.dumps(results))
        stages["eval"]["runs"].append({"model": model, "dataset": dataset, "dir": str(eval_dir), "accuracy": 0.5})
    (run / "pipeline.json").write_text(json.dumps({"preset": {"name": "t"}, "stages": stages, "seconds": 1}))
    paths = build_report([run], tmp_path / "report")
    summary = json.loads(paths["summary"].read_text())
    assert summary["models"]["sft"]["n_items"] == 4  # the overall section as before
    taught = summary["taught_slice"]
    refit = json.loads((out / TAUGHT_BASELINES).read_text())
    assert taught["categories"] == sorted(TAUGHT["categories"]) and taught["n_items"] == 24
    assert taught["models"]["sft"]["accuracy"] == 0.5 and (taught["models"]["sft"]["ci_low"], taught["models"]["sft"]["ci_high"]) == (0.3, 0.7)
    named = [(k if k.startswith("payoff_blind_") else f"payoff_blind_{k}", v) for k, v in refit["overall"].items()]
    best = max([("option_1", 0.25)] + named, key=lambda kv: kv[1])
    assert taught["best_baseline"] == {"name": best[0], "accuracy": best[1]}
    assert "payoff_blind_best_per_category" in taught["baselines"] and not any(k.startswith("payoff_blind_payoff_blind") for k in taught["baselines"])
    # the step audit: every even item copies the solver's trace (all steps right), every odd one writes nothing
    audit = taught["step_audit"]["sft"]
    assert audit["box"]["correct"] == 12 and audit["box"]["missing"] == 12
    # GRPO flips items 0-3: 0 and 2 right → wrong, 1 and 3 wrong → right: paired, no difference
    paired = taught["grpo_vs_sft"]["grpo"]
    assert paired["against"] == "sft" and paired["n_items"] == 24 and paired["delta"] == 0
    assert (paired["mcnemar_only_sft"], paired["mcnemar_only_grpo"]) == (2, 2) and paired["mcnemar_p"] == 1.0
    text = paths["markdown"].read_text()
    assert "## The taught slice" in text and "McNemar: 2 items right only for SFT, 2 only for GRPO" in text and "### Step audit" in text and "| sft | pure_nash | row |" in text


def test_a_learning_curve_drawn_from_the_slice_carries_the_step_audit_of_every_checkpoint(built, tmp_path):
    out, _, _, _ = built
    slice_eval = read_problems(out / TAUGHT_EVAL)
    run, sft = tmp_path / "run", tmp_path / "run" / "train" / "sft"
    rows = []
    for step, right in ((50, 0), (100, len(slice_eval))):  # step 50: nothing written; step 100: every trace copied
        folder = sft / "heldout" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        samples = [{"id": p.id, "perm": 0, "status": "ok", "completion": p.meta["solution"] if k < right else "no idea"}
                   for k, p in enumerate(slice_eval)]
        (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in samples))
        rows.append({"step": step, "accuracy": right / len(slice_eval), "n_items": len(slice_eval), "format_failure_rate": 0.0})
    (sft / "heldout" / "summary.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "train" / "sft.yaml").write_text(f"heldout_split: {out / TAUGHT_EVAL}\n")
    stages = {"data": {"dir": str(out)}, "sft": {"checkpoint": "train/sft", "config": "train/sft.yaml"}}
    (run / "pipeline.json").write_text(json.dumps({"preset": {"name": "t"}, "stages": stages, "seconds": 1}))
    text = build_report([run], tmp_path / "report")["markdown"].read_text()
    assert "held-out stratified sample of the taught slice's eval items (24 items" in text and "step audit: correct % by step kind" in text
    lines = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| sft |")}
    assert "box 0 ·" not in lines["100"] and "answer 100" in lines["100"] and "box 100" in lines["100"]
    assert "answer 0" in lines["50"] and "box 0" in lines["50"]
    # a curve drawn from the verified eval has no audit column
    (run / "train" / "sft.yaml").write_text(f"heldout_split: {out / 'eval.jsonl'}\n")
    plain = build_report([run], tmp_path / "report2")["markdown"].read_text()
    assert "sample of the verified eval (24 items" in plain and "step audit" not in plain.split("## Learning curve")[1].split("##")[0]
    # SFT on the slice, GRPO on the verified eval: the text says which is which, GRPO's rows carry no audit
    (run / "train" / "sft.yaml").write_text(f"heldout_split: {out / TAUGHT_EVAL}\n")
    grpo = run / "train" / "grpo"
    (grpo / "heldout").mkdir(parents=True)
    (grpo / "heldout" / "summary.jsonl").write_text(json.dumps({"step": 6, "accuracy": 0.5, "n_items": 24}) + "\n")
    (run / "train" / "grpo.yaml").write_text(f"heldout_split: {out / 'eval.jsonl'}\n")
    stages["grpo"] = {"checkpoint": "train/grpo", "config": "train/grpo.yaml"}
    (run / "pipeline.json").write_text(json.dumps({"preset": {"name": "t"}, "stages": stages, "seconds": 1}))
    mixed = build_report([run], tmp_path / "report3")["markdown"].read_text()
    assert "sample of the verified eval (sft: the taught slice's eval items) (24 items" in mixed
    assert "| grpo | 6 | 50.0 [31–69] | — | — |" in mixed and "answer 100" in mixed


# ------------------------------------------------------------------ presets


@pytest.mark.parametrize("name", ["cpu-demo", "cpu-study", "cpu-study-ablation"])
def test_presets_declare_the_taught_slice_with_a_reason_per_category_and_evaluate_it(name):
    preset = load_preset(name)
    taught = preset["data"]["taught"]
    assert taught["eval_per_category"] >= 100 and taught["train_per_category"] >= 1000
    assert all(entry.get("why") for entry in taught["categories"].values()) and taught["left_out"]
    assert not set(taught["categories"]) & set(taught["left_out"])
    assert preset["eval"]["datasets"]["taught"]["limit"] is None  # every item, so the refitted baselines are on exactly them
    assert preset["grpo"]["dataset"] == "taught" and preset["grpo"]["args"]["num_generations"] >= 8


def test_a_taught_category_must_be_a_registered_category():
    with pytest.raises(PresetError, match="pur_nash"):
        load_preset("cpu-demo", ["data.taught.categories={pur_nash: {why: x}}"])


def test_fraction_free_traces_are_short_numbers():
    # every number in a time_inconsistency or bertrand price trace is an integer or a money amount copied from the item
    for category in ("time_inconsistency", "bertrand"):
        for p in generate_category(category, 20, "n", 0):
            if in_slice(p, TAUGHT):
                text = "\n".join(think_lines(p.meta["solution"]))
                for number in re.findall(r"\d+(?:\.\d+)?", text.replace("Option ", "")):
                    assert number in p.messages[-1]["content"] or Fraction(number) < 10


def test_per_category_best_counts_the_ngram_model_where_the_audit_does_not_test_it():
    # the shortcut audit's `best` skips the n-gram model in worded categories; the slice's baseline must not
    audit = {"per_category": {
        "time_inconsistency": {"n": 10, "chance": 0.5, "accuracy": {"option_1": 0.5, "ngram": 1.0}, "best": "option_1", "best_accuracy": 0.5},
        "bertrand": {"n": 30, "chance": 0.25, "accuracy": {"option_1": 0.3, "ngram": 0.2}, "best": "option_1", "best_accuracy": 0.3}}}
    baselines = slice_baselines(audit)
    assert baselines["overall"][PER_CATEGORY_BEST] == pytest.approx((10 * 1.0 + 30 * 0.3) / 40)
    assert baselines["overall"]["ngram"] == pytest.approx((10 + 6) / 40) and baselines["per_category"]["time_inconsistency"]["best"] == "ngram"
    assert baselines["best"] == {"name": PER_CATEGORY_BEST, "accuracy": pytest.approx(19 / 40)}


def test_trace_substeps_judges_each_part_of_a_decision_line_against_the_models_own_earlier_output(tmp_path):
    chain = next(p for p in generate_category("backward_induction", 30, "bi", 1) if p.meta["template"] == "chain")
    lines = think_lines(chain.meta["solution"])
    first, second = [k for k, line in enumerate(lines) if line.startswith("turn ")][:2]
    label, content = lines[first].split(": ", 1)
    lines[first] = f"{label}: " + content.replace(" yes", " YES").replace(" no", " yes").replace(" YES", " no")  # marks swapped
    label, content = lines[second].split(": ", 1)
    lines[second] = f"{label}: stop 5 vs continue 9 → stop [x]"  # the older `vs` format, the smaller number's action
    write_jsonl([chain], tmp_path / "taught_eval.jsonl")
    (tmp_path / "eval").mkdir()
    record = {"id": chain.id, "perm": 0, "completion": "<think>\n" + "\n".join(lines) + "\n</think>\n"}
    (tmp_path / "eval" / "samples.jsonl").write_text(json.dumps(record) + "\n")
    script = Path(__file__).resolve().parents[1] / "bench" / "trace_substeps.py"
    out = json.loads(subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, check=True).stdout)
    parts = {part: (v["n"], v["percent"]) for part, v in out["chain"].items()}
    assert parts == {
        "action = larger own value": (3, 66.7),  # the `vs` line picks the smaller number
        "max of own values": (2, 100.0), "scan copies the cells": (2, 100.0),
        "yes/no against own max": (2, 50.0), "label of own yes": (2, 50.0),  # the swapped line's label no longer follows its own yes
        "outcome copied": (6, 100.0),
    }
