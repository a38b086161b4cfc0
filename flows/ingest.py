"""The nightly ingest flow: new bulletins in the inboxes → the knowledge store.

Each document is its own task (pipeline.ingest.ingest_document: one transaction, idempotent by sha256 + model
version). A transient store error (a locked database, a dropped PostgreSQL connection) is retried with exponential
backoff; a file that fails for its own reasons is quarantined with an error record and the run carries on.
The run ends Completed (failures counted) when only documents failed, and Failed when the system is broken: no
model, the store unreachable, or documents that still hit store errors after their retries (those files stay in
the inbox for the next run). A markdown artifact summarises every run.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Optional

import flows  # noqa: F401 - Prefect's environment before prefect
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as runtime_flow_run
from prefect.states import Completed
from prefect.tasks import exponential_backoff

from flows._common import api_for_workers, close_store, describe_runner, drop_extractor, get_extractor, get_store, \
    make_task_runner, settings_for

ARTIFACT_KEY = "jianbao-ingest"


class IngestFailed(RuntimeError):
    """The system is broken (store unreachable, model missing, store errors after retries)."""


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """retry_condition_fn: retry a document only for a transient store error, never for a bug."""
    from pipeline.inbox import is_transient

    try:
        exc = state.result(raise_on_failure=False)
    except Exception as e:  # noqa: BLE001 - the state's own exception
        exc = e
    return isinstance(exc, BaseException) and is_transient(exc)


@task(name="ingest-document", task_run_name="ingest {file[name]}", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=retry_if_transient)
def ingest_file(file: dict[str, Any], settings: Any, model_version: Optional[str], run_id: Optional[int],
                flow_run_id: Optional[str] = None) -> dict[str, Any]:
    """One document: ingest it, then move (or mark) it when processed, quarantine it when it failed."""
    from pipeline.inbox import InboxFile, TransientGuard, processed, quarantine
    from pipeline.ingest import ingest_document

    f = InboxFile.from_dict(file)
    guard = TransientGuard(get_store(settings))
    res = ingest_document(f.path, guard, get_extractor(settings, model_version), settings, run_id=run_id)
    guard.raise_transient()  # a store error, not the document's: let Prefect retry
    out = res.to_dict()
    out["name"] = file.get("name")
    if res.status == "failed":
        out["quarantined_as"], out["error_record"] = quarantine(f, settings, res, flow_run_id=flow_run_id)
    else:
        out["moved_to"] = processed(f, settings, {"status": res.status, "model_version": res.model_version,
                                                  "document_id": res.document_id, "facts": res.facts,
                                                  "flow_run_id": flow_run_id})
    return out


def _redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


@flow(name="ingest", description="New bulletins in the inboxes → the knowledge store (one task per document).")
def ingest(config: Optional[str] = None, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Run once over the configured inboxes. `config`: a TOML file over configs/default.toml; `overrides`: a dict
    shaped like the TOML (e.g. {"store": {"url": "postgresql+psycopg://…"}, "flows": {"task_runner": "dask"}})."""
    from pipeline.extract import ModelMissingError
    from pipeline.inbox import discover, pending, processed
    from pipeline.ingest import DocResult, IngestSummary

    log = get_run_logger()
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    settings = settings_for(config, overrides)
    flow_run_id = str(runtime_flow_run.id) if runtime_flow_run.id else None
    try:
        extractor = get_extractor(settings)
    except ModelMissingError as exc:
        raise ModelMissingError(f"ingest cannot run without a model: {exc}") from exc
    version = getattr(extractor, "version", None)
    store_url = _redact(settings.store.url)
    try:
        store = get_store(settings)
        files, missing = discover(settings)
        todo, unchanged = pending(files, store, version)
    except Exception as exc:
        close_store(settings)
        from pipeline.inbox import is_transient
        from pipeline.store import StoreError

        if isinstance(exc, StoreError) or is_transient(exc):
            raise IngestFailed(f"ingest: the store at {store_url} is unreachable: {exc}") from exc
        raise
    for m in missing:
        log.warning("inbox %s does not exist: nothing to read there", m)
    log.info("%d file(s) in %d inbox(es): %d to ingest, %d already stored with model %s; runner: %s",
             len(files), len(settings.flows.inboxes), len(todo), len(unchanged), version, describe_runner(settings))
    for f in unchanged:
        processed(f, settings, {"status": "unchanged", "model_version": version, "flow_run_id": flow_run_id})

    results: list[dict[str, Any]] = []
    errors: list[tuple[str, BaseException]] = []
    run_id: int | None = None
    try:
        if todo:
            run_id = store.start_run(version)
            f = settings.flows
            delay = exponential_backoff(f.retry_delay_seconds) if f.retry_delay_seconds > 0 else 0
            task_fn = ingest_file.with_options(retries=f.retries, retry_delay_seconds=delay)
            with api_for_workers(settings), make_task_runner(settings) as runner:
                futures = [(item, runner.submit(task_fn, parameters={
                    "file": item.to_dict(), "settings": settings, "model_version": version, "run_id": run_id,
                    "flow_run_id": flow_run_id})) for item in todo]
                for item, fut in futures:
                    try:
                        results.append(fut.result())
                    except Exception as exc:  # noqa: BLE001 - a system error: counted, reported, raised below
                        errors.append((str(item.path), exc))
            summary = IngestSummary(run_id=run_id, model_version=version, results=[
                DocResult(**{k: v for k, v in r.items() if k in DocResult.__dataclass_fields__}) for r in results])
            store.finish_run(run_id, status="failed" if errors else "done", **summary.counts())
    except BaseException:  # the runner could not start (a Dask scheduler unreachable …): the store run failed
        if run_id is not None:
            try:
                store.finish_run(run_id, status="failed")
            except Exception:  # noqa: BLE001 - never hide the original error
                pass
        raise
    finally:
        close_store(settings)
        drop_extractor(settings)

    def n(status: str) -> int:
        return sum(1 for r in results if r["status"] == status)

    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 2),
        "model_version": version,
        "store": store_url,
        "store_run_id": run_id,
        "runner": describe_runner(settings),
        "inboxes": [str(settings.resolve(b.path)) + "/" + b.glob for b in settings.flows.inboxes],
        "missing_inboxes": [str(m) for m in missing],
        "discovered": len(files),
        "processed": len(results),
        "new": n("new"),
        "replaced": n("replaced"),
        "unchanged": len(unchanged) + n("unchanged"),
        "quarantined": n("failed"),
        "errors": len(errors),
        "facts": sum(r["facts"] for r in results if r["status"] in ("new", "replaced")),
        "documents": results,
        "error_details": [{"path": p, "error": f"{type(e).__name__}: {e}"} for p, e in errors],
    }
    create_markdown_artifact(key=ARTIFACT_KEY, markdown=render_report(report),
                             description=f"ingest: {report['new'] + report['replaced']} document(s) written, "
                                         f"{report['quarantined']} quarantined, {report['facts']} facts")
    line = (f"{report['discovered']} file(s): {report['new']} new, {report['replaced']} replaced, "
            f"{report['unchanged']} unchanged, {report['quarantined']} quarantined, {report['errors']} error(s); "
            f"{report['facts']} facts written in {report['seconds']} s")
    log.info(line)
    if errors:
        path, exc = errors[0]
        raise IngestFailed(f"ingest: {len(errors)} of {len(todo)} document(s) could not be ingested because the store "
                           f"or the system failed (after {settings.flows.retries} retries); they stay in the inbox "
                           f"for the next run. First: {path}: {type(exc).__name__}: {exc}")
    return Completed(message=line, data=report)  # type: ignore[return-value]


