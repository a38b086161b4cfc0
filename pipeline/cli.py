"""The `jianbao` command. Each area registers its commands from its own cli_* module; heavy imports
happen inside the commands, never at import time."""
from __future__ import annotations

from typing import Optional

import typer

from pipeline import cli_annotations, cli_core, cli_flows, cli_models, cli_store

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="jianbao (简报): quantity facts from Chinese work-safety bulletins.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: speed and memory.")
app.add_typer(bench_app, name="bench")


@app.callback()
def main(config: Optional[str] = typer.Option(None, "--config", "-c", help="a TOML file over configs/default.toml")) -> None:
    if config:
        import os

        os.environ["JIANBAO_CONFIG"] = config


for module in (cli_core, cli_annotations, cli_models, cli_store, cli_flows):
    module.register(app, bench_app)
