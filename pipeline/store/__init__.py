"""The knowledge store: documents, paragraphs, mentions, facts, organisations, regions and runs in SQLite or PostgreSQL.

    store = open_store()                                   # [store] url; the schema is migrated on open
    store = open_store("postgresql+psycopg://postgres@127.0.0.1/jianbao")
    store.facts(FactFilter(region="赣州市", item="事故"))   # list of dicts
    store.summary(FactFilter(), by="region", per="year")

Writes go through pipeline.ingest (ingest_document / ingest_paths), one transaction per document.
"""
from __future__ import annotations

import contextlib
import os
import socket
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, func, select, update

from pipeline.store import models
from pipeline.store.db import StoreError, make_engine, migrate, normalise_url, with_retries
from pipeline.store.query import COLUMNS, FactFilter, facts_select, summary_select
from pipeline.store.write import DocumentRecord, MentionRow, WriteResult, now, write_document, write_failure

__all__ = ["Store", "open_store", "FactFilter", "DocumentRecord", "MentionRow", "WriteResult", "StoreError",
           "COLUMNS"]


class Store:
    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine
        self._regions: dict[str, int] = {}  # ids of committed rows, never deleted: safe to cache
        self._orgs: dict[tuple[str, str], int] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)})"

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE); committed on success, rolled back on any exception."""
        with self.engine.connect() as conn:
            conn.execution_options(writer=True)
            with conn.begin():
                yield conn

    # ---------------------------------------------------------------------------------------------- writes

    def state(self, sha256: str) -> tuple[str, str | None] | None:
        """(status, model_version) of a document already in the store, by the sha256 of its file."""
        D = models.Document.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(D.c.status, D.c.model_version).where(D.c.sha256 == sha256)).first()
            conn.rollback()
        return (row.status, row.model_version) if row else None

    def write(self, rec: DocumentRecord, *, run_id: int | None = None, force: bool = False) -> WriteResult:
        """Write one document atomically (retrying on lock contention); see pipeline.store.write."""

        def attempt() -> WriteResult:
            with self.transaction() as conn:
                res, regions, orgs = write_document(conn, rec, run_id=run_id, force=force,
                                                    region_cache=self._regions, org_cache=self._orgs)
            self._regions.update(regions)
            self._orgs.update(orgs)
            return res

        return with_retries(attempt)

    def fail(self, sha256: str, path: str, error: str, *, model_version: str | None = None,
             run_id: int | None = None) -> int:
        def attempt() -> int:
            with self.transaction() as conn:
                return write_failure(conn, sha256, path, error, model_version=model_version, run_id=run_id)

        return with_retries(attempt)

    def start_run(self, model_version: str | None, kind: str = "ingest") -> int:
        T = models.Run.__table__

        def attempt() -> int:
            with self.transaction() as conn:
                return conn.execute(T.insert().values(kind=kind, model_version=model_version, started_at=now(),
                                                      status="running", host=socket.gethostname(), pid=os.getpid())
                                    .returning(T.c.id)).scalar_one()

        return with_retries(attempt)

    def finish_run(self, run_id: int, status: str = "done", **counts: int) -> None:
        T = models.Run.__table__
        values = {k: v for k, v in counts.items() if k in T.c}

        def attempt() -> None:
            with self.transaction() as conn:
                conn.execute(update(T).where(T.c.id == run_id).values(finished_at=now(), status=status, **values))

        with_retries(attempt)

    # ----------------------------------------------------------------------------------------------- reads

    def _rows(self, q: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
            conn.rollback()
        return rows

    def facts(self, flt: FactFilter | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        return self._rows(facts_select(flt or FactFilter(), limit))

    def summary(self, flt: FactFilter | None = None, by: str = "region", per: str = "year") -> list[dict[str, Any]]:
        if by not in ("region", "org"):
            raise ValueError(f"summary by {by!r}: region or org")
        if per not in ("year", "month"):
            raise ValueError(f"summary per {per!r}: year or month")
        rows = self._rows(summary_select(flt or FactFilter(), by, per))
        for r in rows:
            for k in ("year", "month"):
                r[k] = int(r[k]) if r[k] is not None else None
        return rows

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for t in models.Base.metadata.sorted_tables:
                out[t.name] = conn.execute(select(func.count()).select_from(t)).scalar_one()
            conn.rollback()
        return out

    def documents(self) -> list[dict[str, Any]]:
        D = models.Document.__table__
        return self._rows(select(D.c.id, D.c.sha256, D.c.source_path, D.c.status, D.c.error, D.c.model_version,
                                 D.c.n_facts, D.c.region, D.c.date).order_by(D.c.id))

    def runs(self) -> list[dict[str, Any]]:
        T = models.Run.__table__
        return self._rows(select(T).order_by(T.c.id))


def open_store(url: str | None = None, settings: Any = None, *, create: bool = True) -> Store:
    """The store at `url` (default: [store] url of the settings), its schema migrated to the head revision."""
    if url is None:
        if settings is None:
            from pipeline.config import get_settings

            settings = get_settings()
        url = settings.store.url
    url = normalise_url(url)
    engine = make_engine(url)
    try:
        if create:  # two processes opening a new store race to create and migrate it: retry on the lock
            with_retries(lambda: migrate(engine))
    except Exception as exc:
        engine.dispose()
        raise StoreError(f"cannot open store {engine.url.render_as_string(hide_password=True)}: {exc}") from exc
    return Store(url, engine)
