"""Writing one document: everything of it in one transaction, idempotent, safe against a concurrent writer.

The document row (unique sha256) is the lock: a writer inserts it or finds it (INSERT … ON CONFLICT DO NOTHING),
then locks it (SELECT … FOR UPDATE on PostgreSQL; on SQLite the transaction holds the write lock from BEGIN
IMMEDIATE). A second writer of the same file waits there and then sees the first one's commit: same model version
→ "unchanged". Regions and organisations are upserted in one global order (regions by level and name, then
organisations by key), so concurrent writers of different documents never deadlock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable

from sqlalchemy import Connection, Table, bindparam, delete, select, text, update

from pipeline.facts import Place, region_place
from pipeline.store import models as m
from pipeline.types import Document, Fact, Paragraph

LEVEL_ORDER = {"country": 0, "province": 1, "city": 2, "county": 3, "area": 4}


@dataclass
class MentionRow:
    paragraph: int | None
    label: str
    start: int  # raw offsets
    end: int
    text: str
    norm: dict[str, Any] | None = None
    score: float | None = None


@dataclass
class DocumentRecord:
    """What ingest hands the store for one file."""

    sha256: str
    path: str
    model_version: str | None
    document: Document | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)
    mentions: list[MentionRow] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)


@dataclass
class WriteResult:
    action: str  # new | replaced | unchanged | failed
    document_id: int
    facts: int = 0
    paragraphs: int = 0


def now() -> datetime:
    return datetime.now(timezone.utc)


def to_date(s: str | None) -> date | None:
    if not s:
        return None
    try:
        return date.fromisoformat(str(s)[:10])
    except ValueError:
        return None


def dialect_insert(conn: Connection, table: Table):  # -> an Insert with on_conflict_do_nothing
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


D, P, M, F = m.Document.__table__, m.Paragraph.__table__, m.Mention.__table__, m.Fact.__table__
R, O, OA, DR = m.Region.__table__, m.Organisation.__table__, m.OrganisationAlias.__table__, m.DocumentRun.__table__


def lock_document(conn: Connection, sha256: str, path: str) -> tuple[int, bool, str | None, str | None]:
    """(id, inserted, status, model_version) of the document row, created if missing and locked."""
    t = now()
    res = conn.execute(dialect_insert(conn, D).values(sha256=sha256, source_path=path, status="pending",
                                                      created_at=t, updated_at=t)
                       .on_conflict_do_nothing(index_elements=["sha256"]))
    row = conn.execute(select(D.c.id, D.c.status, D.c.model_version).where(D.c.sha256 == sha256)
                       .with_for_update()).one()
    return row.id, res.rowcount == 1, (None if res.rowcount == 1 else row.status), row.model_version


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows, returning their ids in order. PostgreSQL: ids drawn from the table's sequence in one query,
    then a plain executemany (psycopg pipelines it; multi-row VALUES with RETURNING costs seconds per 10,000
    rows in query parsing). SQLite: INSERT … RETURNING."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        ids = sorted(conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                  {"t": table.name, "n": len(rows)}).scalars())
        conn.execute(table.insert(), [{**r, "id": i} for r, i in zip(rows, ids)])
        return ids
    res = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    return [r.id for r in res]


# ------------------------------------------------------------------------------- regions, organisations


def _place_chain(places: Iterable[Place]) -> dict[str, Place]:
    """Every place with its ancestors (赣州市中心城区 → 赣州市 → 江西省 → 中国)."""
    out: dict[str, Place] = {}
    todo = [p for p in places if p is not None]
    while todo:
        p = todo.pop()
        if p.name in out:
            continue
        out[p.name] = p
        if p.parent and p.parent not in out:
            parent = region_place(p.parent)
            if parent is not None:
                todo.append(parent)
    return out


def ensure_regions(conn: Connection, places: Iterable[Place], cache: dict[str, int]) -> dict[str, int]:
    """name → id for the places and their ancestors, inserting missing ones (parents first)."""
    chain = _place_chain(places)
    ids = {n: cache[n] for n in chain if n in cache}
    todo = sorted((p for n, p in chain.items() if n not in ids), key=lambda p: (LEVEL_ORDER.get(p.level, 9), p.name))
    by_level: dict[int, list[Place]] = {}
    for p in todo:
        by_level.setdefault(LEVEL_ORDER.get(p.level, 9), []).append(p)
    for _, group in sorted(by_level.items()):
        rows = [{"name": p.name, "level": p.level, "parent_id": ids.get(p.parent) if p.parent else None}
                for p in group]
        conn.execute(dialect_insert(conn, R).on_conflict_do_nothing(index_elements=["name"]), rows)
        names = [p.name for p in group]
        for row in conn.execute(select(R.c.id, R.c.name).where(R.c.name.in_(names))):
            ids[row.name] = row.id
    return ids


def ensure_organisations(conn: Connection, facts: Iterable[Fact], region_ids: dict[str, int],
                         cache: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """(canonical name, region or '') → id for the facts' agents, with their surface aliases."""
    orgs: dict[tuple[str, str], dict[str, Any]] = {}
    aliases: set[tuple[tuple[str, str], str]] = set()
    for f in facts:
        if not f.agent_canonical:
            continue
        key = (f.agent_canonical, f.agent_region or "")
        orgs.setdefault(key, {"name": key[0], "region_name": key[1], "kind": f.agent_kind or "department",
                              "generic": bool(f.agent_generic), "region_id": region_ids.get(key[1])})
        aliases.add((key, f.agent or key[0]))
    ids = {k: cache[k] for k in orgs if k in cache}
    missing = sorted(k for k in orgs if k not in ids)
    if missing:
        conn.execute(dialect_insert(conn, O).on_conflict_do_nothing(index_elements=["name", "region_name"]),
                     [orgs[k] for k in missing])
        for row in conn.execute(select(O.c.id, O.c.name, O.c.region_name)
                                .where(O.c.name.in_(sorted({k[0] for k in missing})))):
            k = (row.name, row.region_name)
            if k in orgs:
                ids[k] = row.id
    rows = sorted({(ids[k], a) for k, a in aliases})
    if rows:
        conn.execute(dialect_insert(conn, OA).on_conflict_do_nothing(index_elements=["organisation_id", "alias"]),
                     [{"organisation_id": i, "alias": a} for i, a in rows])
    return ids


