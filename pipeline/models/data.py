"""Records → model examples: chunks of ≤ max_chars characters, tags, entities, relation pairs."""
from __future__ import annotations

from typing import Any, Iterable

from pipeline.models.schema import (BETWEEN_BUCKETS, GAP_BUCKETS, RANK_BUCKETS, REL_CLASSES, TARGET_CLASSES, UNIT_BUCKETS,
                                    dist_bucket)
from pipeline.models.tagging import TAG_INDEX, spans_to_tags
from pipeline.models.vocab import CharVocab
from pipeline.types import LABELS, QUANTITY_LABELS

LABEL_INDEX = {l: i for i, l in enumerate(LABELS)}
BREAKS = set("。；！？;!?\n")
SOFT_BREAKS = set("，、,：:")
PARTIAL = -1  # a position outside every span of an auxiliary set: any tag its labels leave free


def chunk_bounds(text: str, max_chars: int, spans: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Cut text into pieces of ≤ max_chars, preferring sentence ends, never inside a span."""
    inside = set()
    for s, e in spans:
        inside.update(range(s + 1, e))  # a cut at position p (between p-1 and p) is illegal here
    bounds, start, n = [], 0, len(text)
    while start < n:
        if n - start <= max_chars:
            bounds.append((start, n))
            break
        limit = start + max_chars
        cut = None
        for charset in (BREAKS, SOFT_BREAKS):
            for p in range(limit, start + max_chars // 3, -1):
                if text[p - 1] in charset and p not in inside:
                    cut = p
                    break
            if cut:
                break
        if cut is None:
            cut = next((p for p in range(limit, start, -1) if p not in inside), limit)
        bounds.append((start, cut))
        start = cut
    return bounds


def breaks_of(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch in BREAKS]


PART_CUES = ("其中", "含", "包括")


def _unit(text: str, s: int, e: int) -> str:
    return text[e - 1] if e > s else ""


def make_pairs(ents: list[tuple[int, int, str]], text: str) -> list[tuple[int, ...]]:
    """All (quantity, argument) candidates with features:
    (head, tail, dist bucket, rank, sentence gap, unit relation, part cue, counts between).

    unit relation, for quantity → quantity: 1 + rank among the candidates with the same unit on that
    side (capped), or UNIT_BUCKETS - 1 for another unit; 0 for other arguments. part cue: 1 when
    其中/含/包括 stands between an earlier tail and the head (the usual shape of part_of). counts
    between: the non-PERCENT quantities strictly between the two (capped) — with the rank, what pairs
    the figures of "99起、104人，分别下降24.4%和7.1%" with their changes."""
    import bisect

    breaks = breaks_of(text)
    counts = sorted(s for s, _, label in ents if label in QUANTITY_LABELS and label != "PERCENT")
    pairs = []
    for h, (hs, he, hl) in enumerate(ents):
        if hl not in QUANTITY_LABELS:
            continue
        unit = _unit(text, hs, he)
        by_label: dict[str, list[tuple[int, int]]] = {}
        for t, (ts, te, tl) in enumerate(ents):
            if t != h and tl in TARGET_CLASSES:
                by_label.setdefault(tl, []).append((t, ts))
        for tl, cands in by_label.items():
            left = sorted((c for c in cands if c[1] < hs), key=lambda c: hs - c[1])
            right = sorted((c for c in cands if c[1] >= hs), key=lambda c: c[1] - hs)
            for side in (left, right):
                same = 0
                for rank, (t, ts) in enumerate(side):
                    lo, hi = sorted((hs, ts))
                    gap = bisect.bisect_left(breaks, hi) - bisect.bisect_left(breaks, lo)
                    ulink = 0
                    if tl in QUANTITY_LABELS:
                        if _unit(text, ts, ents[t][1]) == unit:
                            ulink = 1 + min(same, UNIT_BUCKETS - 3)
                            same += 1
                        else:
                            ulink = UNIT_BUCKETS - 1
                    cue = int(ts < hs and any(c in text[ents[t][1]:hs] for c in PART_CUES))
                    between = bisect.bisect_left(counts, hi) - bisect.bisect_right(counts, lo)
                    pairs.append((h, t, dist_bucket(ts - hs), min(rank, RANK_BUCKETS - 1), min(gap, GAP_BUCKETS - 1),
                                  ulink, cue, min(between, BETWEEN_BUCKETS - 1)))
    return pairs


def record_examples(rec: dict[str, Any], vocab: CharVocab, max_chars: int) -> list[dict[str, Any]]:
    """One example per chunk of a gold record (relations crossing chunks are dropped)."""
    text = rec["text"]
    ents = sorted(rec.get("entities", []), key=lambda e: e["start_offset"])
    out = []
    for cs, ce in chunk_bounds(text, max_chars, [(e["start_offset"], e["end_offset"]) for e in ents]):
        local = [e for e in ents if cs <= e["start_offset"] and e["end_offset"] <= ce]
        idx = {e["id"]: i for i, e in enumerate(local)}
        spans = [(e["start_offset"] - cs, e["end_offset"] - cs, e["label"]) for e in local]
        rels = {(idx[r["from_id"]], idx[r["to_id"]]): REL_CLASSES.index(r["type"])
                for r in rec.get("relations", []) if r["from_id"] in idx and r["to_id"] in idx}
        piece = text[cs:ce]
        pairs = make_pairs(spans, piece)
        out.append({
            "id": f"{rec['id']}@{cs}",
            "input_ids": [vocab.cls] + vocab.encode(piece) + [vocab.sep],
            "tags": spans_to_tags(len(piece), spans),
            "known": list(LABELS),
            "ents": [[s, e - 1, LABEL_INDEX[l]] for s, e, l in spans],
            "pairs": [list(p) for p in pairs],
            "pair_labels": [rels.get((h, t), 0) for h, t, *_ in pairs],
        })
    return out


def aux_example(ex_id: str, text: str, spans: list[tuple[int, int, str]], known: list[str],
                vocab: CharVocab) -> dict[str, Any]:
    """An auxiliary sentence: exact tags inside its spans, PARTIAL elsewhere (loss masked)."""
    tags = [PARTIAL] * len(text)
    for s, e, label in spans:
        for i, t in enumerate(spans_to_tags(e - s, [(0, e - s, label)])):
            tags[s + i] = t
    return {"id": ex_id, "input_ids": [vocab.cls] + vocab.encode(text) + [vocab.sep], "tags": tags,
            "known": known, "ents": [], "pairs": [], "pair_labels": []}


assert TAG_INDEX["O"] == 0
