"""Opening the store: engines for SQLite and PostgreSQL, migrations applied on open, transactions for writers."""
from __future__ import annotations

import contextlib
import fcntl
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_URL = "sqlite:///data/jianbao.db"
T = TypeVar("T")


class StoreError(RuntimeError):
    pass


def normalise_url(url: str | None, root: Path | None = None) -> str:
    """A SQLAlchemy URL: a bare file path means SQLite; a relative SQLite path is taken from the project root;
    postgresql:// and postgres:// mean psycopg 3."""
    if root is None:
        from pipeline.config import ROOT

        root = ROOT
    url = url or DEFAULT_URL
    if "://" not in url:
        url = "sqlite:///" + str(Path(url).expanduser().resolve())
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        if db and db != ":memory:" and not db.startswith("file:"):
            p = Path(os.path.expanduser(db))
            if not p.is_absolute():
                p = root / p
            p.parent.mkdir(parents=True, exist_ok=True)
            url = str(u.set(database=str(p)))
    return url


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA journal_mode=WAL")  # may report 'locked' at once while another process creates the file
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # writers take the write lock up front (no lock upgrades, so no deadlocks between processes)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writer") else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        # executemany goes to psycopg (pipeline mode), not to multi-row VALUES: see write.insert_rows
        return create_engine(url, pool_pre_ping=True, use_insertmanyvalues=False)
    raise StoreError(f"{url}: unsupported database (SQLite or PostgreSQL)")


# ----------------------------------------------------------------------------------------- migrations


def alembic_config(connection: Connection | None = None):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
        return rev


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """One migrator at a time: an advisory lock on PostgreSQL, a lock file beside a SQLite database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": 0x6A69616E62616F})  # "jianbao"
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": 0x6A69616E62616F})
                conn.commit()
        return
    db = engine.url.database
    lock_path = Path(db + ".lock") if db and db != ":memory:" else None
    fh = lock_path.open("a+") if lock_path else None
    try:
        if fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
        with engine.connect() as conn:
            yield conn
    finally:
        if fh:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


def migrate(engine: Engine) -> str:
    """Bring the schema to the head revision (a no-op when it is there); returns the revision."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    from alembic import command

    with _migration_lock(engine) as conn:
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
    return head


# ------------------------------------------------------------------------------------------ retries


def is_retryable(exc: BaseException) -> bool:
    """Lock contention between writers: SQLite busy/locked, PostgreSQL deadlock or serialization failure."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if code in ("40P01", "40001", "55P03"):
        return True
    msg = str(orig).lower()
    return "database is locked" in msg or "database is busy" in msg or "deadlock" in msg


def with_retries(fn: Callable[[], T], attempts: int = 8) -> T:
    for i in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if i == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(min(2.0, 0.05 * 2 ** i) * (0.5 + random.random()))
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------- scratch PostgreSQL databases


def _admin_engine(server_url: str) -> Engine:
    return create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _admin_execute(url: str, sql: str) -> None:
    """One statement on an autocommit connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    eng = _admin_engine(url)
    try:
        with eng.connect() as conn:
            conn.execute(text(sql))
    finally:
        eng.dispose()


def postgres_unreachable(server_url: str) -> str | None:
    """None when a PostgreSQL server answers at server_url, else why not (for skip messages)."""
    try:
        _admin_execute(server_url, "SELECT 1")
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL unreachable at {make_url(normalise_url(server_url)).render_as_string(hide_password=True)}: " \
               f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def create_scratch_database(server_url: str, prefix: str = "jianbao_tmp") -> str:
    """Create an empty database with a random name on the server; returns its URL (drop with drop_database)."""
    name = f"{prefix}_{os.getpid()}_{random.randrange(16 ** 8):08x}"
    _admin_execute(server_url, f'CREATE DATABASE "{name}"')  # a generated identifier, never user text
    return str(make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False))


def drop_database(url: str, server_url: str | None = None) -> None:
    """Drop the database of `url`, connected to server_url's database (default: the server's "postgres")."""
    u = make_url(normalise_url(url))
    name = u.database
    if not name or not name.replace("_", "").isalnum():
        raise StoreError(f"refusing to drop database {name!r}")
    _admin_execute(server_url or str(u.set(database="postgres")), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_scratch_schema(db_url: str, prefix: str = "t") -> str:
    """A fresh schema in a PostgreSQL database; returns a URL whose connections use it (search_path)."""
    name = f"{prefix}_{random.randrange(16 ** 10):010x}"
    _admin_execute(db_url, f'CREATE SCHEMA "{name}"')  # a generated identifier, never user text
    u = make_url(normalise_url(db_url)).update_query_dict({"options": f"-csearch_path={name}"})
    return u.render_as_string(hide_password=False)
