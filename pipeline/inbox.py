"""Inboxes for unattended ingestion (what flows/ingest.py orchestrates): find new files, tell the ones already
stored from the new ones, move or mark processed files, quarantine the ones that fail for their own reasons,
and tell a transient store error (worth retrying) from a broken document.

    files, missing = discover(settings)                  # [flows] inboxes: folder + glob, several allowed
    todo, unchanged = pending(files, store, version)     # by sha256: stored "ok" with this model version → unchanged
    guard = TransientGuard(store)                        # pass it to ingest_document instead of the store …
    result = ingest_document(f.path, guard, extractor, settings)
    guard.raise_transient()                              # … a dropped connection is raised here, to be retried
    dispose(f, result, settings)                         # processed → processed_dir (or a mark); failed → quarantine
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings
    from pipeline.ingest import DocResult
    from pipeline.store import Store

MARK_DIR = ".jianbao"  # processed_action = "mark": <inbox>/.jianbao/<relative path>.json
ERROR_SUFFIX = ".error.json"


@dataclass
class InboxFile:
    path: Path
    inbox: Path
    sha256: str | None  # None: could not be read (ingest_document reports why)
    size: int | None

    @property
    def relative(self) -> Path:
        return self.path.relative_to(self.inbox)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "inbox": str(self.inbox), "name": str(self.relative), "sha256": self.sha256,
                "size": self.size}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InboxFile":
        return cls(path=Path(d["path"]), inbox=Path(d["inbox"]), sha256=d.get("sha256"), size=d.get("size"))


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _inside(p: Path, folder: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def discover(settings: "Settings") -> tuple[list[InboxFile], list[Path]]:
    """(files in the configured inboxes, inbox folders that do not exist). Hidden files and folders, error records
    and anything under processed_dir or quarantine_dir are skipped; a file matched by two inboxes is listed once."""
    from pipeline.ingest import file_sha256

    processed = settings.resolve(settings.flows.processed_dir)
    quarantine = settings.resolve(settings.flows.quarantine_dir)
    seen: set[Path] = set()
    files: list[InboxFile] = []
    missing: list[Path] = []
    for box in settings.flows.inboxes:
        root = settings.resolve(box.path)
        if not root.is_dir():
            missing.append(root)
            continue
        for p in sorted(root.glob(box.glob)):
            if not p.is_file():
                continue
            rel = p.relative_to(root)
            if _hidden(rel) or p.name.endswith(ERROR_SUFFIX) or _inside(p, processed) or _inside(p, quarantine):
                continue
            key = p.resolve()
            if key in seen:
                continue
            seen.add(key)
            try:
                sha, size = file_sha256(p), p.stat().st_size
            except OSError:
                sha, size = None, None
            files.append(InboxFile(path=p, inbox=root, sha256=sha, size=size))
    return files, missing


def pending(files: Iterable[InboxFile], store: "Store", model_version: str | None
            ) -> tuple[list[InboxFile], list[InboxFile]]:
    """(files to ingest, files already stored from the same bytes with this model version)."""
    todo: list[InboxFile] = []
    unchanged: list[InboxFile] = []
    for f in files:
        if f.sha256 is not None and store.state(f.sha256) == ("ok", model_version):
            unchanged.append(f)
        else:
            todo.append(f)
    return todo, unchanged


# ------------------------------------------------------------------------------------------ transient errors

_TRANSIENT_TEXT = ("database is locked", "database is busy", "deadlock", "could not serialize",
                   "server closed the connection", "connection refused", "connection reset", "connection timed out",
                   "terminating connection", "connection is closed", "connection already closed",
                   "the connection is lost", "ssl syscall error", "could not connect", "too many connections",
                   "the database system is starting up", "the database system is shutting down",
                   "consuming input failed", "timeout expired")


def is_transient(exc: BaseException) -> bool:
    """A store error worth retrying: lock contention, a dropped or refused database connection, a pool timeout.
    A document's own problem (LoadError, a parse or extraction error, a constraint violation) is not."""
    from sqlalchemy import exc as sa

    for e in _chain(exc):
        if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError)):
            return True
        if isinstance(e, sa.DBAPIError):
            code = getattr(e.orig, "sqlstate", None) or getattr(getattr(e.orig, "diag", None), "sqlstate", None)
            if code and (code[:2] in ("08", "53", "57") or code in ("40001", "40P01", "55P03")):
                return True
        if type(e).__name__ in ("OperationalError", "InterfaceError") and type(e).__module__.split(".")[0] in (
                "psycopg", "psycopg2", "sqlite3"):
            return True
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        if isinstance(e, sa.SQLAlchemyError) and any(t in str(e).lower() for t in _TRANSIENT_TEXT):
            return True
    return False


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


