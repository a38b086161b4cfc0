"""Inference: a model runtime (ONNX or torch) → entities (with norm) and relations, decoded under the
guidelines. Nothing here imports torch: with the ONNX runtime, extraction runs on numpy alone."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from pipeline.models.data import LABEL_INDEX, chunk_bounds, make_pairs
from pipeline.models.runtime import Runtime, TorchRuntime, open_runtime
from pipeline.models.schema import CLASS_MASK_ROWS, REL_CLASSES
from pipeline.models.tagging import tags_to_spans, viterbi_batch
from pipeline.models.vocab import CharVocab
from pipeline.types import LABELS, QUANTITY_LABELS, Entity, Passage, Relation

EDGE = set("，。、；：！？,.;:!? \t\n\r\u3000\xa0")
SINGLE = {"item", "part_of"}  # at most one per quantity
EXTRA_THRESHOLD = 0.85        # a second agent/place/time/change link needs this much
DEFAULT_THRESHOLD = 0.5


INC, DEC = REL_CLASSES.index("increase"), REL_CLASSES.index("decrease")
DIRECTION = re.compile(r"(下降|减少|降低|下滑|回落|减|上升|增长|增加|提高|提升|上涨|增)")
DIRECTION_STOP = set("。；;！？!?\n")


def stated_direction(text: str, start: int, window: int = 24) -> str | None:
    """The direction word nearest before a percentage in its clause (同比分别下降24.4%、7.1% → both decrease)."""
    lo = start
    while lo > 0 and start - lo < window and text[lo - 1] not in DIRECTION_STOP:
        lo -= 1
    words = DIRECTION.findall(text[lo:start])
    if not words:
        return None
    return "decrease" if words[-1] in ("下降", "减少", "降低", "下滑", "回落", "减") else "increase"


def _best_class(pr: np.ndarray, text: str, target: Entity) -> tuple[str, float]:
    """The most likely link type of a pair; for a change, the model says whether it is one and the text's
    own direction word (when there is one) says which way."""
    if target.label == "PERCENT":
        change = float(pr[INC] + pr[DEC])
        if change >= pr[1:].max():
            direction = stated_direction(text, target.start) or ("increase" if pr[INC] >= pr[DEC] else "decrease")
            return direction, change
    cls = int(pr[1:].argmax()) + 1
    return REL_CLASSES[cls], float(pr[cls])


def link_classes(text: str, chunk: tuple) -> list[tuple[str, float]]:
    """The most likely link type of every candidate pair of a raw chunk, with its probability."""
    cs, spans, pairs, probs = chunk[:4]
    return [_best_class(pr, text, Entity(0, spans[t][2], cs + spans[t][0], cs + spans[t][1], ""))
            for (_, t, *_), pr in zip(pairs, probs)]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in EDGE:
        s += 1
    while e > s and text[e - 1] in EDGE:
        e -= 1
    return s, e


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class Predictor:
    def __init__(self, runtime: Runtime, vocab: CharVocab, max_chars: int = 510, batch_chars: int = 8192,
                 version: str = "dev", thresholds: dict[str, float] | None = None):
        self.runtime = runtime
        self.vocab = vocab
        self.max_chars = max_chars
        self.batch_chars = batch_chars
        self.version = version
        self.thresholds = dict(thresholds or {})

    @classmethod
    def from_net(cls, net: Any, vocab: CharVocab, **kw: Any) -> "Predictor":
        """A predictor over a live torch ExtractorNet (used while training)."""
        return cls(TorchRuntime(net.eval()), vocab, **kw)

    @classmethod
    def from_pretrained(cls, path: str | Path, runtime: str = "auto", threads: int = 0, quantize: bool = False,
                        **kw: Any) -> "Predictor":
        """runtime: `onnx`, `torch`, or `auto` (ONNX when the bundle has an export); quantize: int8
        dynamic quantisation of the torch runtime's linear layers (the ONNX export is int8 already)."""
        import json

        meta = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        vocab = CharVocab.load(Path(path) / "encoder")
        kw.setdefault("max_chars", meta.get("max_chars", 510))
        kw.setdefault("version", meta.get("version", Path(path).name))
        kw.setdefault("thresholds", meta.get("thresholds"))
        return cls(open_runtime(path, runtime, threads=threads, quantize=quantize), vocab, **kw)

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
    def predict_texts(self, texts: list[str]) -> list[tuple[list[Entity], list[Relation], list[dict]]]:
        return [self.assemble(t, raw) for t, raw in zip(texts, self.raw_outputs(texts))]

    def raw_outputs(self, texts: list[str]) -> list[list[tuple[int, list, list, np.ndarray]]]:
        """Per text, per chunk: (chunk start, spans, candidate pairs, relation class probabilities). A chunk
        may carry a fifth item, its pairs' `link_classes` decided beforehand (threshold tuning does)."""
        chunks = [(i, s, e) for i, t in enumerate(texts) for s, e in chunk_bounds(t, self.max_chars)]
        spans_per_chunk: dict[int, list[tuple[int, int, str]]] = {}
        rel_probs: dict[int, tuple[list, np.ndarray]] = {}
        width = [e - s + 2 for _, s, e in chunks]  # with [CLS] and [SEP]
        order = sorted(range(len(chunks)), key=width.__getitem__)
        k = 0
        while k < len(order):  # groups of similar length, at most batch_chars padded positions each
            group = [order[k]]
            k += 1
            while k < len(order) and (len(group) + 1) * width[order[k]] <= self.batch_chars:
                group.append(order[k])
                k += 1
            self._run_group(texts, chunks, group, width[group[-1]], spans_per_chunk, rel_probs)
        out: list[list] = [[] for _ in texts]
        for c, (ti, cs, _) in enumerate(chunks):
            pairs, probs = rel_probs.get(c, ([], np.zeros((0, len(REL_CLASSES)))))
            out[ti].append((cs, spans_per_chunk[c], pairs, probs))
        return out

    def assemble(self, text: str, raw: list, thresholds: dict[str, float] | None = None
                 ) -> tuple[list[Entity], list[Relation], list[dict]]:
        """Entities, decoded relations and normalised values of one text from its raw outputs."""
        ents: list[Entity] = []
        rels: list[Relation] = []
        for chunk in raw:
            cs, spans, pairs = chunk[:3]
            links = chunk[4] if len(chunk) > 4 else link_classes(text, chunk)
            base = len(ents)
            for s, e, label in spans:
                ents.append(Entity(id=len(ents) + 1, label=label, start=cs + s, end=cs + e, text=text[cs + s:cs + e]))
            rels.extend(self._decode_relations(ents, base, pairs, links, start_id=len(rels) + 1,
                                               thresholds=self.thresholds if thresholds is None else thresholds))
        problems = self._normalise(text, ents, rels)
        return ents, rels, problems

    def _run_group(self, texts, chunks, group, width, spans_out, rel_out) -> None:
        ids = np.full((len(group), width), self.vocab.pad, dtype=np.int64)
        mask = np.zeros((len(group), width), dtype=np.int64)
        for row, c in enumerate(group):
            ti, cs, ce = chunks[c]
            enc = [self.vocab.cls] + self.vocab.encode(texts[ti][cs:ce]) + [self.vocab.sep]
            ids[row, : len(enc)] = enc
            mask[row, : len(enc)] = 1
        hidden, logits = self.runtime.encode(ids, mask)
        logp = _log_softmax(logits)
        paths = viterbi_batch(logp[:, 1:], [chunks[c][2] - chunks[c][1] for c in group])
        ent_rows, pair_rows, owners = [], [], []
        for row, c in enumerate(group):
            ti, cs, ce = chunks[c]
            piece = texts[ti][cs:ce]
            spans = []
            for s, e, label in tags_to_spans(paths[row]):
                s, e = _trim(piece, s, e)
                if s < e:
                    spans.append((s, e, label))
            spans_out[c] = spans
            offset = len(ent_rows)
            ent_rows.extend([row, s + 1, e, LABEL_INDEX[l]] for s, e, l in spans)
            pairs = make_pairs(spans, piece)
            pair_rows.extend([h + offset, t + offset, *features] for h, t, *features in pairs)
            owners.append((c, pairs, len(pair_rows) - len(pairs)))
        if not pair_rows:
            return
        rel_logits = self.runtime.relation_logits(hidden, np.array(ent_rows, dtype=np.int64),
                                                  np.array(pair_rows, dtype=np.int64))
        masks = np.stack([CLASS_MASK_ROWS[LABELS[ent_rows[p[1]][3]]] for p in pair_rows])
        probs = _softmax(np.where(masks, rel_logits, -1e4))
        for c, pairs, first in owners:
            rel_out[c] = (pairs, probs[first : first + len(pairs)])

    @staticmethod
    def _decode_relations(ents: list[Entity], base: int, pairs: list, links: list[tuple[str, float]], start_id: int,
                          thresholds: dict[str, float]) -> list[Relation]:
        """Guideline constraints: one item and one part_of parent per quantity, extra links only
        when confident, and a PERCENT is either a change of something or a quantity of its own.
        A link is made when its type's probability reaches that type's threshold, a second link of
        the same type when it reaches the `type+` threshold (both tuned on dev)."""
        best: dict[tuple[int, str], list[tuple[float, int]]] = {}
        for (h, t, *_), (rtype, p) in zip(pairs, links):
            if p < thresholds.get(rtype, DEFAULT_THRESHOLD):
                continue
            best.setdefault((base + h, rtype), []).append((p, base + t))
        chosen: list[tuple[int, int, str, float]] = []
        for (h, rtype), cands in best.items():
            cands.sort(reverse=True)
            extra = thresholds.get(f"{rtype}+", EXTRA_THRESHOLD)
            keep = cands[:1] if rtype in SINGLE else [c for i, c in enumerate(cands) if i == 0 or c[0] >= extra]
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
                direction = stated_direction(text, e.start)
                if direction:
                    e.norm["change"] = direction
        return problems


