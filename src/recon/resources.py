"""The packaged resources (recipes, presets, chat templates, accelerate configs) and how a path written in a
recipe or preset finds them: a leaf module, so training and the pipeline both use it without importing each other."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

RECIPES = Path(str(resources.files("recon") / "recipes"))


def resource_path(path: str | Path) -> Path:
    """A recipe or preset path as written in a preset: as it is when it exists (absolute or relative to
    the working directory), else the packaged copy (`recipes/cpu/…` → `recon/recipes/cpu/…`)."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return path
    parts = path.parts[1:] if path.parts and path.parts[0] == "recipes" else path.parts
    packaged = RECIPES.joinpath(*parts)
    return packaged if packaged.exists() else path


def packaged(value: Any) -> Any:
    """A `recipes/…` string (a recipe's chat template, an accelerate config) as a resolved path; any
    other value as it is."""
    return str(resource_path(value)) if isinstance(value, str) and value.startswith("recipes/") else value
