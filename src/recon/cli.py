"""The `recon` command: one sub-command per stage, imported only when it runs (so `recon --help` and
`import recon.cli` stay light), and one error policy: a user error is one line on stderr and exit 2;
`recon --debug …` shows the traceback instead."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.29 vendors click; its exceptions are the ones the commands raise
    from typer._click.exceptions import BadParameter, ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer depends on click itself
    from click.exceptions import BadParameter, ClickException, NoArgsIsHelpError, UsageError

from recon.errors import UserError

# command name → module. A module exposes either `app` (a Typer group of sub-commands) or `command`
# (a single command function). Each stage registers itself here with one line.
STAGES: dict[str, str] = {
    "data": "recon.data.cli",
    "eval": "recon.evaluation.cli",
    "games": "recon.games.cli",
    "train": "recon.training.cli",
    "distill": "recon.distill.cli",
    "pipeline": "recon.pipeline.cli",
    "report": "recon.report.cli",
}
USAGE_EXIT = 2


def stage_command(name: str):
    """The click command of a stage, built from its module on first use."""
    module = importlib.import_module(STAGES[name])
    if hasattr(module, "command"):
        single = typer.Typer(add_completion=False)
        single.command(name)(module.command)
        command = typer.main.get_command(single)
    else:
        command = typer.main.get_command(module.app)
    command.name = name
    return command


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_message(exc: BaseException) -> str | None:
    """The one-line message for a user error, None for anything else (a bug: traceback)."""
    if isinstance(exc, UsageError):
        where = f"{exc.ctx.command_path}: " if exc.ctx else ""
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx and not isinstance(exc, BadParameter) else ""
        return where + one_line(exc.format_message()) + hint
    if isinstance(exc, ClickException):
        return one_line(exc.format_message())
    if isinstance(exc, FileNotFoundError):  # a path the user named
        return f"{exc.filename}: no such file or folder" if exc.filename else one_line(str(exc))
    if isinstance(exc, (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError)) and exc.filename:
        return f"{exc.filename}: {one_line(exc.strerror or str(exc))}"  # an --out that cannot be written
    if isinstance(exc, UserError):
        return one_line(str(exc))
    return None


class ReconGroup(TyperGroup):
    """Stages resolved lazily; user errors turned into one line on stderr with exit 2."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *STAGES]

    def get_command(self, ctx: typer.Context, name: str):
        return stage_command(name) if name in STAGES else super().get_command(ctx, name)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv or bool(os.environ.get("RECON_DEBUG"))
        try:
            code = super().main(argv, prog_name or "recon", complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except NoArgsIsHelpError as exc:
            exc.show()
            code = exc.exit_code
        except typer.Abort:
            typer.echo("recon: aborted", err=True)
            code = 1
        except Exception as exc:  # noqa: BLE001 - a user error becomes one line; anything else is re-raised
            message = error_message(exc)
            if message is None or debug:
                raise
            typer.echo(f"error: {message}", err=True)
            code = USAGE_EXIT
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    name="recon",
    cls=ReconGroup,
    help="Reasoning like an economist: data, solvers, inference, evaluation, training, games, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error instead of one line.")) -> None:
    """Reasoning like an economist: data, solvers, inference, evaluation, training, games, reports."""


if __name__ == "__main__":
    app()
