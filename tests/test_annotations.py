"""Annotation tooling: the validator (one bad record per rule), the markup converter, the real corpus
under annotations/ (validates, splits by source, Label Studio round trip, normalisation check), the CLI."""
from __future__ import annotations

import copy
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import annotations as A
from pipeline import labelstudio as LS
from pipeline.markup import MarkupError, to_record

ROOT = Path(__file__).resolve().parent.parent
ANN = ROOT / "annotations"

GOOD_MARKUP = {
    "id": "t-1",
    "markup": "[1-11月|DATE:d1]，[全市|GPE:g1]共发生[安全生产事故|ITEM:i1][99起|COUNT:q1]，同比下降[24.4%|PERCENT:p1]；"
              "其中[较大事故|ITEM:i2][1起|COUNT:q2]。[市财政|ORG:o1]拨付[专款|ITEM:i3][620 万元|MONEY:m1]。",
    "rels": "q1 item i1; q1 place g1; q1 time d1; q1 decrease p1; q2 item i2; q2 part_of q1; "
            "m1 item i3; m1 agent o1",
    "norm": {"q1": "99 起", "p1": "24.4 %", "q2": "1 起", "m1": "6200000 元"},
    "meta": {"source": "https://example.org/a", "doc_date": "2021-12-30", "region": "赣州市",
             "period": "2021-01-01/2021-12-30"},
}


def good() -> dict:
    return to_record(copy.deepcopy(GOOD_MARKUP))


def ent(rec: dict, span: str) -> dict:
    return next(e for e in rec["entities"] if rec["text"][e["start_offset"]:e["end_offset"]] == span)


# ---------------------------------------------------------------------------------------------
# markup converter


def test_markup_converter_offsets_norm_relations():
    rec = good()
    assert rec["text"].startswith("1-11月，全市共发生安全生产事故99起")
    for e in rec["entities"]:
        assert rec["text"][e["start_offset"]:e["end_offset"]]
    assert ent(rec, "99起")["norm"] == {"value": 99, "unit": "起"}
    assert ent(rec, "620 万元")["norm"] == {"value": 6200000, "unit": "元"}
    assert {(r["type"]) for r in rec["relations"]} == {"item", "place", "time", "decrease", "part_of", "agent"}
    assert A.validate_record(rec) == []


def test_markup_norm_flags_and_errors():
    m = {"id": "x", "markup": "[1-2 人|COUNT:q]", "norm": {"q": "1 人 max=2 about"}, "meta": {"source": "s"}}
    assert to_record(m)["entities"][0]["norm"] == {"value": 1, "unit": "人", "max": 2, "approx": "about"}
    with pytest.raises(MarkupError):
        to_record({**m, "rels": "q item z"})
    with pytest.raises(MarkupError):
        to_record({**m, "norm": {"q": "1 人 sometimes"}})
    with pytest.raises(MarkupError):
        to_record({"id": "y", "markup": "[坏|COUNT:q][again|ITEM:q]"})
    bare = {"id": "z", "markup": "完成[227|COUNT:q]", "norm": {"q": "227 - more_than"}, "meta": {"source": "s"}}
    assert to_record(bare)["entities"][0]["norm"] == {"value": 227, "unit": "", "approx": "more_than"}
    from pipeline.labelstudio import format_norm

    assert format_norm({"value": 227, "unit": "", "approx": "more_than"}) == "227 - more_than"


# ---------------------------------------------------------------------------------------------
# the validator: one small bad record per rule


def _mutate(fn):
    rec = good()
    fn(rec)
    return rec


def _set_norm(span, norm):
    return lambda r: ent(r, span).__setitem__("norm", norm)


def _add_rel(frm, typ, to):
    def f(r):
        r["relations"].append({"id": 99, "from_id": ent(r, frm)["id"], "to_id": ent(r, to)["id"], "type": typ})
    return f


def _retext(span, new):
    """Replace a span's characters (same length) so its offsets stay valid."""
    def f(r):
        e = ent(r, span)
        assert len(new) == len(span)
        r["text"] = r["text"][: e["start_offset"]] + new + r["text"][e["end_offset"]:]
    return f


