"""One way to name a dataset, used by `recon eval`, `recon train`, `recon distill` and the pipeline.

- `recon-train`, `recon-eval`, `recon-sft-cot`: the published splits (from `--data-dir` / `$RECON_DATA_DIR` /
  `../shared/data/recon`, or from the HF hub with `hub_id`, e.g. `MasterZhou/Recon`); `train`, `eval` and
  `sft_cot` are accepted as the same names;
- `verified:DIR`: a folder written by `recon data build --out DIR` (its `eval.jsonl` or `train.jsonl`);
  plain `verified` means `$RECON_VERIFIED_DIR` and is refused when that is unset (never a folder relative to
  the working directory by accident);
- any other name: a problems JSONL file.

An empty dataset is an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from recon.data.problem import Problem, read_problems
from recon.errors import UserError

PUBLISHED = {"recon-train": "train", "recon-eval": "eval", "recon-sft-cot": "sft_cot"}
NAME_OF_SPLIT = {split: name for name, split in PUBLISHED.items()}
VERIFIED = "verified"
VERIFIED_ENV = "RECON_VERIFIED_DIR"
NAMES_HELP = "recon-eval | recon-train | recon-sft-cot | verified:DIR | PATH.jsonl"

Part = Literal["train", "eval"]


def published_split(spec: str) -> str | None:
    """The published split a name stands for (`recon-eval` → `eval`), else None."""
    return PUBLISHED.get(spec) or (spec if spec in NAME_OF_SPLIT else None)


def verified_folder(spec: str) -> Path:
    """The folder of `verified:DIR` (or `$RECON_VERIFIED_DIR` for plain `verified`)."""
    folder = spec.partition(":")[2] or os.environ.get(VERIFIED_ENV)
    if not folder:
        raise UserError(
            f"dataset {spec!r}: name the folder written by `recon data build --out DIR` as verified:DIR "
            f"(or set {VERIFIED_ENV})"
        )
    return Path(folder).expanduser()


def verified_file(spec: str, part: Part) -> Path:
    """The JSONL of `verified[:DIR]` for the eval or train part."""
    path = verified_folder(spec) / f"{part}.jsonl"
    if not path.is_file():
        raise UserError(f"dataset {spec!r}: {path} not found; run `recon data build --out {path.parent}` first")
    return path


def is_verified(spec: str) -> bool:
    return spec == VERIFIED or spec.startswith(VERIFIED + ":")


def load_problems(
    spec: str, *, part: Part = "eval", data_dir: str | Path | None = None, hub_id: str | None = None
) -> list[Problem]:
    """The problems a dataset name stands for; `part` picks the split of a `verified` folder."""
    split = published_split(spec)
    if split is not None:
        from recon.data.published import load_split

        problems = load_split(split, data_dir, hub_id)
    elif is_verified(spec):
        problems = read_problems(verified_file(spec, part))
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UserError(f"dataset {spec!r} is not a file, nor one of: {NAMES_HELP}")
        problems = read_problems(path)
    if not problems:
        raise UserError(f"dataset {spec!r} is empty")
    return problems


def published_source(data_dir: str | Path | None = None, hub_id: str | None = None) -> str:
    """Where the published splits are read from: the hub dataset `hub_id` when given, else the folder
    `data_dir` (default `$RECON_DATA_DIR`, then `../shared/data/recon`), which must hold every CSV."""
    if hub_id:
        return f"hub dataset {hub_id}"
    from recon.data.published import HUB_ID, SPLIT_FILES, default_data_dir

    folder = Path(data_dir or default_data_dir())
    missing = [name for name in SPLIT_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise UserError(
            f"published data not found: {folder} has no {', '.join(missing)}; pass --hub-id {HUB_ID} "
            "or set RECON_DATA_DIR to a folder holding the published CSVs"
        )
    return str(folder)


def describe(spec: str, *, part: Part = "eval", data_dir: str | Path | None = None, hub_id: str | None = None) -> str:
    """Where a dataset name's problems come from, without loading them; an unusable name raises, except
    missing published data (a dry run reports it)."""
    split = published_split(spec)
    if split is not None:
        try:
            return f"published {split} split from {published_source(data_dir, hub_id)}"
        except UserError as exc:
            return f"published {split} split: {exc}"
    if is_verified(spec):
        return str(verified_file(spec, part))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UserError(f"dataset {spec!r} is not a file, nor one of: {NAMES_HELP}")
    return str(path)


def canonical_name(spec: str) -> str:
    """One spelling per dataset, for run identities: `train` → `recon-train`, `verified[:DIR]` and paths
    made absolute (the same data named from another folder is the same run)."""
    split = published_split(spec)
    if split is not None:
        return NAME_OF_SPLIT[split]
    if is_verified(spec):
        return f"{VERIFIED}:{verified_folder(spec).resolve()}"
    return str(Path(spec).expanduser().resolve())
