"""One error policy: every bad input is one line on stderr naming the file, row or field, exit 2;
`recon --debug` shows the traceback instead. Also: presets, the dataset registry, the dry run, and a
light `import recon.cli`."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recon.cli import app
from recon.data.problem import DataFormatError, Problem, write_jsonl
from recon.errors import MissingExtraError, UserError, require

HEAVY_MODULES = ("torch", "transformers", "numpy", "pandas", "trl", "datasets", "matplotlib", "pyspiel", "peft")


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path, monkeypatch):
    """Each test runs in its own empty folder, so a command that wrongly ran could not write into the clone."""
    monkeypatch.chdir(tmp_path)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_line_error(result, *expected: str) -> str:
    """Exit 2, nothing but one `error: …` line on stderr, containing every `expected` text."""
    assert result.exit_code == 2, (result.exit_code, result.output, repr(result.exception))
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def problem_row(answer_type: str, gold: str, **extra) -> dict:
    choices = ["a", "b", "c"] if answer_type == "option" else None
    return {"id": "p1", "category": "c", "question": "q?", "answer_type": answer_type, "gold": gold,
            "choices": choices, "messages": [{"role": "user", "content": "q?"}], **extra}  # fmt: skip


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------ flags, names, commands


@pytest.mark.parametrize(
    "args, expected",
    [
        (["eval", "--backend", "nope"], ["--backend 'nope'", "hf"]),
        (["eval", "--limit", "x"], ["recon eval", "--limit"]),
        (["eval", "--data", "verified"], ["verified:DIR", "RECON_VERIFIED_DIR"]),
        (["eval", "--data", "no-such.jsonl"], ["no-such.jsonl"]),
        (["eval", "--backend-option", "novalue"], ["novalue", "KEY=VALUE"]),
        (["nope"], ["No such command 'nope'"]),
        (["pipeline", "--preset", "typo"], ["unknown preset 'typo'", "cpu-demo"]),
        (["games", "arena", "--games", "typo"], ["unknown games ['typo']", "tic_tac_toe"]),
        (["games", "arena", "--games", "nim", "--opponents", "mcts:x"], ["mcts:x"]),
        (["games", "selfplay", "--games", "typo"], ["typo"]),
        (["games", "selfplay", "--backend", "nope"], ["--backend 'nope'"]),
    ],
)
def test_bad_flags_and_names_are_one_line(args, expected):
    assert_one_line_error(run(*args), *expected)


def test_report_of_a_folder_that_is_not_a_run(tmp_path):
    assert_one_line_error(run("report", str(tmp_path)), str(tmp_path))


def test_debug_shows_the_traceback():
    result = run("--debug", "eval", "--backend", "nope")
    assert result.exit_code != 0 and isinstance(result.exception, UserError)


# ------------------------------------------------------------------ presets


@pytest.mark.parametrize(
    "override, field",
    [
        ("seed=abc", "seed: expected int"),
        ("seed=-1", "seed: must be >= 0"),
        ("data.sft_reasoning=nonee", "data.sft_reasoning: 'nonee'"),
        ("stages=[dta]", "stages[0]: 'dta'"),
        ("data.generated_per_category=-3", "data.generated_per_category: must be >= 0"),
        ("data.generated_per_categroy=3", "data.generated_per_categroy: unknown key"),
        ("evaluation.max_tokens=3", "preset.evaluation: unknown key"),
        ("eval.max_tokens=0", "eval.max_tokens: must be >= 1"),
        ("eval.backend=nope", "eval.backend: 'nope'"),
        ("eval.datasets={recon-eval: {permutations: two}}", "eval.datasets.recon-eval.permutations"),
        ("eval.datasets={recon-evl: {}}", "recon-evl"),
        ("games.arena.matches=true", "games.arena.matches: expected int"),
        ("sft.recipe=nope.yaml", "sft.recipe"),
        ("grpo.from_sft=maybe", "grpo.from_sft: expected bool"),
        ("nonsense", "key.sub=value"),
    ],
)
def test_bad_preset_values_are_refused_before_anything_runs(override, field, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--dry-run"]):
        assert_one_line_error(run("pipeline", "--preset", "cpu-demo", "--set", override, *extra), field)
    assert list(tmp_path.iterdir()) == []  # no run folder: nothing ran


@pytest.mark.parametrize(
    "text, expected",
    [("seed: [1\n", "not valid YAML"), ("- a\n- b\n", "mapping"), ("model: m\nstagez: [data]\n", "stagez: unknown key"),
     ("name: x\n", "preset.model: missing")],
)
def test_bad_preset_files_name_the_file(text, expected, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_one_line_error(run("pipeline", "--preset", str(path), "--dry-run"), str(path), expected)


def test_dry_run_prints_stages_datasets_models_and_folders_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("pipeline", "--preset", "cpu-demo", "--dry-run", "--run-dir", "out")
    assert result.exit_code == 0, result.output
    for text in ("1. data", "2. sft", "3. grpo", "4. eval", "5. games", "6. report", "model smollm2",
                 "dataset verified", "limit 300", "out/train/sft", "out/eval/grpo/verified", "cpu/smollm2/grpo.yaml"):  # fmt: skip
        assert text in result.stdout, text
    assert not (tmp_path / "out").exists()


def test_packaged_recipes_resolve_from_any_folder(tmp_path, monkeypatch):
    from recon.pipeline.preset import RECIPES, load_preset, resource_path

    monkeypatch.chdir(tmp_path)
    preset = load_preset("paper")
    assert resource_path(preset["sft"]["recipe"]) == RECIPES / "paper" / "r1-distill-qwen-7b" / "sft.yaml"
    (tmp_path / "recipes").mkdir()  # a local copy of a path wins over the packaged one
    (tmp_path / "recipes" / "mine.yaml").write_text("x: 1\n")
    assert resource_path("recipes/mine.yaml") == Path("recipes/mine.yaml")


# ------------------------------------------------------------------ data files


@pytest.mark.parametrize(
    "row, expected",
    [
        (problem_row("yes_no", "Maybe"), "'Maybe' is neither Yes nor No"),
        (problem_row("ordering", "A, A, Z"), "'A, A, Z' is not an ordering"),
        (problem_row("ordering", "A, C"), "'A, C' is not an ordering"),
        (problem_row("pairs", "[[0, 1], [2"), "'[[0, 1], [2' is not a list of cells"),
        (problem_row("option", "Option 4: d"), "not one of Option 1..3"),
        (problem_row("option", "Option 2: b", meta="{oops"), "meta is not JSON"),
        (problem_row("essay", "x"), "answer_type 'essay'"),
        ({"id": "p1"}, "missing"),
    ],
)
def test_invalid_golds_and_records_name_file_and_record(row, expected, tmp_path):
    path = write_rows(tmp_path / "bad.jsonl", [problem_row("yes_no", "Yes", id="p0"), row])
    assert_one_line_error(run("eval", "--data", str(path)), str(path), "record 2", expected)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b'{"id": 1,\n', "bad.jsonl:1: invalid JSON"),
        (b"[1, 2]\n", "expected a JSON object"),
        (b"\xff\xfe\x00binary\n", "not UTF-8"),
    ],
)
def test_distill_refuses_malformed_and_empty_files(content, expected, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    result = run("distill", "--teacher-url", "http://127.0.0.1:9/v1", "--teacher-model", "m", "--data", str(path),
                 "--out", str(tmp_path / "out"))  # fmt: skip
    assert_one_line_error(result, "bad.jsonl", expected)
    assert not (tmp_path / "out").exists()


CSV_HEADER = "prompt,answer\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty file"),
        (b"prompt,response\nx,y\n", "missing column(s) answer"),
        (CSV_HEADER.encode() + b'"[{\'role\': \'user\'}],Option 1\n', "not a readable CSV"),
        (CSV_HEADER.encode() + b"\xff\xfe\x00\x01,\x80\n", "not UTF-8"),
        (CSV_HEADER.encode(), "no rows"),
        (CSV_HEADER.encode() + b"x,y\n", "expected 1800 rows, found 1"),
    ],
)
def test_csv_errors_name_the_file(content, expected, tmp_path):
    (tmp_path / "train_dataset.csv").write_bytes(content)
    assert_one_line_error(run("data", "export", "train", "--out", str(tmp_path / "x.jsonl"), "--data-dir", str(tmp_path)),
                          str(tmp_path / "train_dataset.csv"), expected)  # fmt: skip


def test_problem_refuses_invalid_gold_in_code():
    with pytest.raises(DataFormatError, match="neither Yes nor No"):
        Problem("p", "c", "s", "q", None, "yes_no", "Maybe", [{"role": "user", "content": "q"}])


# ------------------------------------------------------------------ registry


def test_registry_names(tmp_path, monkeypatch, data_dir):
    from recon.data.registry import load_problems

    monkeypatch.setenv("RECON_DATA_DIR", str(data_dir))
    monkeypatch.delenv("RECON_VERIFIED_DIR", raising=False)
    assert len(load_problems("recon-eval")) == len(load_problems("eval")) == 300
    folder = tmp_path / "verified"
    folder.mkdir()
    train = [Problem(f"t{i}", "c", "s", "q", None, "yes_no", "Yes", [{"role": "user", "content": "q"}]) for i in range(3)]
    write_jsonl(train, folder / "train.jsonl")
    write_jsonl(train[:1], folder / "eval.jsonl")
    assert len(load_problems(f"verified:{folder}", part="train")) == 3
    assert len(load_problems(f"verified:{folder}")) == 1
    monkeypatch.chdir(tmp_path)  # `verified` alone never means a folder under the working directory
    (tmp_path / "data" / "verified").mkdir(parents=True)
    write_jsonl(train, tmp_path / "data" / "verified" / "eval.jsonl")
    with pytest.raises(UserError, match="verified:DIR"):
        load_problems("verified")
    monkeypatch.setenv("RECON_VERIFIED_DIR", str(folder))
    assert len(load_problems("verified")) == 1
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(UserError, match="is empty"):
        load_problems(str(tmp_path / "empty.jsonl"))


# ------------------------------------------------------------------ extras, import weight, help


def test_missing_extra_names_it(monkeypatch):
    with pytest.raises(MissingExtraError, match=r"pip install 'recon-econ\[games\]'"):
        require("no_such_module_for_recon_tests", "games", "the games arena")
    from recon.games.arena import games

    monkeypatch.setitem(sys.modules, "pyspiel", None)  # as if open-spiel were not installed
    games._load.cache_clear()
    with pytest.raises(MissingExtraError, match=r"recon-econ\[games\]"):
        games.GAMES["nim"].load(0)
    games._load.cache_clear()


@pytest.mark.parametrize("argv", [None, ["--help"]], ids=["import", "help"])
def test_import_recon_cli_and_recon_help_load_no_heavy_module(argv):
    """`import recon.cli`, and `recon --help` through the console entry (`recon.cli:app`), which builds
    every stage's command to list it."""
    call = f"\ntry:\n    app({argv!r})\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code" if argv else ""
    code = f"import sys\nfrom recon.cli import app{call}\nprint('loaded:', [m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "loaded: []", out
    if argv:
        assert all(stage in out for stage in ("data", "eval", "train", "pipeline", "report")), out


