"""Small helpers shared by the CLI modules."""
from __future__ import annotations

from typing import Any, NoReturn

import typer


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, no traceback."""
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(code)


def settings() -> Any:
    """The validated settings; a broken config is one clear line, not a traceback."""
    from pipeline.config import ConfigError, get_settings

    try:
        return get_settings()
    except ConfigError as exc:
        fail(" ".join(str(exc).split()))
