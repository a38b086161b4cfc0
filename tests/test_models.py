"""The model code: tags, decoding, chunking, pair features, and fine-tuning a local HF checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.annotations import load_split, validate_record
from pipeline.models.data import chunk_bounds, make_pairs, record_examples
from pipeline.models.schema import UNIT_BUCKETS
from pipeline.models.tagging import TAGS, spans_to_tags, tags_to_spans, viterbi, viterbi_batch
from pipeline.models.vocab import CharVocab

ROOT = Path(__file__).resolve().parent.parent


def test_bioes_round_trip():
    spans = [(0, 2, "ORG"), (3, 4, "COUNT"), (5, 9, "ITEM")]
    assert tags_to_spans(spans_to_tags(10, spans)) == spans


def test_viterbi_never_returns_invalid_sequences():
    rng = np.random.default_rng(0)
    for _ in range(50):
        logp = np.log(rng.dirichlet(np.ones(len(TAGS)), size=30))
        tags = [TAGS[t] for t in viterbi(logp)]
        for prev, cur in zip(["O"] + tags, tags + ["O"]):
            if prev[0] in "BI":
                assert cur[0] in "IE" and cur[2:] == prev[2:], (prev, cur)
            else:
                assert cur[0] in "OBS", (prev, cur)


def test_batched_viterbi_finds_the_same_paths():
    rng = np.random.default_rng(1)
    lengths = [30, 0, 1, 17, 30, 5]
    logp = np.log(rng.dirichlet(np.ones(len(TAGS)), size=(len(lengths), 30)))
    logp[3, 10:] = logp[3, 9]  # ties: the first best tag wins in both
    assert viterbi_batch(logp, lengths) == [viterbi(logp[r, :n]) for r, n in enumerate(lengths)]
    assert viterbi_batch(logp[:0], []) == []


def test_chunks_cover_text_and_never_cut_a_span():
    text = "全市共发生事故99起。" * 80
    spans = [(i * 11 + 7, i * 11 + 10) for i in range(80)]
    bounds = chunk_bounds(text, 100, spans)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(e - s <= 100 for s, e in bounds)
    for s, e in spans:
        assert any(cs <= s and e <= ce for cs, ce in bounds)


def _spans(text: str, marked: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for piece, label in marked:
        s = text.index(piece, pos)
        out.append((s, s + len(piece), label))
        pos = s + len(piece)
    return out


def test_pairs_only_from_quantities_to_compatible_arguments():
    text = "今年以来，全市发生事故99起，下降5%。市应急局检查企业"
    ents = _spans(text, [("今年以来", "DATE"), ("全市", "GPE"), ("事故", "ITEM"), ("99起", "COUNT"),
                         ("5%", "PERCENT"), ("市应急局", "ORG")])
    pairs = make_pairs(ents, text)
    heads = {h for h, *_ in pairs}
    assert heads == {3, 4}  # COUNT and PERCENT
    assert (3, 4) in {(h, t) for h, t, *_ in pairs}
    assert all(t != h for h, t, *_ in pairs)
    gap = {(h, t): g for h, t, _, _, g, *_ in pairs}
    assert gap[(3, 5)] == 1 and gap[(3, 2)] == 0


def test_pair_features_mark_same_unit_parents_after_a_part_cue():
    text = "全市发生事故99起、死亡40人，其中较大事故2起、死亡9人。"
    ents = _spans(text, [("事故", "ITEM"), ("99起", "COUNT"), ("死亡", "ITEM"), ("40人", "COUNT"),
                         ("较大事故", "ITEM"), ("2起", "COUNT"), ("死亡", "ITEM"), ("9人", "COUNT")])
    feats = {(h, t): (unit, cue) for h, t, _, _, _, unit, cue, _ in make_pairs(ents, text)}
    assert feats[(7, 3)] == (1, 1)       # 9人 → 40人: the nearest same unit on its left, 其中 between
    assert feats[(7, 1)][0] == UNIT_BUCKETS - 1 and feats[(7, 1)][1] == 1  # 起 is another unit
    assert feats[(5, 1)] == (1, 1)       # 2起 → 99起
    assert feats[(1, 5)] == (1, 0)       # 99起 → 2起: the cue only counts for an earlier tail
    assert feats[(7, 6)] == (0, 0)       # an ITEM has no unit relation


def test_pair_features_count_the_figures_between_a_quantity_and_a_change():
    text = "共发生事故99起、死亡104人，同比分别下降24.4%和7.1%。"
    ents = _spans(text, [("事故", "ITEM"), ("99起", "COUNT"), ("死亡", "ITEM"), ("104人", "COUNT"),
                         ("24.4%", "PERCENT"), ("7.1%", "PERCENT")])
    feats = {(h, t): (rank, between) for h, t, _, rank, _, _, _, between in make_pairs(ents, text)}
    assert feats[(1, 4)] == (0, 1) and feats[(3, 5)] == (1, 0)   # the matching pairs
    assert feats[(1, 5)] == (1, 1) and feats[(3, 4)] == (0, 0)


def test_vocab_maps_foreign_checkpoint_characters(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused1]", "应", "急", "1"]))
    vocab = CharVocab.load(tmp_path)
    assert vocab.encode("应急 １x") == [6, 7, 5, 8, 1]


def _tiny_checkpoint(path: Path) -> Path:
    """A randomly initialised BERT with our character vocabulary, saved like any HF checkpoint."""
    from transformers import BertConfig, BertModel

    vocab = CharVocab.load(ROOT / "models" / "encoder")
    vocab.save(path)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=128, max_position_embeddings=520)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from pipeline.models.train import TrainArguments, train

    base = _tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert"))
    train_recs = load_split(ROOT / "annotations", "train")[:24]
    args = TrainArguments(base=str(base), epochs=6, aux_sets=[], lr=3e-3, head_lr=3e-3, batch_chars=4096,
                          threads=2, fp16=False)
    out = tmp_path_factory.mktemp("model")
    meta = train(args, out, {"train": train_recs, "dev": train_recs[:6]}, log=lambda s: None)
    return out, meta, train_recs


def test_fine_tuning_a_local_checkpoint_learns(tiny_model):
    out, meta, _ = tiny_model
    losses = [h["loss"] for h in meta["history"]]
    assert losses[-1] < losses[0] * 0.7, losses
    assert meta["scores"]["dev"]["quantities"]["f1"] > 0.3, meta["scores"]["dev"]["quantities"]


def test_saved_model_reloads_and_extracts_valid_records(tiny_model, tmp_path):
    from pipeline.extract import ModelMissingError, load_extractor

    out, _, recs = tiny_model
    extractor = load_extractor(path=out)
    preds = extractor.predict_records(recs[:6])
    assert [p["id"] for p in preds] == [r["id"] for r in recs[:6]]
    quantity = {"COUNT", "MONEY", "MEASURE", "PERCENT"}
    for p in preds:
        problems = validate_record({**p, "meta": {"source": "x"}}, require_norm=False)
        structural = [m for m in problems if "overlap" in m or "offsets" in m or "must start at a quantity" in m
                      or "cannot point to" in m or "separator" in m]
        assert not structural, structural
        labels = {e["id"]: e["label"] for e in p["entities"]}
        assert all(labels[r["from_id"]] in quantity for r in p["relations"])
    with pytest.raises(ModelMissingError, match="no trained model"):
        load_extractor(path=tmp_path)


def test_extract_cli_never_drops_a_record(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    out, _, recs = tiny_model
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": r["id"], "text": r["text"], "meta": r["meta"]}, ensure_ascii=False) for r in recs[:3]]
    src.write_text("\n".join(lines[:2] + ["{not json", lines[2]]) + "\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["extract", str(src), str(dst), "--model", str(out)])
    assert result.exit_code == 0, result.output
    got = [json.loads(l) for l in dst.read_text(encoding="utf-8").splitlines()]
    assert len(got) == 4
    assert [bool(g.get("error")) for g in got] == [False, False, True, False]
    assert "in.jsonl:3" in got[2]["error"]


def test_onnx_runtime_matches_the_torch_network(tiny_model, tmp_path):
    import shutil

    from pipeline.models.network import load_bundle
    from pipeline.models.predict import Predictor
    from pipeline.models.runtime import OnnxRuntime, export_onnx
    from pipeline.scorer import score

    out, meta, recs = tiny_model
    assert meta["onnx"]["quantized"] and (out / "onnx" / "encoder.onnx").exists()
    reference = Predictor.from_pretrained(out, runtime="torch").predict_records(recs[:8])
    assert any(p["entities"] for p in reference) and any(p["relations"] for p in reference)

    exact = tmp_path / "fp32"
    shutil.copytree(out, exact)
    export_onnx(load_bundle(exact)[0], exact, quantize=False)
    fp32 = Predictor.from_pretrained(exact, runtime="onnx")
    assert isinstance(fp32.runtime, OnnxRuntime)
    assert fp32.predict_records(recs[:8]) == reference

    int8 = Predictor.from_pretrained(out).predict_records(recs[:8])  # auto: the bundle's int8 export
    report = score([{**r, "meta": {}} for r in reference], int8).report()
    assert report["entities"]["micro"]["f1"] >= 0.9, report["entities"]["micro"]


def test_onnx_extraction_loads_without_torch(tiny_model):
    import subprocess
    import sys

    out, _, _ = tiny_model
    code = ("import sys; from pipeline.extract import load_extractor; from pipeline.types import Passage; "
            f"e = load_extractor(path={str(out)!r}); "
            "r = list(e.extract([Passage('a', '1-11月，全市共发生事故99起，同比下降24.4%。')])); "
            "assert r[0].error is None, r[0].error; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_training_set_keeps_example_weights_and_is_cached(tmp_path):
    from pipeline.config import get_settings
    from pipeline.models.train import TrainArguments, training_dataset

    aux_root = get_settings().resolve(get_settings().paths.shared_data)
    if not (aux_root / "msra_ner").exists():
        pytest.skip(f"no auxiliary data at {aux_root}")
    base = ROOT / "models" / "encoder"
    vocab = CharVocab.load(base)
    recs = load_split(ROOT / "annotations", "train")[:3]
    args = TrainArguments(base=str(base), aux_sets=["msra"], aux_per_set=5, aux_weight=0.25,
                          aux_root=str(aux_root), cache_dir=str(tmp_path))
    logs: list[str] = []
    first, aux = training_dataset(args, recs, vocab, logs.append)
    assert aux == ["msra"] and not any("cache" in m for m in logs)
    rows = first.shuffle(seed=1).to_list()  # what an epoch iterates: the weights must survive
    assert sorted({r["weight"] for r in rows}) == [0.25, 1.0]
    assert sum(r["weight"] == 0.25 for r in rows) == 5
    again, _ = training_dataset(args, recs, vocab, logs.append)
    assert any("from the cache" in m for m in logs) and again.to_list() == first.to_list()
    logs.clear()
    args.aux_weight = 0.5  # another recipe: built anew, not read from the cache
    other, _ = training_dataset(args, recs, vocab, logs.append)
    assert not any("cache" in m for m in logs) and {r["weight"] for r in other.to_list()} == {0.5, 1.0}
    for w in (0.6, 0.7, 0.8):
        args.aux_weight = w
        training_dataset(args, recs, vocab, logs.append)
    assert len(list(tmp_path.glob("examples-*"))) == 3  # older recipes are pruned


def test_a_stale_onnx_export_is_refused_at_load(tiny_model, tmp_path, monkeypatch):
    import shutil

    from pipeline.extract import ModelMissingError, load_extractor
    from pipeline.models import runtime

    out, _, _ = tiny_model
    stale = tmp_path / "stale"
    shutil.copytree(out, stale)
    monkeypatch.setattr(runtime, "PAIR_COLUMNS", runtime.PAIR_COLUMNS + 1)  # the code moved on since the export
    with pytest.raises(ModelMissingError, match="export-onnx"):
        load_extractor(path=stale)


def test_a_second_link_of_a_type_needs_its_own_threshold():
    from pipeline.models.predict import Predictor, link_classes
    from pipeline.models.schema import REL_CLASSES
    from pipeline.types import Entity

    text = "市应急局会同市消防支队检查企业30家。"
    ents = [Entity(1, "ORG", 0, 4, "市应急局"), Entity(2, "ORG", 6, 11, "市消防支队"),
            Entity(3, "ITEM", 13, 15, "企业"), Entity(4, "COUNT", 15, 18, "30家")]
    probs = np.zeros((3, len(REL_CLASSES)))
    for row, (cls, p) in enumerate([("agent", 0.9), ("agent", 0.7), ("item", 0.95)]):
        probs[row, REL_CLASSES.index(cls)] = p
        probs[row, 0] = 1 - p
    pairs = [(3, 0), (3, 1), (3, 2)]
    spans = [(e.start, e.end, e.label) for e in ents]
    best = link_classes(text, (0, spans, pairs, probs))
    assert best == [("agent", 0.9), ("agent", 0.7), ("item", 0.95)]

    def links(th):
        rels = Predictor._decode_relations(ents, 0, pairs, best, 1, th)
        return sorted((r.type, r.tail) for r in rels)

    assert links({}) == [("agent", 1), ("item", 3)]  # the default bar for a second agent is 0.85
    assert links({"agent+": 0.6}) == [("agent", 1), ("agent", 2), ("item", 3)]
    assert links({"agent": 0.95, "agent+": 0.6}) == [("item", 3)]


def test_rescoring_a_model_keeps_its_training_scores_and_rewrites_the_card(tiny_model, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from pipeline.evaluate import rescore_model

    out, meta, recs = tiny_model
    bundle = tmp_path / "m"
    shutil.copytree(out, bundle)
    new = rescore_model(bundle, {"dev": recs[:4], "test": recs[4:10]}, today="2026-12-08")
    saved = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    assert saved["scores_at_training"] == meta["scores"]
    assert saved["scores"]["test"]["records"] == 6 and saved["scores"]["dev"]["records"] == 4
    assert saved["rescored"]["date"] == "2026-12-08" and new["scores"] == saved["scores"]
    card = (bundle / "README.md").read_text(encoding="utf-8")
    assert "Rescored on 2026-12-08" in card and "test 6 passages" in card
    again = rescore_model(bundle, {"dev": recs[:4], "test": recs[4:8]})
    assert again["scores_at_training"] == meta["scores"]  # the first scores are never overwritten

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["rescore", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "not a model bundle" in result.output
