"""One error policy: every bad input is one line on stderr naming the file, row or field, exit 2;
`recon --debug` shows the traceback instead. Also: presets, the dataset registry, the dry run, and a
light `import recon.cli`."""

from __future__ import annotations

import json
import re
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
