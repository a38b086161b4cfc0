"""Small helpers shared by the CLI modules."""
from __future__ import annotations

from typing import NoReturn

import typer


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, no traceback."""
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(code)