def test_train_help_lists_trl_and_recon_fields():
    result = run("train", "sft", "--help")
    assert result.exit_code == 0
    for field in ("--heldout_size", "--max_train_samples", "--learning_rate", "--lora_r", "--max_length"):
        assert field in result.stdout, field


def test_data_report_is_a_right_aligned_table_within_100_columns(data_dir):
    from recon.data.problem import even_slice
    from recon.data.published import load_all
    from recon.data.report import data_report, report_text

    sets = {name: even_slice(problems, 60) for name, problems in load_all(data_dir).items()}
    text = report_text(data_report(sets))
    assert max(map(len, text.splitlines())) <= 100
    block = text.split("\n\n")[0].splitlines()  # Items: category, train, eval, sft_cot, answer type
    assert block[1].split() == ["category", "train", "eval", "sft_cot", "answer", "type"]
    ends = {re.match(r"\S+\s+\d+", line).end() for line in block[3:]}
    assert len(ends) == 1  # every train count ends in the same column


def test_missing_gguf_converter_says_how_to_get_it(tmp_path, monkeypatch):
    from recon.inference.models import ModelResolutionError, llama_cpp_converter

    monkeypatch.setenv("RECON_LLAMA_CPP_DIR", str(tmp_path))
    with pytest.raises(ModelResolutionError, match="RECON_LLAMA_CPP_DIR"):
        llama_cpp_converter()
    (tmp_path / "convert_hf_to_gguf.py").write_text("")
    assert llama_cpp_converter() == tmp_path / "convert_hf_to_gguf.py"


