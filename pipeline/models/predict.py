"""Inference: a loaded ExtractorNet → entities (with norm) and relations, decoded under the guidelines."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from pipeline.models.data import LABEL_INDEX, breaks_of, chunk_bounds, make_pairs
from pipeline.models.network import REL_CLASSES, ExtractorNet, class_mask, load_bundle
from pipeline.models.tagging import tags_to_spans, viterbi
from pipeline.models.vocab import CharVocab
from pipeline.types import LABELS, QUANTITY_LABELS, Entity, Passage, Relation

EDGE = set("，。、；：！？,.;:!? \t\n\r\u3000\xa0")
DECREASE = re.compile(r"(下降|减少|降低|下滑|回落|减)\D{0,4}$")
INCREASE = re.compile(r"(上升|增长|增加|提高|提升|上涨|增)\D{0,4}$")
CLASS_MASKS = {l: torch.tensor(class_mask(l)) for l in LABELS if l != "ITEM" or True}
SINGLE = {"item", "part_of"}  # at most one per quantity
EXTRA_THRESHOLD = 0.85        # a second agent/place/time/change link needs this much


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in EDGE:
        s += 1
    while e > s and text[e - 1] in EDGE:
        e -= 1
    return s, e


class Predictor:
    def __init__(self, net: ExtractorNet, vocab: CharVocab, max_chars: int = 510, batch_chars: int = 8192,
                 version: str = "dev"):
        self.net = net.eval()
        self.vocab = vocab
        self.max_chars = max_chars
        self.batch_chars = batch_chars
        self.version = version

    @classmethod
    def from_pretrained(cls, path: str | Path, quantize: bool = False, **kw: Any) -> "Predictor":
        """quantize: int8 dynamic quantisation of the linear layers (CPU inference only)."""
        net, meta = load_bundle(path)
        if quantize:
            net = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
        vocab = CharVocab.load(Path(path) / "encoder")
        kw.setdefault("max_chars", meta.get("max_chars", 510))
        kw.setdefault("version", meta.get("version", Path(path).name))
        return cls(net, vocab, **kw)

    # -- the Extractor interface --------------------------------------------------------------
    def extract(self, passages: Iterable[Passage], batch_size: int = 32) -> Iterator[Passage]:
        batch: list[Passage] = []
        for p in passages:
            batch.append(p)
            if len(batch) >= batch_size:
                yield from self._extract_batch(batch)
                batch = []
        if batch:
            yield from self._extract_batch(batch)

    def _extract_batch(self, passages: list[Passage]) -> list[Passage]:
        try:
            results = self.predict_texts([p.text for p in passages])
        except Exception:  # one bad passage must not sink the others: retry one by one
            results = []
            for p in passages:
                try:
                    results.append(self.predict_texts([p.text])[0])
                except Exception as exc:  # noqa: BLE001 - reported on the record, never dropped
                    results.append(exc)
        out = []
        for p, res in zip(passages, results):
            if isinstance(res, Exception):
                out.append(Passage(p.id, p.text, meta=p.meta, error=f"{type(res).__name__}: {res}"))
                continue
            ents, rels, problems = res
            meta = dict(p.meta)
            if problems:
                meta["unnormalised"] = problems
            out.append(Passage(p.id, p.text, ents, rels, meta))
        return out

    def predict_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        passages = [Passage(str(r["id"]), r["text"], meta=dict(r.get("meta") or {})) for r in records]
        return [p.to_record() for p in self._extract_batch(passages)]

    # -- the model ----------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_texts(self, texts: list[str]) -> list[tuple[list[Entity], list[Relation], list[dict]]]:
        chunks = [(i, s, e) for i, t in enumerate(texts) for s, e in chunk_bounds(t, self.max_chars)]
        spans_per_chunk: dict[int, list[tuple[int, int, str]]] = {}
        rel_probs: dict[int, tuple[list, np.ndarray]] = {}
        order = sorted(range(len(chunks)), key=lambda k: chunks[k][2] - chunks[k][1])
        k = 0
        while k < len(order):
            group = [order[k]]
            width = chunks[order[k]][2] - chunks[order[k]][1] + 2
            k += 1
            while k < len(order) and (len(group) + 1) * (chunks[order[k]][2] - chunks[order[k]][1] + 2) <= self.batch_chars:
                group.append(order[k])
                width = chunks[order[k]][2] - chunks[order[k]][1] + 2
                k += 1
            self._run_group(texts, chunks, group, width, spans_per_chunk, rel_probs)
        results = []
        for i, text in enumerate(texts):
            ents: list[Entity] = []
            rels: list[Relation] = []
            for c, (ti, cs, ce) in enumerate(chunks):
                if ti != i:
                    continue
                spans = spans_per_chunk[c]
                base = len(ents)
                for s, e, label in spans:
                    ents.append(Entity(id=len(ents) + 1, label=label, start=cs + s, end=cs + e, text=text[cs + s:cs + e]))
                pairs, probs = rel_probs.get(c, ([], np.zeros((0, len(REL_CLASSES)))))
                rels.extend(self._decode_relations(ents, base, pairs, probs, start_id=len(rels) + 1))
            problems = self._normalise(text, ents, rels)
            results.append((ents, rels, problems))
        return results

    def _run_group(self, texts, chunks, group, width, spans_out, rel_out) -> None:
        ids = torch.full((len(group), width), self.vocab.pad, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, c in enumerate(group):
            ti, cs, ce = chunks[c]
            enc = [self.vocab.cls] + self.vocab.encode(texts[ti][cs:ce]) + [self.vocab.sep]
            ids[row, : len(enc)] = torch.tensor(enc)
            mask[row, : len(enc)] = 1
        hidden, logits = self.net.encode(ids, mask)
        logp = torch.log_softmax(logits, -1).numpy()
        ent_rows, pair_rows, owners = [], [], []
        for row, c in enumerate(group):
            ti, cs, ce = chunks[c]
            piece = texts[ti][cs:ce]
            spans = []
            for s, e, label in tags_to_spans(viterbi(logp[row, 1 : len(piece) + 1])):
                s, e = _trim(piece, s, e)
                if s < e:
                    spans.append((s, e, label))
            spans_out[c] = spans
            offset = len(ent_rows)
            ent_rows.extend([row, s + 1, e, LABEL_INDEX[l]] for s, e, l in spans)
            pairs = make_pairs(spans, breaks_of(piece))
            pair_rows.extend([h + offset, t + offset, d, r, g, 0] for h, t, d, r, g in pairs)
            owners.append((c, pairs, len(pair_rows) - len(pairs)))
        if not pair_rows:
            return
        rel_logits = self.net.relation_logits(hidden, torch.tensor(ent_rows), torch.tensor(pair_rows))
        labels = [LABELS[ent_rows[p[1]][3]] for p in pair_rows]
        masks = torch.stack([CLASS_MASKS[l] for l in labels])
        probs = torch.softmax(rel_logits.masked_fill(~masks, -1e4), -1).numpy()
        for c, pairs, first in owners:
            rel_out[c] = (pairs, probs[first : first + len(pairs)])

    @staticmethod
    def _decode_relations(ents: list[Entity], base: int, pairs: list, probs: np.ndarray, start_id: int) -> list[Relation]:
        """Guideline constraints: one item and one part_of parent per quantity, extra links only
        when confident, and a PERCENT is either a change of something or a quantity of its own."""
        best: dict[tuple[int, str], list[tuple[float, int]]] = {}
        for (h, t, *_), pr in zip(pairs, probs):
            cls = int(pr.argmax())
            if cls == 0:
                continue
            best.setdefault((base + h, REL_CLASSES[cls]), []).append((float(pr[cls]), base + t))
        chosen: list[tuple[int, int, str, float]] = []
        for (h, rtype), cands in best.items():
            cands.sort(reverse=True)
            keep = cands[:1] if rtype in SINGLE else [c for i, c in enumerate(cands) if i == 0 or c[0] >= EXTRA_THRESHOLD]
            chosen.extend((h, t, rtype, p) for p, t in keep)
        change_targets = {t: p for h, t, r, p in chosen if r in ("increase", "decrease")}
        own_item = {h: p for h, t, r, p in chosen if r == "item"}
        drop_change = {t for t, p in change_targets.items() if own_item.get(t, 0) > p}
        out = []
        for h, t, rtype, p in chosen:
            if rtype in ("increase", "decrease") and t in drop_change:
                continue
            if h in change_targets and h not in drop_change and rtype != "part_of":
                continue  # a change PERCENT has no arguments of its own
            out.append(Relation(id=start_id + len(out), head=ents[h].id, tail=ents[t].id, type=rtype, score=p))
        return out

    @staticmethod
    def _normalise(text: str, ents: list[Entity], rels: list[Relation]) -> list[dict]:
        from pipeline.normalise import NormaliseError, normalise_quantity

        change_targets = {r.tail for r in rels if r.type in ("increase", "decrease")}
        has_item = {r.head for r in rels if r.type == "item"}
        problems = []
        for e in ents:
            if e.label not in QUANTITY_LABELS:
                continue
            try:
                e.norm = normalise_quantity(e.text, e.label, after=text[e.end : e.end + 4])
            except NormaliseError as exc:
                problems.append({"start": e.start, "end": e.end, "text": e.text, "reason": str(exc)})
                continue
            if e.label == "PERCENT" and e.id not in change_targets and e.id in has_item:
                before = text[max(0, e.start - 12) : e.start]
                if DECREASE.search(before):
                    e.norm["change"] = "decrease"
                elif INCREASE.search(before):
                    e.norm["change"] = "increase"
        return problems
