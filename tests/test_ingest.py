"""Ingest end to end into SQLite and PostgreSQL, with the gold-annotation extractor (tests/gold_extractor.py)
standing in for the model: the seed bulletin's facts checked in the store itself, idempotence, replacement on a
new model version, crashes (injected exception, killed process), two concurrent ingesters, a hostile document,
and the CLI (ingest, facts, facts summary)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from gold_extractor import GoldExtractor
from pipeline.config import ROOT, Settings, get_settings
from pipeline.ingest import ingest_document, ingest_paths, open_store
from pipeline.store import FactFilter
from pipeline.store import write as store_write
from pipeline.types import Entity, Passage, Relation

SEED = get_settings().resolve(get_settings().paths.shared_data).parent / "seed" / "jiangxi-2021-117.txt"
TESTS = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"seed bulletin missing: {SEED}")




@pytest.fixture(scope="module")
def gold():
    return GoldExtractor()


def rows(store, sql: str, **params):
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def content_counts(store) -> dict[str, int]:
    return {k: v for k, v in store.counts().items() if k not in ("runs",)}


FACT_SQL = """
SELECT f.id, f.surface, f.value, f.unit, f.approx, f.item, f.agent, f.place, f.place_resolved, f.time_text,
       f.time_start, f.time_end, f.change, f.parent_id, f.model_version, f.start, f."end",
       o.name AS org, o.kind AS org_kind, org_region.name AS org_region, r.name AS region, d.sha256