# ------------------------------------------------------------------------------------------- document


def _header(doc: Document | None) -> dict[str, Any]:
    if doc is None:
        return {}
    from pipeline.facts import split_period

    ps, pe = split_period(doc.period)
    extra = {k: v for k, v in (("cc", doc.cc), ("distribution", doc.distribution), ("print_date", doc.print_date))
             if v}
    return {"title": doc.title, "issue": doc.issue, "total_issue": doc.total_issue,
            "special_issue": doc.special_issue, "special_issue_number": doc.special_issue_number,
            "issuer": doc.issuer, "date": to_date(doc.date), "headline": doc.headline,
            "subheadline": doc.subheadline, "region": doc.region, "period_start": to_date(ps),
            "period_end": to_date(pe), "n_chars": len(doc.raw), "header": extra or None,
            "text_sha256": doc.sha256}


def write_document(conn: Connection, rec: DocumentRecord, *, run_id: int | None, force: bool,
                   region_cache: dict[str, int], org_cache: dict[tuple[str, str], int],
                   ) -> tuple[WriteResult, dict[str, int], dict[tuple[str, str], int]]:
    """Inside the caller's transaction. Returns the result and the region/organisation ids it used
    (for the caller to cache once the transaction has committed)."""
    doc_id, inserted, status, version = lock_document(conn, rec.sha256, rec.path)
    if not inserted and status == "ok" and version == rec.model_version and not force:
        n = conn.execute(select(D.c.n_facts, D.c.n_paragraphs).where(D.c.id == doc_id)).one()
        return WriteResult("unchanged", doc_id, n.n_facts, n.n_paragraphs), {}, {}
    action = "replaced" if status == "ok" else "new"
    if not inserted:  # replace everything of the old version
        conn.execute(update(F).where(F.c.document_id == doc_id).values(parent_id=None))
        for t in (F, M, P):
            conn.execute(delete(t).where(t.c.document_id == doc_id))

    places = [Place(f.place_resolved, f.place_level or "area", f.place_parent) for f in rec.facts if f.place_resolved]
    doc_place = region_place(rec.document.region) if rec.document is not None and rec.document.region else None
    if doc_place is not None:
        places.append(doc_place)
    places += [region_place(f.agent_region) for f in rec.facts if f.agent_region]
    region_ids = ensure_regions(conn, [p for p in places if p is not None], region_cache)
    org_ids = ensure_organisations(conn, rec.facts, region_ids, org_cache)

    para_ids: dict[int, int] = {}
    if rec.paragraphs:
        rows = [{"document_id": doc_id, "idx": i, "section": p.section, "start": p.start, "end": p.end,
                 "text": p.text} for i, p in enumerate(rec.paragraphs)]
        para_ids = {r["idx"]: i for r, i in zip(rows, insert_rows(conn, P, rows))}

    mention_ids: dict[tuple[int, int], int] = {}
    if rec.mentions:
        rows = [{"document_id": doc_id, "paragraph_id": para_ids.get(x.paragraph) if x.paragraph is not None else None,
                 "label": x.label, "start": x.start, "end": x.end, "text": x.text, "norm": x.norm, "score": x.score,
                 "model_version": rec.model_version} for x in rec.mentions]
        mention_ids = {(r["start"], r["end"]): i for r, i in zip(rows, insert_rows(conn, M, rows))}

    fact_ids: dict[int, int] = {}
    if rec.facts:
        rows = []
        for f in rec.facts:
            rows.append({
                "document_id": doc_id, "paragraph_id": para_ids.get(f.paragraph) if f.paragraph is not None else None,
                "mention_id": mention_ids.get((f.start, f.end)), "run_id": run_id, "model_version": rec.model_version,
                "label": f.label, "surface": f.surface, "start": f.start, "end": f.end, "value": f.value,
                "max_value": f.max, "unit": f.unit, "approx": f.approx, "item": f.item, "agent": f.agent,
                "organisation_id": org_ids.get((f.agent_canonical, f.agent_region or "")) if f.agent_canonical else None,
                "place": f.place, "place_resolved": f.place_resolved, "region_id": region_ids.get(f.place_resolved),
                "time_text": f.time_text, "time_start": to_date(f.time_start), "time_end": to_date(f.time_end),
                "time_source": f.time_source, "change": f.change, "change_unit": f.change_unit, "score": f.score,
            })
        fact_ids = {r["start"]: i for r, i in zip(rows, insert_rows(conn, F, rows))}
        parents = [{"fid": fact_ids[f.start], "pid": fact_ids[f.parent_start]} for f in rec.facts
                   if f.parent_start is not None and f.parent_start in fact_ids and f.start in fact_ids]
        if parents:
            conn.execute(update(F).where(F.c.id == bindparam("fid")).values(parent_id=bindparam("pid")), parents)

    t = now()
    conn.execute(update(D).where(D.c.id == doc_id).values(
        source_path=rec.path, status="ok", error=None, model_version=rec.model_version, run_id=run_id,
        n_paragraphs=len(rec.paragraphs), n_facts=len(rec.facts), updated_at=t,
        region_id=region_ids.get(doc_place.name) if doc_place else None, **_header(rec.document)))
    conn.execute(DR.insert().values(document_id=doc_id, run_id=run_id, model_version=rec.model_version,
                                    action=action, n_facts=len(rec.facts), at=t))
    return WriteResult(action, doc_id, len(rec.facts), len(rec.paragraphs)), region_ids, org_ids


def write_failure(conn: Connection, sha256: str, path: str, error: str, *, model_version: str | None,
                  run_id: int | None) -> int:
    """Record a document that could not be ingested. A document already in the store keeps its facts: only
    its history records the failure."""
    doc_id, inserted, status, _ = lock_document(conn, sha256, path)
    t = now()
    if inserted or status != "ok":
        conn.execute(update(D).where(D.c.id == doc_id).values(
            source_path=path, status="failed", error=error, model_version=model_version, run_id=run_id,
            n_paragraphs=0, n_facts=0, updated_at=t))
    conn.execute(DR.insert().values(document_id=doc_id, run_id=run_id, model_version=model_version,
                                    action="failed", n_facts=0, error=error, at=t))
    return doc_id
