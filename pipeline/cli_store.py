"""CLI commands of this area (registered by pipeline.cli)."""
from __future__ import annotations

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    pass