FROM facts f JOIN documents d ON d.id = f.document_id
LEFT JOIN organisations o ON o.id = f.organisation_id
LEFT JOIN regions org_region ON org_region.id = o.region_id
LEFT JOIN regions r ON r.id = f.region_id
"""


def seed_facts(store) -> dict[str, dict]:
    return {f["surface"]: f for f in rows(store, FACT_SQL)}


# ------------------------------------------------------------------------------------------- the seed


def test_seed_bulletin_end_to_end(store, gold):
    summary = ingest_paths([SEED], store, gold)
    assert (summary.new, summary.failed) == (1, 0)
    facts = seed_facts(store)
    raw = SEED.read_text(encoding="utf-8")
    for f in facts.values():  # provenance: the offsets point at the surface in the raw file
        assert re.sub(r"\s", "", raw[f["start"]:f["end"]]) == re.sub(r"\s", "", f["surface"])

    fire = facts["7.3 亿元"]
    assert (fire["value"], fire["unit"], fire["agent"]) == (730000000, "元", "消防部门")
    assert (fire["org"], fire["org_kind"], fire["org_region"]) == ("赣州市消防部门", "department", "赣州市")
    assert (fire["place"], fire["region"]) == (None, "赣州市")
    assert (str(fire["time_start"])[:10], str(fire["time_end"])[:10]) == ("2021-01-01", "2021-12-30")

    acc = facts["99起"]
    assert (acc["value"], acc["unit"], acc["item"], acc["place"], acc["region"]) == (99, "起", "安全生产事故", "全市", "赣州市")
    assert (str(acc["time_start"])[:10], str(acc["time_end"])[:10], acc["time_text"]) == ("2021-01-01", "2021-11-30", "1-11月")
    assert acc["change"] == pytest.approx(-24.4)
    assert facts["104人"]["change"] == pytest.approx(-7.1)

    drunk = facts["1.94 万余起"]
    assert (drunk["value"], drunk["unit"], drunk["approx"], drunk["item"]) == (19400, "起", "more_than", "酒醉驾")
    assert drunk["org"] == "赣州市交通部门"

    major, all_points = facts["510 处"], facts["5.65 万处"]
    assert (major["item"], major["value"], all_points["item"], all_points["value"]) == ("重大风险点", 510, "风险点", 56500)
    assert major["parent_id"] == all_points["id"]

    assert facts["一起"]["region"] == "上犹县"
    assert facts["42 座"]["region"] == "赣州市中心城区"
    assert facts["1-2 人"]["value"] == 1
    # the header, the documents row and the regions
    (doc,) = rows(store, "SELECT status, issue, total_issue, region, source_path, model_version, n_facts FROM documents")
    assert (doc["status"], doc["issue"], doc["total_issue"], doc["region"]) == ("ok", 117, 283, "赣州市")
    assert doc["model_version"] == gold.version and doc["n_facts"] == store.counts()["facts"] == 58
    tree = {r["name"]: r["parent"] for r in rows(
        store, "SELECT r.name, p.name AS parent FROM regions r LEFT JOIN regions p ON p.id = r.parent_id")}
    assert tree["赣州市"] == "江西省" and tree["赣州市中心城区"] == "赣州市" and tree["江西省"] == "中国"
    # both the generic 消防部门 and a named body of the same city are found under the city and under 消防
    assert {f["organisation"] for f in store.facts(FactFilter(org="消防", region="江西省"))} == {"赣州市消防部门"}


def test_ingest_is_idempotent(store, gold):
    first = ingest_paths([SEED], store, gold)
    before = content_counts(store)
    ids = [f["id"] for f in store.facts()]
    second = ingest_paths([SEED], store, gold)
    assert (second.unchanged, second.new, second.facts) == (1, 0, 0)
    assert content_counts(store) == before and [f["id"] for f in store.facts()] == ids
    assert [r["status"] for r in store.runs()] == ["done", "done"]
    assert first.facts == before["facts"] > 50


def test_new_model_version_replaces_facts_and_keeps_history(store, gold):
    ingest_paths([SEED], store, gold)
    old = {f["id"] for f in store.facts()}
    before = content_counts(store)
    v2 = GoldExtractor(version="gold-v2")
    summary = ingest_paths([SEED], store, v2)
    assert (summary.replaced, summary.facts) == (1, before["facts"])
    after = content_counts(store)
    assert after["facts"] == before["facts"] and after["mentions"] == before["mentions"]
    facts = store.facts()
    assert {f["model_version"] for f in facts} == {"gold-v2"} and not old & {f["id"] for f in facts}
    assert [(r["model_version"], r["n_new"], r["n_replaced"]) for r in store.runs()] == \
        [("gold-seed", 1, 0), ("gold-v2", 0, 1)]
    history = rows(store, "SELECT action, model_version, run_id FROM document_runs ORDER BY id")
    assert [(h["action"], h["model_version"]) for h in history] == [("new", "gold-seed"), ("replaced", "gold-v2")]
    assert ingest_paths([SEED], store, v2).unchanged == 1


def test_error_mid_document_leaves_nothing(store, gold, monkeypatch):
    # an extractor that fails half-way through the document
    res = ingest_document(SEED, store, GoldExtractor(fail_on="消防部门"))
    assert res.status == "failed" and "injected failure" in res.error
    assert [(d["status"], d["n_facts"]) for d in store.documents()] == [("failed", 0)]
    assert {k: v for k, v in content_counts(store).items() if v} == {"documents": 1, "document_runs": 1}
    # a failure inside the store's transaction, after paragraphs, mentions and facts were written
    # (the history row is the last insert of a document's transaction)
    monkeypatch.setattr(store_write.DR, "insert", lambda: (_ for _ in ()).throw(RuntimeError("injected store failure")))
    res = ingest_document(SEED, store, gold)
    assert res.status == "failed" and "injected store failure" in res.error
    assert sum(content_counts(store)[t] for t in ("paragraphs", "mentions", "facts", "organisations")) == 0
    monkeypatch.undo()
    assert ingest_document(SEED, store, gold).status == "new"
    n = len(store.facts())
    # a failed replacement keeps the previous version whole
    monkeypatch.setattr(store_write.DR, "insert", lambda: (_ for _ in ()).throw(RuntimeError("injected store failure")))
    assert ingest_document(SEED, store, GoldExtractor(version="gold-v2")).status == "failed"
    monkeypatch.undo()
    assert len(store.facts()) == n and {f["model_version"] for f in store.facts()} == {"gold-seed"}
    assert store.documents()[0]["status"] == "ok"


CHILD = textwrap.dedent("""
    import json, os, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from sqlalchemy import event
    from gold_extractor import GoldExtractor
    from pipeline.ingest import ingest_paths, open_store
    url, mode, barrier, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    store = open_store(url)
    if barrier:  # start together: say we are ready, wait for the go
        import pathlib, time
        b = pathlib.Path(barrier)
        (b.parent / f"ready-{{os.getpid()}}").touch()
        while not b.exists():
            time.sleep(0.01)
    if mode == "kill":  # SIGKILL ourselves half-way through writing the facts
        @event.listens_for(store.engine, "before_cursor_execute")
        def die(conn, cursor, statement, params, context, executemany):
            if statement.lstrip().upper().startswith("INSERT INTO FACTS"):
                os.kill(os.getpid(), signal.SIGKILL)
    s = ingest_paths(files, store, GoldExtractor())
    print(json.dumps(s.counts()))