def _shift(span, ds, dt):
    def f(r):
        e = ent(r, span)
        e["start_offset"] += ds
        e["end_offset"] += dt
    return f


BAD = [
    ("text missing", lambda r: r.__setitem__("text", ""), "text missing"),
    ("unknown label", lambda r: ent(r, "全市").__setitem__("label", "LOC"), "unknown label"),
    ("bad offsets", lambda r: ent(r, "全市").__setitem__("end_offset", 10_000), "bad offsets"),
    ("separator edge", _shift("全市", -1, 0), "whitespace/separator"),
    ("overlap", lambda r: r["entities"].append({"id": 50, "label": "GPE", "start_offset": 6, "end_offset": 8}),
     "overlap"),
    ("entity id twice", lambda r: ent(r, "全市").__setitem__("id", ent(r, "1-11月")["id"]), "used twice"),
    ("norm missing", lambda r: ent(r, "99起").pop("norm"), "norm missing"),
    ("norm on non-quantity", _set_norm("全市", {"value": 1, "unit": "个"}), "norm on a non-quantity"),
    ("unknown norm field", _set_norm("99起", {"value": 99, "unit": "起", "kind": "x"}), "unknown norm field"),
    ("value not a number", _set_norm("99起", {"value": "99", "unit": "起"}), "not a number"),
    ("value is a bool", _set_norm("99起", {"value": True, "unit": "起"}), "not a number"),
    ("unit missing", _set_norm("99起", {"value": 99}), "unit missing"),
    ("empty unit on a MONEY", _set_norm("620 万元", {"value": 6200000, "unit": ""}), "unit missing"),
    ("bad approx", _set_norm("99起", {"value": 99, "unit": "起", "approx": "roughly"}), "norm.approx"),
    ("max below value", _set_norm("99起", {"value": 99, "unit": "起", "max": 3}), "norm.max"),
    ("change on a COUNT", _set_norm("99起", {"value": 99, "unit": "起", "change": "decrease"}), "norm.change"),
    ("money not in 元", _set_norm("620 万元", {"value": 620, "unit": "万元"}), "MONEY unit must be 元"),
    ("quantity without number", _retext("99起", "多多起"), "has no number"),
    ("leading word in span", _retext("99起", "共9起"), "leading word '共'"),
    ("quantity not at its number", _retext("99起", "起99"), "starts at its number"),
    ("unknown relation type", lambda r: r["relations"][0].__setitem__("type", "cause"), "unknown type"),
    ("missing entity", lambda r: r["relations"][0].__setitem__("to_id", 999), "missing entity"),
    ("self link", lambda r: r["relations"].append({"id": 98, "from_id": ent(r, "99起")["id"],
                                                   "to_id": ent(r, "99起")["id"], "type": "part_of"}), "itself"),
    ("not from a quantity", _add_rel("全市", "place", "全市"), "must start at a quantity"),
    ("wrong target label", _add_rel("99起", "agent", "全市"), "agent cannot point to GPE"),
    ("pair twice", _add_rel("99起", "item", "安全生产事故"), "linked twice"),
    ("two items", _add_rel("99起", "item", "较大事故"), "has 2 items"),
    ("ITEM unlinked", lambda r: r.__setitem__("relations", [x for x in r["relations"] if x["type"] != "item"
                                                            or x["to_id"] != ent(r, "专款")["id"]]),
     "linked by no quantity"),
    ("change PERCENT with item", _add_rel("24.4%", "item", "较大事故"), "has an item of its own"),
    ("change twice", _set_norm("24.4%", {"value": 24.4, "unit": "%", "change": "decrease"}), "also carries norm.change"),
    ("relation id twice", lambda r: r["relations"][1].__setitem__("id", r["relations"][0]["id"]), "relation id"),
    ("part_of cycle", _add_rel("99起", "part_of", "1起"), "cycle"),
    ("source missing", lambda r: r["meta"].pop("source"), "meta.source missing"),
    ("doc_date not ISO", lambda r: r["meta"].__setitem__("doc_date", "2021年12月30日"), "not an ISO date"),
    ("doc_date impossible", lambda r: r["meta"].__setitem__("doc_date", "2021-02-30"), "not an ISO date"),
    ("period format", lambda r: r["meta"].__setitem__("period", "2021"), "meta.period"),
    ("period reversed", lambda r: r["meta"].__setitem__("period", "2021-12-30/2021-01-01"), "ends before"),
    ("error field", lambda r: r.__setitem__("error", "model failed"), "error field"),
    ("record id missing", lambda r: r.__setitem__("id", ""), "record id missing"),
]


