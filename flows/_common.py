"""What the flows share: their settings, the task runner, and per-process caches of the store and the extractor
(a Dask worker process loads the model once, not once per document)."""
from __future__ import annotations

import contextlib
import importlib
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator

import flows  # noqa: F401 - Prefect's environment first

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings
    from pipeline.extract import Extractor
    from pipeline.store import Store

_LOCK = threading.RLock()
_STORES: dict[str, "Store"] = {}
_EXTRACTORS: dict[tuple[Any, ...], "Extractor"] = {}


def settings_for(config: str | None = None, overrides: dict[str, Any] | None = None) -> "Settings":
    """configs/default.toml, then `config` (or $JIANBAO_CONFIG), then JIANBAO_* variables, then `overrides`
    (a dict shaped like the TOML, e.g. {"store": {"url": …}}): read afresh for every flow run."""
    from pipeline.config import ConfigError, Settings, _deep_merge, load_settings

    settings = load_settings(config or os.environ.get("JIANBAO_CONFIG") or None)
    if overrides:
        from pydantic import ValidationError

        try:
            settings = Settings.model_validate(_deep_merge(settings.model_dump(), overrides))
        except ValidationError as exc:
            raise ConfigError(f"invalid flow parameter overrides:\n{exc}") from exc
    return settings


def resolve_callable(module: str, name: str) -> Callable[..., Any]:
    """module.name, imported now (so that a test can stand in for a component another developer writes)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise RuntimeError(f"{module} is not available (not written or not installed): {exc}") from exc
        raise
    fn = getattr(mod, name, None)
    if fn is None:
        raise RuntimeError(f"{module}.{name} is not available yet")
    return fn


# ---------------------------------------------------------------------------------------------- extractor

def model_missing(message: str) -> Exception:
    from pipeline.extract import ModelMissingError

    return ModelMissingError(message)


def load_extractor(settings: "Settings") -> "Extractor":
    """The configured extractor: [flows] extractor ("module:callable", called with the settings) or the trained
    model (pipeline.extract.load_extractor). Raises ModelMissingError with a clear message."""
    from pipeline import extract

    spec = settings.flows.extractor
    if spec:
        module, name = spec.split(":", 1)
        factory: Any = importlib.import_module(module)
        for part in name.split("."):
            factory = getattr(factory, part)
        return factory(settings)
    loader = getattr(extract, "load_extractor", None)
    if loader is None:
        raise model_missing("no extractor: pipeline.extract.load_extractor is not available in this installation")
    return loader(settings)


def _extractor_key(settings: "Settings") -> tuple[Any, ...]:
    return (settings.flows.extractor, str(settings.resolve(settings.model.path)), settings.model.device,
            settings.model.batch_size, settings.model.max_length)


def get_extractor(settings: "Settings", version: str | None = None) -> "Extractor":
    """The cached extractor of this process; reloaded when `version` (the one the flow saw) differs, so that a
    long-lived Dask worker never keeps a model that has since been replaced."""
    key = _extractor_key(settings)
    with _LOCK:
        ex = _EXTRACTORS.get(key)
        if ex is None or (version is not None and getattr(ex, "version", None) != version):
            ex = load_extractor(settings)
            _EXTRACTORS[key] = ex
        return ex


def drop_extractor(settings: "Settings") -> None:
    with _LOCK:
        _EXTRACTORS.pop(_extractor_key(settings), None)


# ---------------------------------------------------------------------------------------------- store

def get_store(settings: "Settings") -> "Store":
    """The cached store of this process (opened, and migrated, once per URL)."""
    from pipeline.ingest import open_store

    url = settings.store.url
    with _LOCK:
        st = _STORES.get(url)
        if st is None:
            st = open_store(url, settings)
            _STORES[url] = st
        return st


def close_store(settings: "Settings") -> None:
    with _LOCK:
        st = _STORES.pop(settings.store.url, None)
    if st is not None:
        st.close()


# ---------------------------------------------------------------------------------------------- task runner

def make_task_runner(settings: "Settings") -> Any:
    """The per-document task runner: threads (default) or Dask (a LocalCluster of [flows] dask_workers processes
    when no dask_address is given, else the scheduler at dask_address)."""
    f = settings.flows
    if f.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if f.dask_address:
            return DaskTaskRunner(address=f.dask_address)
        return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                              cluster_kwargs={"n_workers": f.dask_workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=f.thread_workers)


def describe_runner(settings: "Settings") -> str:
    f = settings.flows
    if f.task_runner == "dask":
        return f"dask ({f.dask_address})" if f.dask_address else f"dask (LocalCluster, {f.dask_workers} workers)"
    return f"threads ({f.thread_workers})"


@contextlib.contextmanager
def api_for_workers(settings: "Settings") -> Iterator[None]:
    """Dask workers are other processes: without PREFECT_API_URL each would start an ephemeral Prefect server of
    its own. While tasks are submitted, point the settings they receive at the API this flow run talks to (the
    local ephemeral server by default)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if settings.flows.task_runner != "dask" or PREFECT_API_URL.value():
        yield
        return
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    url = str(getattr(getattr(ctx, "client", None), "api_url", "") or "").rstrip("/")
    if not url.startswith("http://127.0.0.1") and not url.startswith("http://localhost"):
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield
