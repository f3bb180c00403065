"""Presets: found by name in the packaged recipes (importlib.resources) or by path, overridden with
`--set key.sub=value`, and checked against `SCHEMA` before any stage runs (unknown keys, wrong types,
negative counts and unknown stages are refused with the field named)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import yaml

from recon.errors import UserError
from recon.data.generate import MAX_DIFFICULTY
from recon.resources import RECIPES, resource_path
from recon.runs import MODEL_STAGES

PRESET_DIR = RECIPES / "presets"
STAGE_NAMES = ("data", "sft", "grpo", "eval", "games", "report")
BACKEND_NAMES = ("auto", "hf", "llamacpp", "openai", "vllm")

Check = Callable[[Any, str], None]


class PresetError(UserError):
    """A preset that cannot run: unknown name, bad YAML, or a field the schema refuses."""


# ------------------------------------------------------------------ files


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """A preset by name (the packaged `recipes/presets/NAME.yaml`) or a path to a YAML file."""
    if Path(name).suffix in (".yaml", ".yml"):
        path = resource_path(name)
        if not path.is_file():
            raise PresetError(f"preset file {name} not found")
        return path
    candidate = PRESET_DIR / f"{name}.yaml"
    if not candidate.is_file():
        raise PresetError(f"unknown preset {name!r}; presets: {', '.join(preset_names())} (or pass a YAML path)")
    return candidate


# ------------------------------------------------------------------ schema


def _is(value: Any, t: type) -> bool:
    """isinstance, except that a bool is no number and an int is a float."""
    if isinstance(value, bool) or t is bool:
        return t is bool and isinstance(value, bool)
    return isinstance(value, (int, float) if t is float else t)


def kind(*types: type, minimum: float | None = None, maximum: float | None = None, choices: tuple | None = None,
         nullable: bool = False) -> Check:
    """A value of one of `types` (bool is not a number, NaN and infinity are none), optionally within
    [`minimum`, `maximum`] or one of `choices`."""

    def check(value: Any, where: str) -> None:
        if value is None and nullable:
            return
        if not any(_is(value, t) for t in types):
            names = " or ".join(t.__name__ for t in types) + (" or null" if nullable else "")
            raise PresetError(f"{where}: expected {names}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise PresetError(f"{where}: expected a finite number, got {value!r}")
        if choices is not None and value not in choices:
            raise PresetError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
        if minimum is not None and value < minimum:
            raise PresetError(f"{where}: must be >= {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise PresetError(f"{where}: must be <= {maximum}, got {value!r}")

    return check


def list_of(item: Check) -> Check:
    def check(value: Any, where: str) -> None:
        kind(list)(value, where)
        for i, entry in enumerate(value):
            item(entry, f"{where}[{i}]")

    return check


def section(**fields: Check) -> Check:
    """A mapping with exactly these optional keys."""

    def check(value: Any, where: str) -> None:
        kind(dict)(value, where)
        for key, entry in value.items():
            if key not in fields:
                raise PresetError(f"{where}.{key}: unknown key; {where} takes {', '.join(fields)}")
            fields[key](entry, f"{where}.{key}")

    return check


def map_of(item: Check) -> Check:
    """A mapping with free keys whose values all pass `item`."""

    def check(value: Any, where: str) -> None:
        kind(dict)(value, where)
        for key, entry in value.items():
            item(entry, f"{where}.{key}")

    return check


TEXT, FLAG, MAP = kind(str), kind(bool), kind(dict)


def category(value: Any, where: str) -> None:
    """A category of the registry (`recon.data.categories`, imported only when a preset names one)."""
    from recon.data.categories import CATEGORY_SPECS

    kind(str, choices=tuple(sorted(CATEGORY_SPECS)))(value, where)


def category_map(item: Check) -> Check:
    """A mapping from categories of the registry to values that pass `item`."""

    def check(value: Any, where: str) -> None:
        kind(dict)(value, where)
        for key, entry in value.items():
            category(key, f"{where} key")
            item(entry, f"{where}.{key}")

    return check


def registered(check_names: Callable[[Any], Any], value_check: Check) -> Check:
    """A value that passes `value_check` and that `check_names` (the function the CLI uses on the same
    flag) accepts; its ValueError becomes a PresetError naming the field."""

    def check(value: Any, where: str) -> None:
        value_check(value, where)
        try:
            check_names(value)
        except ValueError as exc:
            raise PresetError(f"{where}: {exc}") from None

    return check


def selfplay_games(value: Any) -> None:
    from recon.games.library import select_games

    select_games(value)


def arena_games(value: Any) -> None:
    from recon.games.arena.games import resolve_games

    resolve_games(value)


def opponent(value: Any) -> None:
    from recon.games.arena.agents import check_agent_spec

    check_agent_spec(value)


COUNT, POSITIVE, NUMBER = kind(int, minimum=0), kind(int, minimum=1), kind(float, minimum=0)
PROBABILITY = kind(float, minimum=0, maximum=1)
DIFFICULTY = kind(int, minimum=0, maximum=MAX_DIFFICULTY)  # `recon data generate --difficulty`'s range
BACKEND = kind(str, choices=BACKEND_NAMES)
TEXT_OR_LIST = kind(str, list)


def text_or_texts(value: Any, where: str) -> None:
    TEXT_OR_LIST(value, where)
    if isinstance(value, list):
        list_of(TEXT)(value, where)


TRAINING = section(recipe=TEXT, dataset=TEXT, args=MAP, launcher=list_of(TEXT), from_sft=FLAG)

REQUIRED = ("model",)
# Every key a preset may hold. A stage that reads a new key adds it here (one line).
SCHEMA: Check = section(
    name=TEXT,
    model=TEXT,
    think=kind(str, choices=("required", "optional", "none")),
    seed=COUNT,
    stages=list_of(kind(str, choices=STAGE_NAMES)),
    models=list_of(kind(str, choices=MODEL_STAGES)),  # which models eval and games compare (default: all three)
    data=section(
        generated_per_category=COUNT,
        eval_generated_per_category=COUNT,
        sft_per_category=kind(int, minimum=1, nullable=True),
        sft_reasoning=kind(str, choices=("full", "none")),
        difficulty=DIFFICULTY,
        shortcut_items=COUNT,
        hub_id=kind(str, nullable=True),  # the HF hub dataset of the published splits (`--hub-id`); null: local folder
        exclude_categories=list_of(category),  # an ablation: left out of training files only
        taught=section(  # the taught slice (recon.data.taught): categories with the reason for each, fresh train/eval items
            categories=category_map(section(why=TEXT, difficulty=DIFFICULTY, where=MAP)),
            train_per_category=COUNT,
            eval_per_category=COUNT,
            left_out=map_of(TEXT),
        ),
    ),
    sft=TRAINING,
    grpo=TRAINING,
    eval=section(
        backend=BACKEND,
        backend_options=MAP,
        max_tokens=POSITIVE,
        datasets=map_of(section(limit=kind(int, minimum=1, nullable=True), permutations=POSITIVE, categories=list_of(TEXT),
                                max_tokens=POSITIVE)),  # max_tokens: this dataset's budget (default: eval.max_tokens)
    ),
    games=section(
        backend=BACKEND,
        backend_options=MAP,
        selfplay=section(
            games=registered(selfplay_games, text_or_texts), trials=POSITIVE, temperature=NUMBER, top_p=PROBABILITY, max_tokens=POSITIVE,
            max_retries=COUNT, negotiation_rounds=COUNT, batch_size=POSITIVE, think=FLAG,
            tag=kind(str, choices=("first", "last")), who_first=kind(str, choices=("Alice", "Bob")),
        ),
        arena=section(
            games=registered(arena_games, text_or_texts), opponents=list_of(registered(opponent, TEXT)), matches=POSITIVE, mcts_simulations=POSITIVE,
            illegal=kind(str, choices=("forfeit", "retry")), max_retries=COUNT, round_robin=FLAG,
            parse=kind(str, choices=("strict", "lenient")), replay_abnormal=COUNT, temperature=NUMBER,
            max_tokens=POSITIVE, think=FLAG, opponent_temperature=NUMBER, opponent_think=FLAG, progress=FLAG,
            concurrency=POSITIVE,
        ),
    ),
    report=MAP,
)


def validate_preset(preset: Any, source: str = "preset") -> dict[str, Any]:
    """`preset` when it passes `SCHEMA`; else a `PresetError` naming `source` and the field."""
    try:
        SCHEMA(preset, "preset")
        for key in REQUIRED:
            if key not in preset:
                raise PresetError(f"preset.{key}: missing")
    except PresetError as exc:
        raise PresetError(f"{source}: {exc}") from None
    return preset


# ------------------------------------------------------------------ loading


def apply_override(preset: dict[str, Any], assignment: str) -> None:
    """`a.b.c=value` (value parsed as YAML) sets preset["a"]["b"]["c"]."""
    if "=" not in assignment:
        raise PresetError(f"--set {assignment!r}: must look like key.sub=value")
    dotted, raw = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    node = preset
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise PresetError(f"--set {assignment!r}: {key!r} is not a section")
    try:
        node[keys[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PresetError(f"--set {assignment!r}: value is not YAML ({' '.join(str(exc).split())})") from None


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: mappings merged key by key, any other value replaced."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read_preset(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A preset file's mapping; `extends: OTHER` (a preset name or path) starts from OTHER's values."""
    if path in seen:
        raise PresetError(f"{path}: extends itself (through {' → '.join(map(str, seen))})")
    try:
        preset = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(preset, dict):
        raise PresetError(f"{path}: a preset is a mapping of keys (name, model, stages, …)")
    base = preset.pop("extends", None)
    if base is None:
        return preset
    if not isinstance(base, str):
        raise PresetError(f"{path}: extends: expected a preset name or path, got {base!r}")
    return merge({k: v for k, v in _read_preset(preset_path(base), (*seen, path)).items() if k != "name"}, preset)


def load_preset(name: str, overrides: list[str] | None = None) -> dict[str, Any]:
    """The preset `name` (a packaged name or a YAML path; `extends: OTHER` inherits OTHER's values) with
    `overrides` applied, validated."""
    path = preset_path(name)
    preset = _read_preset(path)
    for assignment in overrides or []:
        apply_override(preset, assignment)
    preset.setdefault("name", path.stem)
    return validate_preset(preset, str(path))
