"""User errors: bad input that the `recon` command reports as one line (exit 2), never a traceback."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
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


def _unwritable_reason(path: Path) -> str | None:
    """Why nothing can be created at `path` (a parent that is a file, a read-only folder), or None."""
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None


def writable_file(path: Path, flag: str) -> Path:
    """`path` as a file to (over)write, refused (UserError naming `flag`) before any work when it is a
    folder, lies under a file, or its folder is not writable."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a folder, expected a file")
    reason = (None if os.access(path, os.W_OK) else f"{path} is not writable") if path.exists() else _unwritable_reason(path)
    if reason:
        raise UserError(f"{flag} {path}: {reason}")
    return path


def writable_folder(path: Path, flag: str) -> Path:
    """`path` as a folder to write into, refused (UserError naming `flag`) before any work when it is a
    file, lies under a file, or cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file, expected a folder")
    reason = (None if os.access(path, os.W_OK | os.X_OK) else f"{path} is not writable") if path.exists() else _unwritable_reason(path)
    if reason:
        raise UserError(f"{flag} {path}: {reason}")
    return path


def http_url(url: str, what: str) -> str:
    """`url` when it is an http(s) URL with a host, else a UserError naming `what` (refused before any request)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url))
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise UserError(f"{what} {url!r}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{what} {url!r}: not an http(s) URL with a host, e.g. http://127.0.0.1:8000/v1")
    return str(url)