""")


def run_child(url: str, mode: str, files: list[Path], barrier: Path | None = None) -> subprocess.Popen:
    code = CHILD.format(root=str(ROOT), tests=str(TESTS))
    return subprocess.Popen([sys.executable, "-c", code, url, mode, str(barrier or ""), *map(str, files)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_process_leaves_nothing(store_url, gold):
    p = run_child(store_url, "kill", [SEED])
    out, err = p.communicate(timeout=120)
    assert p.returncode == -9, err
    store = open_store(store_url)
    try:
        c = store.counts()
        assert c["documents"] == c["paragraphs"] == c["mentions"] == c["facts"] == c["organisations"] == 0
        assert ingest_document(SEED, store, gold).status == "new"
        assert store.counts()["facts"] > 50
    finally:
        store.close()


def test_two_concurrent_ingesters_end_with_one_copy(store_url, tmp_path, gold):
    from pipeline.cli_store import make_bulletins

    files = make_bulletins([SEED], 12, tmp_path / "bulletins", chars=2500, seed=7) + [SEED]
    sync = tmp_path / "sync"
    sync.mkdir()
    # both open the empty store at once (and race to migrate it), then ingest the same files at the same
    # moment, one in the other's reverse order
    procs = [run_child(store_url, "ingest", files, sync / "go"),
             run_child(store_url, "ingest", list(reversed(files)), sync / "go")]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready-*"))) < 2 and time.monotonic() < deadline and all(p.poll() is None for p in procs):
        time.sleep(0.01)
    (sync / "go").touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=170)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(o["n_new"] for o in outs) == len(files)
    assert sum(o["n_unchanged"] for o in outs) == len(files)
    assert sum(o["n_failed"] for o in outs) == 0
    store = open_store(store_url)
    try:
        docs = store.documents()
        assert len(docs) == len(files) and {d["status"] for d in docs} == {"ok"}
        c = store.counts()
        assert c["facts"] == sum(d["n_facts"] for d in docs) == sum(o["n_facts"] for o in outs)
        assert c["document_runs"] == len(files)
        for table, key in (("regions", "name"), ("organisations", "name, region_name")):
            dup = rows(store, f"SELECT {key}, COUNT(*) AS n FROM {table} GROUP BY {key} HAVING COUNT(*) > 1")
            assert dup == []
        # the same as one ingester alone
        alone = open_store(f"sqlite:///{tmp_path}/alone.db")
        assert ingest_paths(files, alone, gold).facts == c["facts"]
        alone.close()
    finally:
        store.close()


def test_threads_share_one_store(store, tmp_path, gold):
    """What a Prefect flow with a thread task runner does: one ingest_document per task, one Store."""
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.cli_store import make_bulletins

    files = make_bulletins([SEED], 8, tmp_path / "bulletins", seed=3)
    run = store.start_run(gold.version)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda f: ingest_document(f, store, gold, run_id=run), files + files))
    assert sorted(r.status for r in results) == ["new"] * 8 + ["unchanged"] * 8
    store.finish_run(run, n_documents=16, n_new=8, n_unchanged=8)
    docs = store.documents()
    assert len(docs) == 8 and store.counts()["facts"] == sum(d["n_facts"] for d in docs)
    assert {h["run_id"] for h in rows(store, "SELECT run_id FROM document_runs")} == {run}


# -------------------------------------------------------------------------------------- hostile input

EVIL = ["'); DROP TABLE facts;--", "\" OR 1=1 --", "Robert'); DELETE FROM documents WHERE ('1'='1",
        "%_\\' \\\" ; SELECT pg_sleep(10);", "{{7*7}} ${jndi:ldap://x} <script>alert('x')</script>"]


class QuotedItemExtractor:
    """Tags “ITEM”N起 as ITEM + COUNT with an item relation: puts whatever the quotes hold into the facts."""

    version = "quoted-1"
    pattern = re.compile(r"“([^”]{1,80})”(\d+起)")

    def extract(self, passages):
        for p in passages:
            out = Passage(id=p.id, text=p.text, meta=p.meta)
            for k, m in enumerate(self.pattern.finditer(p.text)):
                out.entities += [Entity(2 * k + 1, "ITEM", m.start(1), m.end(1), m.group(1)),
                                 Entity(2 * k + 2, "COUNT", m.start(2), m.end(2), m.group(2))]
                out.relations.append(Relation(k + 1, 2 * k + 2, 2 * k + 1, "item"))
            yield out


def make_hostile(path: Path, target_bytes: int) -> int:
    head = ("江西应急管理简报\n\n第 1 期（总第 1 期）\n\n江西省安全生产委员会办公室\n\n2021 年 12 月 30 日\n\n"
            "赣州市“'; DROP TABLE documents;--”综述\n\n")
    parts, size, k = [head], len(head.encode()), 0
    filler = "全市各地深入开展安全生产检查工作，" * 60
    while size < target_bytes:
        para = f"今年以来，查处“{EVIL[k % 5]}”{k % 997 + 1}起，{filler}处置“{EVIL[(k + 1) % 5]}”{k % 89 + 2}起。\n\n"
        parts.append(para)
        size += len(para.encode())
        k += 1
    path.write_text("".join(parts), encoding="utf-8")
    return k


def test_hostile_document(store, tmp_path):
    from pipeline.facts import compact

    path = tmp_path / "evil'; DROP TABLE documents;--.txt"
    n = make_hostile(path, 19_800_000)  # just under load.max_bytes = 20 MB
    assert 19_000_000 < path.stat().st_size <= get_settings().load.max_bytes
    res = ingest_document(path, store, QuotedItemExtractor())
    assert res.status == "new", res.error
    assert res.facts == 2 * n
    c = store.counts()
    assert c["documents"] == 1 and c["facts"] == 2 * n
    items = {r["item"] for r in rows(store, "SELECT DISTINCT item FROM facts")}
    assert items == {compact(e) for e in EVIL}
    (doc,) = store.documents()
    assert doc["source_path"] == str(path)
    total = rows(store, "SELECT SUM(LENGTH(text)) AS n FROM paragraphs")[0]["n"]
    assert total > 6_000_000
    for e in EVIL:  # a filter value is data too
        assert len(store.facts(FactFilter(item=compact(e)), limit=5)) == 5
    # over the size limit: reported and skipped, never fatal
    small = Settings.model_validate({"load": {"max_bytes": 1000}})
    res = ingest_document(path, store, QuotedItemExtractor(), small, force=True)
    assert res.status == "failed" and "over size limit" in res.error
    assert store.counts()["facts"] == 2 * n  # the stored version is kept


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_ingest_and_facts(tmp_path, monkeypatch):
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    import pipeline.extract
    from pipeline.cli import app

    monkeypatch.setattr(pipeline.extract, "load_extractor", lambda settings: GoldExtractor(), raising=False)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "seed.txt").write_bytes(SEED.read_bytes())
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    url = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(folder), "--store", url])
    assert r.exit_code == 0, r.output
    assert "broken.txt" in r.output and "PNG" in r.output
    assert re.search(r"│\s+2\s+│\s+1\s+│\s+0\s+│\s+0\s+│\s+1\s+│\s+\d{2}\s+│", r.output), r.output
    r = runner.invoke(app, ["ingest", str(folder / "seed.txt"), "--store", url])
    assert re.search(r"│\s+1\s+│\s+0\s+│\s+0\s+│\s+1\s+│\s+0\s+│\s+0\s+│", r.output), r.output

    r = runner.invoke(app, ["facts", "--store", url, "--org", "交通部门"])
    assert r.exit_code == 0 and "酒醉驾" in r.output and "19400" in r.output, r.output
    r = runner.invoke(app, ["facts", "--store", url, "--item", "安全生产事故", "--format", "csv"])
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("id,document,") and len(lines) == 2 and ",99," in lines[1] and "-24.4" in lines[1]
    r = runner.invoke(app, ["facts", "--store", url, "--unit", "元", "--since", "2021", "--until", "2021-12",
                            "--format", "jsonl"])
    recs = [json.loads(x) for x in r.output.strip().splitlines()]
    assert {x["value"] for x in recs} >= {730000000, 6200000, 50930000} and all(x["unit"] == "元" for x in recs)
    out = tmp_path / "facts.parquet"
    r = runner.invoke(app, ["facts", "--store", url, "--region", "江西", "--format", "parquet", "--output", str(out)])
    assert r.exit_code == 0, r.output
    table = pq.read_table(out)
    r = runner.invoke(app, ["facts", "--store", url, "--region", "江西", "--format", "jsonl"])
    recs = [json.loads(x) for x in r.output.strip().splitlines()]
    assert table.num_rows == len(recs) > 50 and 730000000.0 in table.column("value").to_pylist()
    assert str(table.schema.field("time_start").type) == "date32[day]"
    r = runner.invoke(app, ["facts", "summary", "--store", url, "--by", "org", "--format", "jsonl"])
    recs = [json.loads(x) for x in r.output.strip().splitlines()]
    assert {"org": "赣州市交通部门", "item": "酒醉驾", "unit": "起", "year": 2021, "facts": 1, "total": 19400,
            "approx": 1} in recs
    r = runner.invoke(app, ["facts", "summary", "--store", url])
    assert r.exit_code == 0 and "赣州市" in r.output
    r = runner.invoke(app, ["facts", "--store", url, "--since", "soon"])
    assert r.exit_code != 0