@pytest.mark.parametrize("name,mutate,message", BAD, ids=[b[0] for b in BAD])
def test_validator_catches(name, mutate, message):
    errs = A.validate_record(_mutate(mutate))
    assert any(message in e for e in errs), errs


def test_validator_norm_optional_for_training():
    rec = _mutate(lambda r: ent(r, "99起").pop("norm"))
    assert A.validate_record(rec, require_norm=False) == []


def test_validate_file_duplicate_ids_and_bad_json(tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps(good(), ensure_ascii=False) + "\n" + json.dumps(good(), ensure_ascii=False) + "\n",
                 encoding="utf-8")
    assert any("id used twice" in p.message for p in A.validate_file(f))
    f.write_text("{not json\n", encoding="utf-8")
    assert any("not JSON" in p.message for p in A.validate_file(f))


def _tree(tmp_path: Path, records: list[dict], name: str = "x.jsonl", markup: list[dict] | None = None) -> Path:
    root = tmp_path / "annotations"
    A.write_jsonl(root / "batches" / name, records)
    if markup is not None:
        A.write_jsonl(root / "markup" / name, markup)
    return root


def test_tree_rules(tmp_path):
    root = _tree(tmp_path, [good()], markup=[GOOD_MARKUP])
    assert [p for p in A.validate_paths(root=root) if not p.warning] == []
    assert any(p.warning and "splits" in p.message for p in A.validate_paths(root=root))
    # a batch that is not its markup's conversion, a markup never converted, an id in two files
    stale = good()
    stale["entities"][0]["label"] = "ORG"
    A.write_jsonl(root / "batches" / "x.jsonl", [stale])
    A.write_jsonl(root / "markup" / "y.jsonl", [GOOD_MARKUP])
    A.write_jsonl(root / "batches" / "z.jsonl", [good()])
    msgs = [p.message for p in A.validate_paths(root=root) if not p.warning]
    assert any("differs from the conversion" in m for m in msgs)
    assert any("not converted" in m for m in msgs)
    assert any("id also used in" in m for m in msgs)
    # markup lines are validated after conversion
    (root / "markup" / "y.jsonl").write_text(json.dumps({"id": "m", "markup": "[共99起|COUNT:q]",
                                                         "norm": {"q": "99 起"}, "meta": {"source": "s"}},
                                                        ensure_ascii=False) + "\n", encoding="utf-8")
    assert any("leading word" in p.message for p in A.validate_paths([root / "markup" / "y.jsonl"], root=root))


# ---------------------------------------------------------------------------------------------
# the real corpus


@pytest.fixture(scope="module")
def corpus():
    return A.load_corpus(ANN)


def test_every_file_under_annotations_validates():
    problems = [p for p in A.validate_paths(root=ANN) if not p.warning]
    assert problems == [], "\n".join(map(str, problems[:40]))


def test_corpus_is_not_empty(corpus):
    assert len(corpus) >= 1
    assert (ANN / "label_studio.xml").exists() and LS.check_label_config(ANN / "label_studio.xml") == []
    assert (ANN / "label_studio.xml").read_text(encoding="utf-8") == LS.label_config()


def test_split_is_by_source_stable_and_near_ratios(corpus):
    data, _ = A.update_splits(ANN, write=False)  # what `jianbao annotations split` would write now
    committed = A.read_splits(ANN)["sources"]
    assert all(data["sources"][s] == v for s, v in committed.items()), "split changed an existing assignment"
    sources = {rec["meta"]["source"] for _, rec in corpus}
    assert sources <= set(data["sources"])
    seed = [s for s in sources if s.startswith("seed:")]
    assert all(data["sources"][s] == "test" for s in seed)
    if len(sources) >= 20:
        counts = Counter(data["sources"][s] for s in sources)
        for split, ratio in A.SPLIT_RATIOS.items():
            assert abs(counts[split] / len(sources) - ratio) <= 0.05, counts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_split = {s: A.load_split(ROOT, s) for s in A.SPLITS}
    seen: dict[str, str] = {}
    for split, recs in by_split.items():
        for r in recs:
            assert seen.setdefault(r["meta"]["source"], split) == split, f"{r['meta']['source']} in two splits"
    assigned = sum(1 for _, r in corpus if r["meta"]["source"] in committed)
    assert sum(map(len, by_split.values())) == assigned


