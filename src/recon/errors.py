"""User errors: bad input that the `recon` command reports as one line (exit 2), never a traceback."""

from __future__ import annotations

import contextlib
import importlib
from types import ModuleType
from typing import Iterator


class UserError(ValueError):
    """Bad input from the user (a flag value, a file, a row, a preset field). The message names the
    file, row or field and, where there is one, the way out; `recon` prints it as one line and exits 2.
    A ValueError, so library callers that catch bad values keep working."""


class MissingExtraError(UserError):
    """A feature whose optional dependencies are not installed."""

    def __init__(self, feature: str, extra: str, module: str, alternative: str = ""):
        super().__init__(
            f"{feature} needs the optional '{extra}' extra ({module} is not installed): "
            f"pip install 'recon-econ[{extra}]'" + (f", or {alternative}" if alternative else "")
        )
        self.extra = extra


def require(module: str, extra: str, feature: str, alternative: str = "") -> ModuleType:
    """Import `module`, or raise a `MissingExtraError` naming the extra that installs it (and, when
    there is one, the `alternative` that needs no extra)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but one of its own imports is broken: a real bug
        raise MissingExtraError(feature, extra, module.split(".")[0], alternative) from exc


@contextlib.contextmanager
def user_input(what: str) -> Iterator[None]:
    """Around code that only reads user input (flags, specs): its ValueErrors become UserErrors naming `what`."""
    try:
        yield
    except UserError:
        raise
    except ValueError as exc:
        raise UserError(f"{what}: {exc}") from exc
