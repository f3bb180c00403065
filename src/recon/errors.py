"""User errors: bad input that the `recon` command reports as one line (exit 2), never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (a flag value, a file, a row, a preset field). The message names the
    file, row or field and, where there is one, the way out; `recon` prints it as one line and exits 2."""