def test_assign_splits_is_stable_and_seeded():
    srcs = [f"https://example.org/{i}" for i in range(40)] + ["seed:x.txt"]
    first = A.assign_splits(srcs)
    assert first == A.assign_splits(list(reversed(srcs)))
    assert first["seed:x.txt"] == "test"
    c = Counter(first.values())
    assert (c["train"], c["dev"], c["test"]) in {(29, 6, 6), (28, 7, 6), (28, 6, 7), (29, 7, 5), (29, 5, 7)}
    more = A.assign_splits(srcs + [f"https://example.org/new{i}" for i in range(20)], existing=first)
    assert all(more[s] == first[s] for s in first)
    c = Counter(more.values())
    assert abs(c["train"] / 61 - 0.7) < 0.03 and abs(c["test"] / 61 - 0.15) < 0.03


def test_load_split_leaves_unassigned_out(tmp_path):
    r1, r2 = good(), good()
    r2["id"], r2["meta"] = "t-2", {**r2["meta"], "source": "https://example.org/b"}
    root = _tree(tmp_path, [r1, r2])
    (root / "splits.json").write_text(json.dumps({"sources": {"https://example.org/a": "dev"}}), encoding="utf-8")
    with pytest.warns(UserWarning, match="no split"):
        assert [r["id"] for r in A.load_split(root, "dev")] == ["t-1"]
    with pytest.raises(ValueError):
        A.load_split(root, "holdout")


def test_label_studio_round_trip_on_the_real_corpus(corpus):
    recs = [r for _, r in corpus]
    tasks = json.loads(json.dumps(LS.records_to_tasks(recs)))  # through JSON, as a file would
    assert [LS.task_to_record(t) for t in tasks] == recs
    preds = json.loads(json.dumps(LS.records_to_tasks(recs, "predictions", model_version="m1")))
    assert [LS.task_to_record(t) for t in preds] == recs


def test_label_studio_edits_astral_text_and_new_regions():
    rec = good()
    rec["text"] = "𠀀" + rec["text"]  # a character outside the BMP: two UTF-16 units in Label Studio
    for e in rec["entities"]:
        e["start_offset"] += 1
        e["end_offset"] += 1
    task = LS.record_to_task(rec)
    q = next(x for x in task["annotations"][0]["result"] if x.get("value", {}).get("text") == "99起")
    assert q["value"]["start"] == ent(rec, "99起")["start_offset"] + 1
    assert LS.task_to_record(task) == rec
    # an annotator corrects a norm in the text area and draws a region of their own with a relation
    res = task["annotations"][0]["result"]
    ta = next(x for x in res if x["type"] == "textarea" and x["id"] == q["id"])
    ta["value"]["text"] = ["100 起 about"]
    k = rec["text"].index("同比下降")  # code points; Label Studio counts one more for the 𠀀
    res.append({"id": "Xy_12", "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": k + 1, "end": k + 3, "text": "同比", "labels": ["DATE"]}})
    res.append({"from_id": q["id"], "to_id": "Xy_12", "type": "relation", "direction": "right", "labels": ["time"]})
    rec2 = LS.task_to_record(task)
    assert ent(rec2, "99起")["norm"] == {"value": 100, "unit": "起", "approx": "about"}
    new = ent(rec2, "同比")
    assert new["id"] == max(e["id"] for e in rec["entities"]) + 1 and new["start_offset"] == k
    assert rec2["relations"][-1] == {"id": len(rec2["relations"]), "from_id": ent(rec2, "99起")["id"],
                                     "to_id": new["id"], "type": "time"}


