"""The knowledge store on SQLite and on PostgreSQL: schema and migrations, atomic idempotent writes, queries."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, text

from pipeline.facts import Context, assemble_facts, compact
from pipeline.store import DocumentRecord, FactFilter, MentionRow, open_store
from pipeline.store import write as store_write
from pipeline.store.db import current_revision, head_revision
from pipeline.types import Document, Paragraph, Passage





def record(sha: str = "a" * 64, version: str = "m1", item: str = "安全生产事故", value: int = 99,
           path: str = "doc.txt", region: str = "赣州市") -> DocumentRecord:
    text_ = f"1-11月，全市共发生{item}{value}起，同比下降24.4%。消防部门投入7.3亿元。其中专款620万元。"
    raw = "标题\n\n" + text_
    para = Paragraph(text=text_, start=4, end=4 + len(text_), offsets=list(range(4, 4 + len(text_))))
    doc = Document(path=path, raw=raw, sha256="t" * 64, date="2021-12-30", region=region,
                   period="2021-01-01/2021-12-30", title="应急管理简报", issue=117)
    from pipeline.types import Section

    doc.sections = [Section(heading=None, paragraphs=[para])]
    spans = [("DATE", "1-11月"), ("GPE", "全市"), ("ITEM", item), ("COUNT", f"{value}起"), ("PERCENT", "24.4%"),
             ("ORG", "消防部门"), ("MONEY", "7.3亿元"), ("MONEY", "620万元")]
    ents, pos = [], 0
    for i, (label, s) in enumerate(spans, 1):
        k = text_.index(s, pos)
        ents.append({"id": i, "label": label, "start_offset": k, "end_offset": k + len(s)})
        pos = k + len(s)
    rels = [(4, 3, "item"), (4, 2, "place"), (4, 1, "time"), (4, 5, "decrease"), (7, 6, "agent"), (8, 7, "part_of")]
    p = Passage.from_record({"id": "p0", "text": text_, "entities": ents, "meta": {"paragraph": 0},
                             "relations": [{"id": k, "from_id": a, "to_id": b, "type": t}
                                           for k, (a, b, t) in enumerate(rels, 1)]})
    facts = assemble_facts(p, Context.from_document(doc), paragraph=para, paragraph_index=0, document=path,
                           model_version=version)
    mentions = [MentionRow(0, e.label, para.raw_offset(e.start), para.raw_offset(e.end - 1) + 1, e.text)
                for e in p.entities]
    return DocumentRecord(sha256=sha, path=path, model_version=version, document=doc, paragraphs=[para],
                          mentions=mentions, facts=facts)


# ------------------------------------------------------------------------------------------------ schema


def test_schema_is_migrated_on_open_and_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from pipeline.store.models import Base

    assert current_revision(store.engine) == head_revision()
    names = set(inspect(store.engine).get_table_names())
    assert {"documents", "paragraphs", "mentions", "facts", "organisations", "organisation_aliases", "regions",
            "runs", "document_runs", "alembic_version"} <= names
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    again = open_store(store.url)  # opening an up-to-date store changes nothing
    assert current_revision(again.engine) == head_revision()
    again.close()


def test_sqlite_default_url_is_relative_to_the_project(tmp_path):
    from pipeline.config import ROOT
    from pipeline.store.db import normalise_url

    assert normalise_url("sqlite:///data/jianbao.db") == f"sqlite:///{ROOT}/data/jianbao.db"
    assert normalise_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path}/x.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


# ------------------------------------------------------------------------------------------------ writes


def test_write_new_unchanged_replaced(store):
    r1 = store.write(record())
    assert (r1.action, r1.facts, r1.paragraphs) == ("new", 3, 1)
    before = store.counts()
    ids = [f["id"] for f in store.facts()]
    r2 = store.write(record())
    assert r2.action == "unchanged" and r2.document_id == r1.document_id
    assert store.counts() == before and [f["id"] for f in store.facts()] == ids
    r3 = store.write(record(version="m2"))
    assert r3.action == "replaced" and r3.document_id == r1.document_id
    after = store.counts()
    assert after["facts"] == before["facts"] and after["document_runs"] == before["document_runs"] + 1
    assert {f["model_version"] for f in store.facts()} == {"m2"}
    assert not set(f["id"] for f in store.facts()) & set(ids)
    with store.engine.connect() as conn:
        actions = conn.execute(text("SELECT action, model_version FROM document_runs ORDER BY id")).all()
    assert [tuple(a) for a in actions] == [("new", "m1"), ("replaced", "m2")]


def test_facts_organisations_regions_in_the_store(store):
    store.write(record())
    facts = {f["surface"]: f for f in store.facts()}
    acc = facts["99起"]
    assert (acc["value"], acc["unit"], acc["item"], acc["place"], acc["region"]) == (99, "起", "安全生产事故", "全市", "赣州市")
    assert (acc["time_start"], acc["time_end"], acc["change"]) == (date(2021, 1, 1), date(2021, 11, 30), -24.4)
    money = facts["7.3亿元"]
    assert (money["value"], money["unit"], money["agent"], money["organisation"]) == (730000000, "元", "消防部门", "赣州市消防部门")
    assert facts["620万元"]["parent"] == "7.3亿元" and facts["620万元"]["parent_id"] == money["id"]
    with store.engine.connect() as conn:
        regions = dict(conn.execute(text(
            "SELECT r.name, p.name FROM regions r LEFT JOIN regions p ON p.id = r.parent_id")).all())
        orgs = conn.execute(text("SELECT o.name, o.kind, o.generic, r.name, a.alias FROM organisations o "
                                 "JOIN regions r ON r.id = o.region_id JOIN organisation_aliases a "
                                 "ON a.organisation_id = o.id")).all()
        doc = conn.execute(text("SELECT status, issue, region, period_start, n_facts FROM documents")).one()
    assert regions == {"中国": None, "江西省": "中国", "赣州市": "江西省"}
    assert [tuple(o) for o in orgs] == [("赣州市消防部门", "department", True, "赣州市", "消防部门")]
    assert (doc.status, doc.issue, doc.region, doc.n_facts) == ("ok", 117, "赣州市", 3)
    assert str(doc.period_start)[:10] == "2021-01-01"


def test_regions_and_organisations_are_shared_between_documents(store):
    store.write(record(sha="a" * 64))
    store.write(record(sha="b" * 64, path="other.txt"))
    store.write(record(sha="c" * 64, path="nanchang.txt", region="南昌市"))
    c = store.counts()
    assert c["documents"] == 3 and c["facts"] == 9
    assert c["organisations"] == 2  # 赣州市消防部门, 南昌市消防部门
    assert c["regions"] == 4  # 中国, 江西省, 赣州市, 南昌市


def test_queries_filter_and_summarise(store):
    store.write(record(sha="a" * 64))
    store.write(record(sha="b" * 64, path="nc.txt", region="南昌市", item="火灾事故", value=7))
    assert len(store.facts()) == 6
    assert {f["region"] for f in store.facts(FactFilter(region="江西"))} == {"赣州市", "南昌市"}
    assert {f["document"] for f in store.facts(FactFilter(region="南昌市"))} == {"nc.txt"}
    assert [f["value"] for f in store.facts(FactFilter(item="火灾"))] == [7]
    assert len(store.facts(FactFilter(org="消防"))) == 2
    assert len(store.facts(FactFilter(org="赣州市消防部门"))) == 1
    assert len(store.facts(FactFilter(unit="元"))) == 4
    assert len(store.facts(FactFilter(since=date(2022, 1, 1)))) == 0
    assert len(store.facts(FactFilter(until=date(2021, 6, 30)))) == 6
    assert len(store.facts(FactFilter(document="nc."))) == 3
    assert len(store.facts(FactFilter(item="%_"))) == 0  # LIKE wildcards are literal text
    rows = store.summary(FactFilter(unit="起"), by="region")
    assert [(r["region"], r["item"], r["year"], r["facts"], r["total"]) for r in rows] == \
        [("南昌市", "火灾事故", 2021, 1, 7), ("赣州市", "安全生产事故", 2021, 1, 99)]
    rows = store.summary(by="org", per="month")
    assert {(r["org"], r["month"], r["total"]) for r in rows} == \
        {("南昌市消防部门", 12, 730000000), ("赣州市消防部门", 12, 730000000)}


def test_failure_is_recorded_and_keeps_existing_facts(store):
    store.fail("f" * 64, "broken.txt", "broken.txt: empty file", model_version="m1")
    docs = store.documents()
    assert [(d["status"], d["error"], d["n_facts"]) for d in docs] == [("failed", "broken.txt: empty file", 0)]
    r = store.write(record())
    store.fail(record().sha256, "doc.txt", "later failure", model_version="m2")
    assert {d["sha256"]: d["status"] for d in store.documents()}[record().sha256] == "ok"
    assert len(store.facts(FactFilter(document="doc.txt"))) == r.facts


def test_exception_mid_write_leaves_nothing(store, monkeypatch):
    real = store_write.ensure_organisations

    def boom(*a, **k):
        real(*a, **k)  # the regions and organisations are written, then …
        raise RuntimeError("injected")

    monkeypatch.setattr(store_write, "ensure_organisations", boom)
    with pytest.raises(RuntimeError, match="injected"):
        store.write(record())
    assert {k: v for k, v in store.counts().items() if v} == {}
    monkeypatch.setattr(store_write, "ensure_organisations", real)
    store.write(record())
    # and replacing: the old version's facts survive a failed replacement
    monkeypatch.setattr(store_write, "ensure_organisations", boom)
    with pytest.raises(RuntimeError):
        store.write(record(version="m2"))
    assert {f["model_version"] for f in store.facts()} == {"m1"} and len(store.facts()) == 3


def test_text_never_reaches_sql_as_code(store):
    nasty = "x'); DROP TABLE facts; --\"\\ %_ 【“黑车”】"
    rec = record(item=nasty, path="a'b\";--.txt")
    store.write(rec)
    item = compact(nasty)  # item texts are stored with whitespace removed (ANNOTATION.md §5)
    (f,) = store.facts(FactFilter(item=item))
    assert f["item"] == item and f["document"] == "a'b\";--.txt"
    assert store.counts()["facts"] == 3
    with store.engine.connect() as conn:
        (para,) = conn.execute(text("SELECT text FROM paragraphs")).scalars()
    assert para == rec.paragraphs[0].text and nasty in para