class TransientGuard:
    """A Store for one ingest_document call that remembers a transient error of a write instead of letting it be
    recorded as the document's failure: ingest_document records any write error as "failed"; with the guard the
    error is kept, no failure row is written, and raise_transient() raises it so that the caller can retry.
    Everything else is the wrapped store's."""

    def __init__(self, store: "Store"):
        self._store = store
        self.error: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _watch(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_transient(exc):
                self.error = self.error or exc
            raise

    def state(self, *args: Any, **kwargs: Any) -> Any:
        return self._watch(self._store.state, *args, **kwargs)

    def write(self, *args: Any, **kwargs: Any) -> Any:
        return self._watch(self._store.write, *args, **kwargs)

    def fail(self, *args: Any, **kwargs: Any) -> Any:
        if self.error is not None:  # the store failed, not the document: record nothing
            raise self.error
        return self._watch(self._store.fail, *args, **kwargs)

    def raise_transient(self) -> None:
        if self.error is not None:
            raise self.error


# ------------------------------------------------------------------------------------------ dispositions

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _free(dest: Path, sha256: str | None) -> Path:
    """dest, or dest with a short hash (then a counter) before the suffix when a different file is there."""
    if not dest.exists():
        return dest
    tag = (sha256 or "x")[:8]
    cand = dest.with_name(f"{dest.stem}.{tag}{dest.suffix}")
    n = 2
    while cand.exists():
        cand = dest.with_name(f"{dest.stem}.{tag}-{n}{dest.suffix}")
        n += 1
    return cand


def _move(src: Path, dest_dir: Path, rel: Path, sha256: str | None) -> Path:
    dest = dest_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and sha256 is not None and dest.is_file():
        from pipeline.ingest import file_sha256

        if file_sha256(dest) == sha256:  # the same bytes are already there: drop the inbox copy
            src.unlink()
            return dest
    dest = _free(dest, sha256)
    shutil.move(str(src), str(dest))
    return dest


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def mark_path(f: InboxFile) -> Path:
    return f.inbox / MARK_DIR / (str(f.relative) + ".json")


def processed(f: InboxFile, settings: "Settings", info: dict[str, Any]) -> str | None:
    """Move a processed file into processed_dir (keeping its path under the inbox) or, with processed_action =
    "mark", write a mark beside it; returns where it went (the mark's path), None when nothing was needed."""
    if settings.flows.processed_action == "move":
        if not f.path.exists():
            return None
        return str(_move(f.path, settings.resolve(settings.flows.processed_dir), f.relative, f.sha256))
    mark = mark_path(f)
    if mark.exists():
        try:
            old = json.loads(mark.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("sha256") == f.sha256 and old.get("model_version") == info.get("model_version"):
            return None
    _write_json(mark, {"file": str(f.path), "sha256": f.sha256, "time": _now(), **info})
    return str(mark)


def quarantine(f: InboxFile, settings: "Settings", result: "DocResult", **extra: Any) -> tuple[str | None, str]:
    """Move a file that failed for its own reasons into quarantine_dir with <name>.error.json beside it (the
    record is written even when the file itself is gone); returns (new path or None, record path)."""
    qdir = settings.resolve(settings.flows.quarantine_dir)
    dest: Path | None = None
    if f.path.exists():
        dest = _move(f.path, qdir, f.relative, f.sha256 or result.sha256)
    where = dest or _free(qdir / f.relative, f.sha256)
    record = where.with_name(where.name + ERROR_SUFFIX)
    reason = result.error or "unknown error"
    prefix = f"{f.path}: "
    _write_json(record, {
        "file": str(f.path),
        "quarantined_as": str(dest) if dest else None,
        "sha256": result.sha256 or f.sha256,
        "size": f.size,
        "reason": reason[len(prefix):] if reason.startswith(prefix) else reason,
        "error": reason,
        "model_version": result.model_version,
        "document_id": result.document_id,
        "time": _now(),
        "host": socket.gethostname(),
        **extra,
    })
    return (str(dest) if dest else None), str(record)
