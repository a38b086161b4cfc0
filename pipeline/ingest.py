"""Ingest: load → structure → extract → facts → store, for files and folders.

    store = open_store(url)                                   # pipeline.store.open_store
    extractor = load_extractor(settings)                      # pipeline.extract.load_extractor
    result = ingest_document(path, store, extractor, settings)   # one document: what a Prefect task calls
    summary = ingest_paths([folder], store, extractor, settings)  # many, recorded as one run

A flow that runs one task per document records its run itself: run_id = store.start_run(extractor.version),
ingest_document(…, run_id=run_id) in each task, store.finish_run(run_id, n_new=…, …) at the end. One Store may
be shared by threads; processes (dask workers) each open their own with open_store(url). Concurrent writers of
the same file, in threads or processes, end with one copy.

Each document is written in one transaction (pipeline.store.write): a crash or an error leaves nothing of it.
A document already stored from the same bytes with the same model version is "unchanged" and not even parsed;
with another model version its facts are replaced atomically ("replaced"). A file that cannot be loaded,
parsed or extracted is "failed": recorded in the store with its error, never fatal to the others.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pipeline.facts import Context, RawMap, assemble_facts
from pipeline.store import DocumentRecord, MentionRow, Store, open_store
from pipeline.types import Fact

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings
    from pipeline.extract import Extractor

__all__ = ["DocResult", "IngestSummary", "ingest_document", "ingest_paths", "prepare_document", "open_store",
           "file_sha256", "IngestError"]

MAX_ERROR = 2000


class IngestError(RuntimeError):
    pass


@dataclass
class DocResult:
    path: str
    status: str  # new | replaced | unchanged | failed
    sha256: str | None = None
    document_id: int | None = None
    facts: int = 0  # facts the document has in the store (written now for new/replaced)
    paragraphs: int = 0
    model_version: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.facts if self.status in ("new", "replaced") else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IngestSummary:
    run_id: int | None
    model_version: str | None
    results: list[DocResult] = field(default_factory=list)
    seconds: float = 0.0

    def _n(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def documents(self) -> int:
        return len(self.results)

    @property
    def new(self) -> int:
        return self._n("new")

    @property
    def replaced(self) -> int:
        return self._n("replaced")

    @property
    def unchanged(self) -> int:
        return self._n("unchanged")

    @property
    def failed(self) -> int:
        return self._n("failed")

    @property
    def facts(self) -> int:
        """Facts written by this run (new and replaced documents)."""
        return sum(r.written for r in self.results)

    @property
    def failures(self) -> list[DocResult]:
        return [r for r in self.results if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        return {"n_documents": self.documents, "n_new": self.new, "n_replaced": self.replaced,
                "n_unchanged": self.unchanged, "n_failed": self.failed, "n_facts": self.facts}


def _settings(settings: "Settings | None") -> "Settings":
    if settings is None:
        from pipeline.config import get_settings

        return get_settings()
    return settings


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _error(exc: BaseException) -> str:
    from pipeline.loaders import LoadError

    msg = str(exc) if isinstance(exc, (LoadError, IngestError)) else f"{type(exc).__name__}: {exc}"
    return msg if len(msg) <= MAX_ERROR else msg[: MAX_ERROR - 1] + "…"


def prepare_document(path: str | os.PathLike[str], data: bytes, sha256: str, extractor: "Extractor",
                     settings: "Settings | None" = None) -> DocumentRecord:
    """Everything but the write: load the bytes, structure, extract, assemble facts. Raises on any failure."""
    from pipeline.loaders import load_bytes
    from pipeline.structure import document_passages, parse_document

    settings = _settings(settings)
    text = load_bytes(data, path, settings)
    doc = parse_document(text, path=str(path))
    paragraphs = doc.paragraphs
    ctx = Context.from_document(doc)
    version = getattr(extractor, "version", None)
    mentions: dict[tuple[int, int], MentionRow] = {}
    facts: dict[tuple[int, int], Fact] = {}
    for out in extractor.extract(document_passages(doc)):
        idx = out.meta.get("paragraph")
        if out.error:
            raise IngestError(f"{path}: extraction failed in paragraph {idx}: {out.error}")
        para = paragraphs[idx] if isinstance(idx, int) and 0 <= idx < len(paragraphs) else None
        rmap = RawMap(out, para)
        for e in out.entities:
            if not (0 <= e.start < e.end <= len(out.text)):
                raise IngestError(f"{path}: paragraph {idx}: entity {e.id} has offsets {e.start}-{e.end} outside the text")
            span = (rmap.start(e.start), rmap.end(e.end))
            mentions.setdefault(span, MentionRow(idx, e.label, span[0], span[1], out.text[e.start:e.end],
                                                 e.norm, e.score))
        for f in assemble_facts(out, ctx, paragraph=para, paragraph_index=idx, document=str(path),
                                model_version=version):
            facts.setdefault((f.start, f.end), f)  # type: ignore[arg-type]
    return DocumentRecord(sha256=sha256, path=str(path), model_version=version, document=doc,
                          paragraphs=paragraphs, mentions=list(mentions.values()), facts=list(facts.values()))


def ingest_document(path: str | os.PathLike[str], store: Store, extractor: "Extractor",
                    settings: "Settings | None" = None, *, run_id: int | None = None,
                    force: bool = False) -> DocResult:
    """Ingest one file into the store; never raises for a bad file (status "failed", error recorded)."""
    settings = _settings(settings)
    t0 = time.perf_counter()
    p = Path(path)
    version = getattr(extractor, "version", None)
    res = DocResult(path=str(p), status="failed", model_version=version)

    def done(**kw: Any) -> DocResult:
        for k, v in kw.items():
            setattr(res, k, v)
        res.seconds = time.perf_counter() - t0
        return res

    try:
        size = p.stat().st_size
        if p.is_dir():
            return done(error=f"{p}: is a directory, not a file")
        if size > settings.load.max_bytes:
            res.sha256 = file_sha256(p)
            raise IngestError(f"{p}: over size limit ({size:,} bytes > load.max_bytes = {settings.load.max_bytes:,})")
        data = p.read_bytes()
        res.sha256 = hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        return done(error=f"{p}: file not found")
    except OSError as exc:
        return done(error=f"{p}: cannot read ({exc.strerror or exc})")
    except IngestError as exc:
        return done(error=str(exc), document_id=_record_failure(store, res.sha256, p, str(exc), version, run_id))

    if not force and store.state(res.sha256) == ("ok", version):
        return done(status="unchanged")
    try:
        rec = prepare_document(p, data, res.sha256, extractor, settings)
    except Exception as exc:  # noqa: BLE001 - a broken document is recorded and skipped
        err = _error(exc)
        return done(error=err, document_id=_record_failure(store, res.sha256, p, err, version, run_id))
    del data
    try:
        wr = store.write(rec, run_id=run_id, force=force)
    except Exception as exc:  # noqa: BLE001 - the transaction rolled back: nothing of it is stored
        err = _error(exc)
        return done(error=err, document_id=_record_failure(store, res.sha256, p, err, version, run_id))
    return done(status=wr.action, document_id=wr.document_id, facts=wr.facts, paragraphs=wr.paragraphs)


def _record_failure(store: Store, sha: str | None, path: Path, error: str, version: str | None,
                    run_id: int | None) -> int | None:
    if sha is None:
        return None
    try:
        return store.fail(sha, str(path), error, model_version=version, run_id=run_id)
    except Exception:  # noqa: BLE001 - the store itself is failing: the result still says why
        return None


def ingest_paths(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str], store: Store,
                 extractor: "Extractor", settings: "Settings | None" = None, *, force: bool = False,
                 progress: Callable[[DocResult], None] | None = None,
                 files: list[Path] | None = None) -> IngestSummary:
    """Ingest files and the files under folders (pipeline.loaders.expand_paths), recorded as one run."""
    from pipeline.loaders import expand_paths

    settings = _settings(settings)
    files = files if files is not None else expand_paths(paths)
    version = getattr(extractor, "version", None)
    summary = IngestSummary(run_id=store.start_run(version), model_version=version)
    t0 = time.perf_counter()
    status = "failed"
    try:
        for f in files:
            r = ingest_document(f, store, extractor, settings, run_id=summary.run_id, force=force)
            summary.results.append(r)
            if progress is not None:
                progress(r)
        status = "done"
    finally:
        summary.seconds = time.perf_counter() - t0
        try:
            store.finish_run(summary.run_id, status=status, **summary.counts())  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - never hide the original error
            if status == "done":
                raise
    return summary