def test_check_norm_runs_and_every_difference_is_explained(corpus):
    res = A.check_norms(corpus)
    assert res.quantities == res.checked + res.missing
    assert res.agree + len(res.differ) + len(res.failed) == res.checked
    readme = (ANN / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Normalisation check", 1)[1].split("\n## ", 1)[0]
    explained = set(re.findall(r"`([^`]+)`", section))  # spans, or gold units, named in the section
    unexplained = [d for d in res.differ + res.failed
                   if d["span"] not in explained and d["gold"].get("unit") not in explained]
    assert unexplained == [], unexplained[:10]


# ---------------------------------------------------------------------------------------------
# the CLI


@pytest.fixture()
def cli():
    from pipeline.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["annotations", *map(str, args)])


def test_cli_validate_stats_split(tmp_path, cli):
    r2 = good()
    r2["id"], r2["meta"] = "t-2", {**r2["meta"], "source": "seed:s.txt"}
    root = _tree(tmp_path, [good(), r2], markup=None)
    res = cli("validate", "--root", root)
    assert res.exit_code == 0, res.output
    res = cli("split", "--root", root)
    assert res.exit_code == 0 and (root / "splits.json").exists()
    assert A.read_splits(root)["sources"]["seed:s.txt"] == "test"
    res = cli("stats", "--root", root, "--json")
    st = json.loads(res.output)
    assert st["passages"] == 2 and st["sources"] == 2 and st["labels"]["COUNT"] == 4
    assert st["splits"]["test"]["passages"] == 1
    assert cli("stats", "--root", root).exit_code == 0
    bad = good()
    bad["entities"][0]["label"] = "LOC"
    A.write_jsonl(root / "batches" / "bad.jsonl", [bad])
    res = cli("validate", "--root", root)
    assert res.exit_code == 1 and "unknown label" in res.output


def test_cli_export_import_round_trip(tmp_path, cli):
    src = tmp_path / "in.jsonl"
    A.write_jsonl(src, [good()])
    out = tmp_path / "ls.json"
    assert cli("export", out, src).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))[0]["annotations"]
    back = tmp_path / "back.jsonl"
    res = cli("import", out, back)
    assert res.exit_code == 0, res.output
    assert list(A.read_jsonl(back)) == [good()]
    # doccano without norms: --fill-norm computes them
    bare = good()
    for e in bare["entities"]:
        e.pop("norm", None)
    A.write_jsonl(src, [bare])
    res = cli("import", src, back, "--fill-norm")
    assert res.exit_code == 0, res.output
    assert list(A.read_jsonl(back)) == [good()]


def test_cli_check_norm(cli):
    res = cli("check-norm")
    assert res.exit_code == 0
    assert re.search(r"\d+ quantities, \d+ with norm: \d+ agree, \d+ differ", res.output)


def test_cli_pre_annotate(tmp_path, cli, monkeypatch):
    import pipeline.extract as X
    from pipeline.types import Entity

    src, out = tmp_path / "in.jsonl", tmp_path / "out.json"
    A.write_jsonl(src, [{"id": "p1", "text": "全市共发生事故99起。", "meta": {"source": "s"}}])
    monkeypatch.delattr(X, "load_extractor", raising=False)
    res = cli("pre-annotate", src, out)
    assert res.exit_code == 2 and "no extractor" in res.output

    def missing(settings):
        raise X.ModelMissingError("models/current is empty; run jianbao train")

    monkeypatch.setattr(X, "load_extractor", missing, raising=False)
    res = cli("pre-annotate", src, out)
    assert res.exit_code == 2 and "no trained model" in res.output

    class Fake:
        version = "fake-1"

        def extract(self, passages):
            for p in passages:
                p.entities = [Entity(1, "COUNT", 7, 10, "99起", {"value": 99, "unit": "起"}, 0.9)]
                yield p

    monkeypatch.setattr(X, "load_extractor", lambda settings: Fake(), raising=False)
    res = cli("pre-annotate", src, out)
    assert res.exit_code == 0, res.output
    task = json.loads(out.read_text(encoding="utf-8"))[0]
    assert task["predictions"][0]["model_version"] == "fake-1"
    assert LS.task_to_record(task)["entities"][0]["norm"] == {"value": 99, "unit": "起"}


def test_validator_accepts_a_bare_count():
    rec = _mutate(_set_norm("99起", {"value": 99, "unit": ""}))
    assert A.validate_record(rec) == []
