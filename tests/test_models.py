"""The model code: tags, decoding, chunking, pair features, and fine-tuning a local HF checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.annotations import load_split, validate_record
from pipeline.models.data import chunk_bounds, make_pairs, record_examples
from pipeline.models.tagging import TAGS, spans_to_tags, tags_to_spans, viterbi
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


def test_chunks_cover_text_and_never_cut_a_span():
    text = "全市共发生事故99起。" * 80
    spans = [(i * 11 + 7, i * 11 + 10) for i in range(80)]
    bounds = chunk_bounds(text, 100, spans)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(e - s <= 100 for s, e in bounds)
    for s, e in spans:
        assert any(cs <= s and e <= ce for cs, ce in bounds)


def test_pairs_only_from_quantities_to_compatible_arguments():
    ents = [(0, 4, "DATE"), (5, 7, "GPE"), (9, 13, "ITEM"), (13, 16, "COUNT"), (20, 25, "PERCENT"), (26, 28, "ORG")]
    pairs = make_pairs(ents, breaks=[17])
    heads = {h for h, *_ in pairs}
    assert heads == {3, 4}  # COUNT and PERCENT
    assert (3, 4) in {(h, t) for h, t, *_ in pairs}
    assert all(t != h for h, t, *_ in pairs)
    gap = {(h, t): g for h, t, _, _, g in pairs}
    assert gap[(3, 5)] == 1 and gap[(3, 2)] == 0


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