# ------------------------------------------------------------------ issue 25: no traceback, nothing written

SCRIPT = 'respond=["\\\\boxed{Option 3: c}"]'


def option_rows(n: int = 4, **extra) -> list[dict]:
    return [{"id": f"p{i}", "category": "c", "question": f"q{i}?", "answer_type": "option", "gold": "Option 3: c",
             "choices": ["a", "b", "c"], "messages": [{"role": "user", "content": f"q{i}?"}], **extra} for i in range(n)]  # fmt: skip


@pytest.fixture
def inputs(tmp_path):
    """The files the bad-input cases read: a good data file, one with a repeated id, a file where a folder
    is expected, a bad --tags YAML and a train recipe with `seed: "abc"`."""
    write_rows(tmp_path / "d.jsonl", option_rows())
    write_rows(tmp_path / "dup.jsonl", option_rows(1) * 2)
    write_rows(tmp_path / "chars.jsonl", option_rows(1, choices="A,B"))
    write_rows(tmp_path / "mismatch.jsonl", [{**option_rows(1)[0], "gold": "Option 3: not c"}])
    (tmp_path / "afile").write_text("x")
    (tmp_path / "tags.yaml").write_text("a: [1\n")
    (tmp_path / "seed.yaml").write_text('model_name_or_path: m\nseed: "abc"\n')
    return tmp_path