def tune_thresholds(predictor: Predictor, records: list[dict[str, Any]],
                    grid: tuple[float, ...] = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6),
                    extra_grid: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)) -> dict[str, Any]:
    """Per relation type, the decision threshold that maximises relation micro F1 on `records` (dev),
    and for the types that may link more than once the threshold of a second link (`agent+` …):
    coordinate ascent over them, two passes; the network runs once."""
    from pipeline.scorer import score

    floor = min(min(grid), min(extra_grid), DEFAULT_THRESHOLD)
    raws = []  # link types decided once; pairs that no threshold of the grid can keep are dropped
    for r, raw in zip(records, predictor.raw_outputs([r["text"] for r in records])):
        chunks = []
        for chunk in raw:
            kept = [(pair, link) for pair, link in zip(chunk[2], link_classes(r["text"], chunk)) if link[1] >= floor]
            chunks.append((chunk[0], chunk[1], [k[0] for k in kept], None, [k[1] for k in kept]))
        raws.append(chunks)

    def f1(th: dict[str, float]) -> float:
        preds = []
        for r, raw in zip(records, raws):
            ents, rels, _ = predictor.assemble(r["text"], raw, th)
            preds.append(Passage(str(r["id"]), r["text"], ents, rels).to_record())
        return score(records, preds).report()["relations"]["micro"]["f1"]

    th = {t: DEFAULT_THRESHOLD for t in REL_CLASSES[1:]}
    th.update({f"{t}+": EXTRA_THRESHOLD for t in REL_CLASSES[1:] if t not in SINGLE})
    start = best = f1(th)
    for _ in range(2):
        for t in list(th):
            for v in (extra_grid if t.endswith("+") else grid):
                trial = {**th, t: v}
                got = f1(trial)
                if got > best:
                    best, th = got, trial
    return {"thresholds": th, "dev_relation_f1_before": round(start, 4), "dev_relation_f1_after": round(best, 4)}
