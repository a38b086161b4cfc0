"""An Extractor that returns gold annotations instead of predictions (until the trained model exists, and for
tests that must not depend on it).

The gold records (annotations/batches/seed.jsonl: the seed bulletin annotated as one record over its whole raw
text) are mapped into each passage by character positions: through the passage's raw offsets when it comes from
the annotated file itself, else by finding the passage's text (whitespace ignored) inside a gold record, which
also serves bulletins recombined from the seed's paragraphs. Entities wholly inside the passage are kept, with
the relations between them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from pipeline.types import Entity, Passage, Relation

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "annotations" / "batches" / "seed.jsonl"
_WS = re.compile(r"\s")


class _Gold:
    def __init__(self, rec: dict[str, Any]):
        self.text: str = rec["text"]
        self.entities: list[dict[str, Any]] = rec.get("entities", [])
        self.relations: list[dict[str, Any]] = rec.get("relations", [])
        keep = [i for i, c in enumerate(self.text) if not _WS.match(c)]
        self.compact = "".join(self.text[i] for i in keep)
        self.compact_pos = keep  # compact index → text index


class GoldExtractor:
    """Extractor protocol: `version` and `extract(passages)`."""

    def __init__(self, path: str | Path = SEED, version: str = "gold-seed", fail_on: str | None = None):
        self.version = version
        self.fail_on = fail_on  # tests: a passage containing this text raises
        self.gold = [_Gold(json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines()
                     if line.strip()]

    def extract(self, passages: Iterable[Passage]) -> Iterator[Passage]:
        for p in passages:
            if self.fail_on and self.fail_on in p.text:
                raise RuntimeError(f"injected failure in {p.id}")
            yield self.annotate(p)

    # ------------------------------------------------------------------------------------------------

    def _positions(self, p: Passage, g: _Gold) -> list[int | None] | None:
        """gold-text index of each passage character (None for characters with no counterpart)."""
        t = p.text
        offsets = p.meta.get("raw_offsets")
        if offsets is None and "raw_start" in p.meta:
            offsets = list(range(p.meta["raw_start"], p.meta["raw_start"] + len(t)))
        if offsets and len(offsets) == len(t) and max(offsets) < len(g.text) and all(
                g.text[o] == c for o, c in zip(offsets, t) if not c.isspace()):
            return list(offsets)
        k = g.text.find(t)
        if k >= 0:
            return list(range(k, k + len(t)))
        keep = [i for i, c in enumerate(t) if not _WS.match(c)]
        compact = "".join(t[i] for i in keep)
        k = g.compact.find(compact) if compact else -1
        if k < 0:
            return None
        pos: list[int | None] = [None] * len(t)
        for j, i in enumerate(keep):
            pos[i] = g.compact_pos[k + j]
        return pos

    def annotate(self, p: Passage) -> Passage:
        out = Passage(id=p.id, text=p.text, meta=dict(p.meta))
        for g in self.gold:
            pos = self._positions(p, g)
            if pos is None:
                continue
            start_at = {gi: i for i, gi in enumerate(pos) if gi is not None}
            kept: dict[int, Entity] = {}
            for e in g.entities:
                s, t = start_at.get(e["start_offset"]), start_at.get(e["end_offset"] - 1)
                if s is None or t is None or t < s:
                    continue
                kept[e["id"]] = Entity(id=e["id"], label=e["label"], start=s, end=t + 1, text=p.text[s:t + 1],
                                       norm=e.get("norm"))
            out.entities = sorted(kept.values(), key=lambda e: e.start)
            out.relations = [Relation(id=r["id"], head=r["from_id"], tail=r["to_id"], type=r["type"])
                             for r in g.relations if r["from_id"] in kept and r["to_id"] in kept]
            break
        return out