EVAL = ["eval", "--backend", "scripted", "--data", "d.jsonl", "--quiet"]
OPENAI = ["eval", "--backend", "openai", "--model", "m", "--data", "d.jsonl", "--backend-option"]
SELFPLAY = ["games", "selfplay", "--backend", "scripted", "--games", "pd", "--trials", "1", "--backend-option", 'respond=["<s>choice_1</s>"]']
ARENA = ["games", "arena", "--backend", "scripted", "--games", "nim", "--opponents", "random", "--matches", "1", "--backend-option", 'respond=["<1>"]']
DISTILL = ["distill", "--teacher-model", "m", "--data", "d.jsonl"]


@pytest.mark.parametrize(
    "args, expected",
    [
        # an unusable --out: an existing file, a path through a file, a folder where a file is expected
        ([*EVAL, "--backend-option", SCRIPT, "--out", "afile"], ["--out afile", "is a file"]),
        ([*EVAL, "--backend-option", SCRIPT, "--out", "afile/run"], ["--out afile/run", "afile is a file"]),
        ([*SELFPLAY, "--out", "afile"], ["--out afile", "is a file"]),
        ([*SELFPLAY, "--out", "afile/run"], ["--out afile/run", "afile is a file"]),
        ([*ARENA, "--out", "afile"], ["--out afile", "is a file"]),
        ([*DISTILL, "--teacher-url", "http://127.0.0.1:9/v1", "--out", "afile"], ["--out afile", "is a file"]),
        (["data", "generate", "--category", "pte", "--n", "1", "--out", "."], ["--out .", "is a folder"]),
        (["data", "generate", "--category", "pte", "--n", "1", "--out", "afile/x.jsonl"], ["--out afile/x.jsonl", "afile is a file"]),
        (["data", "build", "--out", "afile"], ["--out afile", "is a file"]),
        # sampling values, checked before the run folder is written
        ([*EVAL, "--backend-option", SCRIPT, "--out", "run", "--temperature", "-1"], ["temperature", "-1"]),
        ([*EVAL, "--backend-option", SCRIPT, "--out", "run", "--temperature", "nan"], ["temperature", "nan"]),
        ([*EVAL, "--backend-option", SCRIPT, "--out", "run", "--top-p", "5"], ["top_p", "5"]),
        ([*EVAL, "--backend-option", SCRIPT, "--out", "run", "--max-tokens", "0"], ["max_tokens", "0"]),
        # backend options
        ([*EVAL, "--backend-option", "respond=[unclosed", "--out", "run"], ["respond='[unclosed'"]),
        ([*EVAL, "--backend-option", "respond=hello", "--out", "run"], ["respond='hello'"]),
        ([*EVAL, "--backend-option", "respond=[]", "--out", "run"], ["respond=[]"]),
        ([*EVAL, "--out", "run"], ["respond="]),
        ([*EVAL, "--backend-option", SCRIPT, "--backend-option", "foo=1", "--out", "run"], ["--backend-option foo", "no such option"]),
        ([*EVAL, "--backend-option", SCRIPT, "--chat-template", "nope.jinja", "--out", "run"], ["--chat-template nope.jinja", "no such file"]),
        ([*OPENAI, "base_url=http://127.0.0.1:9/v1", "--backend-option", "concurrency=0", "--out", "run"], ["concurrency"]),
        ([*OPENAI, "base_url=notaurl", "--out", "run"], ["base_url 'notaurl'", "not an http(s) URL"]),
        ([*DISTILL, "--teacher-url", "notaurl", "--out", "run"], ["--teacher-url 'notaurl'", "not an http(s) URL"]),
        # data files
        (["eval", "--backend", "scripted", "--backend-option", SCRIPT, "--data", "dup.jsonl", "--out", "run"],
         ["dup.jsonl", "record 2", "id 'p0' repeats record 1"]),
        (["eval", "--backend", "scripted", "--backend-option", SCRIPT, "--data", "chars.jsonl", "--out", "run"],
         ["chars.jsonl", "record 1", "choices must be a list of texts", "'A,B'"]),
        (["eval", "--backend", "scripted", "--backend-option", SCRIPT, "--data", "mismatch.jsonl", "--out", "run"],
         ["mismatch.jsonl", "record 1", "'Option 3: not c' does not match choice 3's text 'c'"]),
        # generator ranges (the `--difficulty 99` hang), counts, shortcut thresholds
        (["data", "generate", "--category", "pte", "--n", "2", "--difficulty", "99", "--out", "g.jsonl"], ["difficulty", "got 99"]),
        (["data", "generate", "--category", "pte", "--n", "-1", "--out", "g.jsonl"], ["n (items per category)", "got -1"]),
        (["data", "generate", "--category", "nope", "--out", "g.jsonl"], ["category", "'nope'"]),
        (["data", "build", "--out", "b", "--generated-per-category", "-1"], ["--generated-per-category", "got -1"]),
        (["data", "build", "--out", "b", "--eval-generated-per-category", "-5"], ["--eval-generated-per-category", "got -5"]),
        (["data", "build", "--out", "b", "--difficulty", "7"], ["difficulty", "got 7"]),
        (["data", "shortcuts", "d.jsonl", "d.jsonl", "--margin", "-1", "--out", "s"], ["--margin", "-1"]),
        (["data", "shortcuts", "d.jsonl", "d.jsonl", "--alpha", "5", "--out", "s"], ["--alpha", "5"]),
        # train recipes, reports
        (["train", "sft", "--config", "."], ["."]),
        (["train", "sft", "--config", "seed.yaml"], ["seed.yaml: seed: invalid int value: 'abc'"]),
        (["report", "afile"], ["afile", "expected a run folder"]),
        (["report", "nofolder"], ["nofolder", "no such folder"]),
        (["report", ".", "--tags", "tags.yaml"], ["--tags tags.yaml", "not valid YAML (line 2)"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args, expected, inputs):
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*"))
    result = run(*args)
    if args[:2] == ["train", "sft"]:  # training reports its refusals with its own prefix (it also runs under accelerate)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert all(text in result.stderr for text in expected), result.stderr
    else:
        assert_one_line_error(result, *expected)
    assert "Traceback" not in result.output
    assert sorted(p.relative_to(inputs) for p in inputs.rglob("*")) == before  # no run folder, no file


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_one_line(inputs):
    locked = inputs / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for args in ([*EVAL, "--backend-option", SCRIPT, "--out", "locked/run"], ["data", "generate", "--category", "pte", "--n", "1", "--out", "locked/g.jsonl"]):
            assert_one_line_error(run(*args), "locked", "not writable")
    finally:
        locked.chmod(0o755)


def test_an_os_error_on_an_output_path_is_one_line(monkeypatch, inputs):
    """An output path that fails only when written (a race, a full disk) is still one line naming it."""
    from recon.evaluation import runner

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(inputs / "run" / "run.json"))

    monkeypatch.setattr(runner, "evaluate", refuse)
    result = run(*EVAL, "--backend-option", SCRIPT, "--out", "run")
    assert result.exit_code == 2 and result.exception is not None and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == f"error: {inputs / 'run' / 'run.json'}: Permission denied", result.stderr


def test_generate_difficulty_99_returns_at_once():
    """`--difficulty 99` used to build 101×101 games and never end (run in a subprocess, so a hang fails
    the test): the range is checked before any work."""
    command = [sys.executable, "-m", "recon.cli", "data", "generate", "--category", "pte", "--n", "2", "--difficulty", "99", "--out", "g.jsonl"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (2, "error: difficulty: must be 0 (mix 1..3) or 1..4, got 99\n")
    assert not Path("g.jsonl").exists()


@pytest.mark.parametrize("category", ["pte", "pure_nash", "backward_induction", "cournot", "condorcet_criterion", "bayes_nash"])
def test_every_documented_difficulty_generates(category):
    from recon.data.generate import MAX_DIFFICULTY, generate_category

    for difficulty in range(MAX_DIFFICULTY + 1):
        assert len(generate_category(category, 1, seed=0, difficulty=difficulty)) == 1


def test_an_exhausted_rejection_sampler_is_one_line(monkeypatch):
    """A generator that gives up (its bounded sampler ran out of tries), and a category that keeps
    drawing the same item, end in one line naming the category, never a traceback or a hang."""
    from recon.data import categories
    from recon.data.categories import matrix

    spec = categories.CATEGORY_SPECS["pte"]
    monkeypatch.setattr(matrix, "MAX_TRIES", 0)  # the bounded sampler of the matrix games runs out at once
    assert_one_line_error(run("data", "generate", "--category", "pte", "--n", "1", "--difficulty", "1", "--out", "g.jsonl"),
                          "pte at difficulty 1: the generator gave up", "in 0 draws")  # fmt: skip
    monkeypatch.undo()
    same = spec.generate(random.Random(0), 1)
    monkeypatch.setitem(categories.CATEGORY_SPECS, "pte", dataclasses.replace(spec, generate=lambda rng, difficulty: copy.deepcopy(same)))
    assert_one_line_error(run("data", "generate", "--category", "pte", "--n", "3", "--out", "g.jsonl"),
                          "pte: only 1 distinct items after", "asked for 3")  # fmt: skip
    assert not Path("g.jsonl").exists()


def test_temperature_nan_never_reaches_json(inputs):
    """`--temperature nan` used to run and write a bare NaN into run.json (not JSON)."""
    assert_one_line_error(run(*EVAL, "--backend-option", SCRIPT, "--out", "run", "--temperature", "nan"), "temperature")
    assert not (inputs / "run").exists()
    good = run(*EVAL, "--backend-option", SCRIPT, "--out", "run", "--temperature", "0")
    assert good.exit_code == 0, good.output
    json.loads((inputs / "run" / "run.json").read_text(), parse_constant=lambda name: pytest.fail(f"bare {name} in run.json"))


@pytest.mark.parametrize(
    "override, expected",
    [
        ("games.selfplay.games=[nosuchgame]", ["games.selfplay.games", "unknown game(s) ['nosuchgame']"]),
        ("games.selfplay.games=nosuchgame", ["games.selfplay.games", "nosuchgame"]),
        ("games.selfplay.games=[1]", ["games.selfplay.games[0]: expected str"]),
        ("games.arena.games=[chess]", ["games.arena.games", "unknown games ['chess']"]),
        ("games.arena.opponents=[god]", ["games.arena.opponents[0]", "unknown agent 'god'"]),
        ("games.arena.opponents=[mcts:x]", ["games.arena.opponents[0]", "mcts:x"]),
        ("games.arena.opponents=['llm:nope:m']", ["games.arena.opponents[0]", "--backend 'nope'"]),
        ("games.arena.opponents=['llm:openai:m@notaurl']", ["games.arena.opponents[0]", "notaurl"]),
        ("games.selfplay.top_p=5", ["games.selfplay.top_p: must be <= 1"]),
        ("games.selfplay.temperature=.nan", ["games.selfplay.temperature: expected a finite number"]),
        ("data.difficulty=99", ["data.difficulty: must be <= 4"]),
    ],
)
def test_preset_names_are_checked_against_the_cli_registries(override, expected, tmp_path):
    """A preset naming a game, arena game or opponent that `recon games …` refuses is refused by the
    schema too, so `--dry-run` (exit 0 before) and the run both fail at once."""
    for extra in ([], ["--dry-run"]):
        assert_one_line_error(run("pipeline", "--preset", "cpu-demo", "--set", override, *extra), *expected)
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_the_same_names(tmp_path):
    assert_one_line_error(run("games", "selfplay", "--games", "nosuchgame"), "nosuchgame")
    assert_one_line_error(run("games", "arena", "--games", "chess"), "chess")
    assert_one_line_error(run("games", "arena", "--games", "nim", "--opponents", "god"), "unknown agent 'god'")


def test_every_packaged_preset_still_validates():
    from recon.pipeline.preset import load_preset, preset_names

    for name in preset_names():
        assert load_preset(name)["name"]


def test_option_gold_text_is_compared_up_to_spacing_case_and_currency():
    ok = Problem("p", "c", "s", "q", ["$1.50", "($2, $3)"], "option", "Option 2: (2,  3)", [{"role": "user", "content": "q"}])
    assert ok.gold_option == 2
    with pytest.raises(DataFormatError, match="does not match choice 2's text"):
        Problem("p", "c", "s", "q", ["$1.50", "($2, $3)"], "option", "Option 2: (2, 4)", [{"role": "user", "content": "q"}])
    assert Problem("p", "c", "s", "q", ["a", "b"], "option", "Option 2", [{"role": "user", "content": "q"}]).gold_option == 2


# ------------------------------------------------------------------ issue 25: the HTML report

# Text a user controls that a report shows. Game names are not among them: self-play and arena refuse a
# name outside their registries, and so does the report reading a results file that holds one.
FIELDS = ("model", "label", "run", "category", "id", "opponent", "tag")


def payload(field: str) -> str:
    """Markup that runs a script when a page parses it (in a form python-markdown passes through as raw
    HTML): it removes the page's body, which a headless browser shows."""
    return f"<img src=x onerror=document.body.remove({FIELDS.index(field) + 1})>"


def payload_report(folder: Path) -> Path:
    """An eval, a self-play and an arena run whose every free text field holds an HTML payload, and their
    report: returns index.html."""
    rows = [{**row, "id": f"{payload('id')}{i}", "category": payload("category")} for i, row in enumerate(option_rows())]
    write_rows(folder / "d.jsonl", rows)
    (folder / "tags.yaml").write_text(json.dumps({payload("tag"): ["Option"]}))
    runs = {kind: folder / f"{kind}{payload('run')}" for kind in ("E", "L", "S", "A")}
    commands = [
        ["eval", "--backend", "scripted", "--model", payload("model"), "--backend-option", SCRIPT,
         "--data", str(folder / "d.jsonl"), "--out", str(runs["E"]), "--quiet"],
        ["eval", "--backend", "scripted", "--label", payload("label"), "--backend-option", SCRIPT,
         "--data", str(folder / "d.jsonl"), "--out", str(runs["L"]), "--quiet"],
        ["games", "selfplay", "--backend", "scripted", "--model", payload("model"), "--games", "pd", "--trials", "1",
         "--backend-option", 'respond=["<s>choice_1</s>"]', "--out", str(runs["S"])],
        ["games", "arena", "--backend", "scripted", "--model", payload("model"), "--games", "nim", "--matches", "1",
         "--opponents", f"random,llm:scripted:{payload('opponent')}", "--opponent-option", 'respond=["<1>"]',
         "--backend-option", 'respond=["<1>"]', "--out", str(runs["A"])],
    ]  # fmt: skip
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, result.output
    result = run("report", *map(str, runs.values()), "--tags", str(folder / "tags.yaml"), "--out", str(folder / "report"))
    assert result.exit_code == 0, result.output
    return folder / "report" / "index.html"


def test_report_html_escapes_every_text_field(tmp_path):
    import html as html_module

    page = payload_report(tmp_path).read_text()
    markdown_text = (tmp_path / "report" / "index.md").read_text()
    for field in FIELDS:
        assert payload(field) not in page, field  # never as markup
        if payload(field) in markdown_text:  # every field the report shows is shown, as text
            assert html_module.escape(payload(field), quote=False) in page, field
    shown = [f for f in FIELDS if payload(f) in markdown_text]
    assert {"model", "label", "run", "id", "opponent", "tag"} <= set(shown), shown
    assert page.count("<img") == page.count('src="data:image/png;base64,')  # only the inlined figures are images
    assert "onerror=" not in re.sub(r"&lt;.*?&gt;", "", page)


def test_report_renderer_drops_raw_html_and_script_links():
    from recon.report.build import safe_markdown_html

    page = safe_markdown_html("<div onclick=x>block</div>\n\n| a |\n|---|\n| <script>alert(1)</script> |\n\n"
                              "[x](javascript:alert(1)) [ok](https://example.org) ![f](fig.png) `<b>`")  # fmt: skip
    assert "<div" not in page and "<script" not in page and "javascript:" not in page
    assert "&lt;script&gt;" in page and 'href="https://example.org"' in page and 'src="fig.png"' in page


def chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)


@pytest.mark.skipif(chromium() is None, reason="no chromium (apt-get install -y chromium)")
def test_report_runs_no_script_in_a_headless_browser(tmp_path):
    """The payload report opened in headless Chromium: the DOM it builds holds no element the payloads
    asked for, and a control page shows the check would see one if a payload ran."""
    page = payload_report(tmp_path)
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>Recon report</title></head><body><p>x</p>{payload('model')}</body></html>")

    def dom(path: Path) -> str:
        command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom", path.as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout

    assert "<p>x</p>" not in dom(control)  # a payload that runs is seen: the body is gone
    rendered = dom(page)
    assert "<title>Recon report</title>" in rendered and "<table>" in rendered
    assert "onerror" not in re.sub(r"&lt;.*?&gt;", "", rendered)
    assert len(re.findall(r"<img\b", rendered)) == rendered.count('src="data:image/png;base64,')


# ------------------------------------------------------------------ issue 24 item 13: commands live in cli modules


def test_only_cli_modules_import_typer():
    """Typer commands live in `recon/cli.py` and `*/cli.py`; libraries raise UserError and never import
    typer (nor exit the process with typer.Exit)."""
    import ast

    import recon

    root = Path(recon.__file__).resolve().parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name == "typer" or name.startswith(("typer.", "click")) for name in names):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_data_commands_are_registered_from_data_cli():
    from recon.data import cli

    commands = {c.name or c.callback.__name__: c.callback.__module__ for c in cli.app.registered_commands}
    assert commands == {name: "recon.data.cli" for name in ("report", "export", "audit", "generate", "build", "shortcuts")}


def test_selfplay_failed_requests_exit_3_from_the_cli(tmp_path):
    """The self-play glue moved from the runner (which raised typer.Exit) into `recon.games.cli`: a run
    whose backend fails every request still ends with exit 3 and the retry hint."""
    from recon.runs import EXIT_FAILED_ITEMS

    result = run("games", "selfplay", "--backend", "scripted", "--games", "pd", "--trials", "1", "--backend-option",
                 'respond={"never asked": "x"}', "--out", str(tmp_path / "run"))  # fmt: skip
    assert result.exit_code == EXIT_FAILED_ITEMS, result.output
    assert "rerun the same command" in " ".join(result.output.split())


# ------------------------------------------------------------------ issue 25: generated garbage

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PROBLEM_FIELDS = ("id", "category", "source", "question", "choices", "answer_type", "gold", "messages", "meta")
GARBAGE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def runs_or_one_line(result) -> None:
    """A command either ran or failed in one `error:` line with exit 2 — never a traceback."""
    if result.exit_code == 0:
        return
    assert result.exit_code == 2 and not isinstance(result.exception, (AssertionError,)), (result.exit_code, result.output, repr(result.exception))
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@GARBAGE
@given(field=st.sampled_from(PROBLEM_FIELDS), value=JSON_VALUES)
def test_garbage_in_a_problem_field_runs_or_fails_in_one_line(field, value, tmp_path_factory):
    folder = tmp_path_factory.mktemp("garbage")
    rows = option_rows(2)
    rows[1][field] = value
    write_rows(folder / "d.jsonl", rows)
    result = run("eval", "--backend", "scripted", "--backend-option", SCRIPT, "--data", str(folder / "d.jsonl"), "--out", str(folder / "run"), "--quiet")
    runs_or_one_line(result)
    if result.exit_code == 2:
        assert "d.jsonl" in result.stderr and not (folder / "run").exists()


@GARBAGE
@given(content=st.binary(max_size=200))
def test_garbage_bytes_in_a_data_file_run_or_fail_in_one_line(content, tmp_path_factory):
    from recon.data.registry import load_problems

    folder = tmp_path_factory.mktemp("bytes")
    (folder / "d.jsonl").write_bytes(content)
    runs_or_one_line(run("eval", "--backend", "scripted", "--backend-option", SCRIPT, "--data", str(folder / "d.jsonl"),
                         "--out", str(folder / "run"), "--quiet"))  # fmt: skip
    try:
        load_problems(str(folder / "d.jsonl"))
    except UserError:
        pass


PRESET_KEYS = ("name", "model", "think", "seed", "stages", "models", "data", "sft", "grpo", "eval", "games", "report",
               "data.difficulty", "data.generated_per_category", "data.exclude_categories", "eval.backend", "eval.datasets",
               "eval.max_tokens", "games.selfplay", "games.selfplay.games", "games.selfplay.temperature", "games.arena.games",
               "games.arena.opponents", "games.arena.matches", "sft.recipe", "grpo.from_sft")  # fmt: skip


@GARBAGE
@given(key=st.sampled_from(PRESET_KEYS), value=JSON_VALUES)
def test_garbage_in_a_preset_field_runs_or_fails_in_one_line(key, value, tmp_path_factory):
    folder = tmp_path_factory.mktemp("preset")
    result = run("pipeline", "--preset", "cpu-demo", "--set", f"{key}={json.dumps(value)}", "--dry-run", "--run-dir", str(folder / "run"))
    runs_or_one_line(result)
    assert not (folder / "run").exists()


@GARBAGE
@given(text=st.text(max_size=300))
def test_garbage_preset_files_run_or_fail_in_one_line(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("presetfile") / "p.yaml"
    path.write_text(text)
    runs_or_one_line(run("pipeline", "--preset", str(path), "--dry-run"))