def _cell(v: Any) -> str:
    return str(v if v is not None else "").replace("|", "\\|").replace("\n", " ")


def render_report(r: dict[str, Any], max_rows: int = 200) -> str:
    out = [f"# jianbao ingest — {r['started']}", "",
           f"Model `{r['model_version']}` · store `{r['store']}` · runner {r['runner']} · {r['seconds']} s", "",
           "| documents | count |", "|---|---:|"]
    for k in ("discovered", "new", "replaced", "unchanged", "quarantined", "errors"):
        out.append(f"| {k} | {r[k]} |")
    out.append(f"| **facts written** | **{r['facts']}** |")
    if r["missing_inboxes"]:
        out += ["", "Missing inboxes: " + ", ".join(f"`{m}`" for m in r["missing_inboxes"])]
    bad = [d for d in r["documents"] if d["status"] == "failed"]
    if bad:
        out += ["", "## Quarantined", "", "| file | reason | record |", "|---|---|---|"]
        for d in bad[:max_rows]:
            out.append(f"| {_cell(d.get('name') or d['path'])} | {_cell(d.get('error'))} | "
                       f"{_cell(d.get('error_record'))} |")
    if r["error_details"]:
        out += ["", "## Errors (left in the inbox)", "", "| file | error |", "|---|---|"]
        for e in r["error_details"][:max_rows]:
            out.append(f"| {_cell(e['path'])} | {_cell(e['error'])} |")
    done = [d for d in r["documents"] if d["status"] != "failed"]
    if done:
        out += ["", "## Documents", "", "| file | status | facts | paragraphs | seconds |", "|---|---|---:|---:|---:|"]
        for d in done[:max_rows]:
            out.append(f"| {_cell(d.get('name') or d['path'])} | {d['status']} | {d['facts']} | {d['paragraphs']} | "
                       f"{d['seconds']:.2f} |")
        if len(done) > max_rows:
            out.append(f"| … {len(done) - max_rows} more | | | | |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    ingest()
