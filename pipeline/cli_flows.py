"""CLI commands of the Prefect flows (registered by pipeline.cli): `flow ingest|retrain|evaluate` (run a flow once)
and `serve` (the schedules). Prefect runs on its local ephemeral API unless PREFECT_API_URL is set."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import typer


def _config() -> Optional[str]:
    c = os.environ.get("JIANBAO_CONFIG")
    return str(Path(c).resolve()) if c else None


def _run(fn: Any, **kwargs: Any) -> Any:
    """Run a flow once; print its final state; exit 1 when it failed."""
    from rich.console import Console

    import flows  # noqa: F401 - Prefect's environment before prefect

    console = Console(stderr=True)
    state = fn(return_state=True, **kwargs)
    if not state.is_completed():
        try:
            state.result()
        except BaseException as exc:  # noqa: BLE001 - the flow's own error, said in one line
            msg = f"{type(exc).__name__}: {exc}"
        else:
            msg = state.message or state.name
        console.print(f"[red]{fn.name} {state.name.lower()}:[/red] {msg}", highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]{fn.name}:[/green] {state.message or 'completed'}", highlight=False)
    return state.result()


def register(app: typer.Typer, bench: typer.Typer) -> None:
    flow_app = typer.Typer(no_args_is_help=True, help="Run a Prefect flow once (Prefect's local ephemeral API "
                                                      "unless PREFECT_API_URL is set).")
    app.add_typer(flow_app, name="flow")

    @flow_app.command("ingest")
    def flow_ingest(
        inbox: Optional[list[str]] = typer.Option(None, "--inbox", help="a folder to read instead of [flows] inboxes "
                                                  "(repeatable; FOLDER or FOLDER:GLOB)"),
        store: Optional[str] = typer.Option(None, "--store", help="store URL (default: store.url of the config)"),
        runner: Optional[str] = typer.Option(None, "--runner", help="threads | dask (default: [flows] task_runner)"),
        dask_address: Optional[str] = typer.Option(None, "--dask-address", help="a Dask scheduler, tcp://host:8786"),
        workers: Optional[int] = typer.Option(None, "--workers", help="threads, or LocalCluster workers with dask"),
    ) -> None:
        """New bulletins in the inboxes → the store; processed files moved, broken ones quarantined."""
        from rich.console import Console
        from rich.table import Table

        from flows.ingest import ingest

        over: dict[str, Any] = {}
        fl: dict[str, Any] = {}
        if inbox:
            fl["inboxes"] = [dict(zip(("path", "glob"), i.rsplit(":", 1))) if ":" in i and not Path(i).exists()
                             else {"path": i} for i in inbox]
        if runner:
            if runner not in ("threads", "dask"):
                from pipeline.cli_util import fail

                fail(f"--runner {runner}: threads or dask")
            fl["task_runner"] = runner
        if dask_address:
            fl["task_runner"], fl["dask_address"] = "dask", dask_address
        if workers:
            fl["dask_workers" if fl.get("task_runner") == "dask" else "thread_workers"] = workers
        if fl:
            over["flows"] = fl
        if store:
            over["store"] = {"url": store}
        report = _run(ingest, config=_config(), overrides=over or None)
        t = Table(title=f"ingest · model {report['model_version']} · {report['store']}")
        for k in ("discovered", "new", "replaced", "unchanged", "quarantined", "errors", "facts", "seconds"):
            t.add_column(k, justify="right")
        t.add_row(*(str(report[k]) for k in ("discovered", "new", "replaced", "unchanged", "quarantined", "errors",
                                             "facts", "seconds")))
        console = Console()
        console.print(t)
        for d in report["documents"]:
            if d["status"] == "failed":
                console.print(f"[yellow]quarantined[/yellow] {d.get('name') or d['path']}: {d['error']}",
                              highlight=False)

    @flow_app.command("retrain")
    def flow_retrain(
        force: bool = typer.Option(False, "--force", help="promote the new model whatever its scores"),
        evaluate_after: Optional[bool] = typer.Option(None, "--evaluate/--no-evaluate",
                                                      help="run the evaluate flow afterwards "
                                                           "(default: [flows] evaluate_after_retrain)"),
    ) -> None:
        """Train on annotations/, evaluate on dev and test, register, promote if not worse than the current model."""
        from rich.console import Console

        from flows.retrain import retrain

        res = _run(retrain, config=_config(), force=force, evaluate_after=evaluate_after)
        Console().print(f"model {res['version']} in {res['path']}: "
                        f"{'promoted to ' + res['current'] if res['promoted'] else 'not promoted'} "
                        f"({res['decision']['reason']})", highlight=False)

    @flow_app.command("evaluate")
    def flow_evaluate(
        model: Optional[str] = typer.Option(None, "--model", help="a model folder (default: model.path)"),
        split: str = typer.Option("test", "--split", help="train | dev | test | a JSONL file of gold records"),
    ) -> None:
        """Score the current model; the table is a Prefect artifact, the report a JSON file under reports_dir."""
        from rich.console import Console

        from flows.evaluate import evaluate
        from pipeline.model_registry import report_markdown

        res = _run(evaluate, config=_config(), model=model, split=split)
        Console().print(report_markdown(res["report"], f"model {res['version']} on {res['split']}"), highlight=False)
        Console().print(f"report: {res['json']}", highlight=False)

    @app.command("serve")
    def serve_cmd(
        port: Optional[int] = typer.Option(None, "--port", help="the local Prefect server's port "
                                           "(default: [flows] server_port; unused when PREFECT_API_URL is set)"),
    ) -> None:
        """Serve the flows on their schedules: ingest nightly, retrain weekly (then evaluate), one run at a time.
        Starts a local Prefect server (SQLite under the cache dir) unless PREFECT_API_URL is set."""
        from rich.console import Console

        from flows._env import configure_prefect, local_server
        from pipeline.cli_util import fail
        from pipeline.config import get_settings

        settings = get_settings()
        configure_prefect(settings)
        console = Console(stderr=True)
        try:
            with local_server(settings, port) as url:
                f = settings.flows
                console.print(f"Prefect API {url}; ingest '{f.ingest_cron}', retrain '{f.retrain_cron}' "
                              f"({f.timezone}); Ctrl-C stops", highlight=False)
                from flows.deploy import serve

                serve(settings, _config())
        except RuntimeError as exc:
            fail(str(exc), 1)
