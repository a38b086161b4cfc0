"""Reading, writing and validating annotation records (doccano relation JSONL, ANNOTATION.md)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from pipeline.types import LABELS, QUANTITY_LABELS, RELATION_TARGETS

SEPARATORS = set("，。、；：！？,.;:!?") | {" ", "\t", "\n", "\r", "\u3000", "\xa0"}
NORM_FIELDS = {"value", "unit", "approx", "max", "change"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.message}"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*.jsonl") if "markup" not in p.parts)


def validate_record(rec: dict[str, Any], require_norm: bool = True) -> list[str]:
    """Every mechanically checkable rule of ANNOTATION.md; returns the problems found."""
    errs: list[str] = []
    text = rec.get("text")
    if not isinstance(text, str) or not text:
        return ["text missing or empty"]
    ents = rec.get("entities") or []
    by_id: dict[Any, dict[str, Any]] = {}
    for e in ents:
        eid = e.get("id")
        if eid in by_id:
            errs.append(f"entity id {eid} used twice")
        by_id[eid] = e
        label, s, t = e.get("label"), e.get("start_offset"), e.get("end_offset")
        where = f"entity {eid} {label}"
        if label not in LABELS:
            errs.append(f"{where}: unknown label")
        if not (isinstance(s, int) and isinstance(t, int) and 0 <= s < t <= len(text)):
            errs.append(f"{where}: bad offsets {s}-{t}")
            continue
        span = text[s:t]
        where += f" {span!r}"
        if span[0] in SEPARATORS or span[-1] in SEPARATORS:
            errs.append(f"{where}: starts or ends on whitespace/separator")
        if label in QUANTITY_LABELS:
            errs.extend(f"{where}: {m}" for m in _check_norm(e.get("norm"), label, require_norm))
        elif e.get("norm") is not None:
            errs.append(f"{where}: norm on a non-quantity")
    spans = sorted((e["start_offset"], e["end_offset"], e["id"]) for e in ents
                   if isinstance(e.get("start_offset"), int) and isinstance(e.get("end_offset"), int))
    for (s1, t1, i1), (s2, t2, i2) in zip(spans, spans[1:]):
        if s2 < t1:
            errs.append(f"entities {i1} and {i2} overlap")
    errs.extend(_check_relations(rec.get("relations") or [], by_id))
    meta = rec.get("meta") or {}
    if not meta.get("source"):
        errs.append("meta.source missing")
    if meta.get("doc_date") and not ISO_DATE.match(str(meta["doc_date"])):
        errs.append(f"meta.doc_date {meta['doc_date']!r} is not an ISO date")
    return errs


def _check_norm(norm: Any, label: str, required: bool) -> list[str]:
    if norm is None:
        return ["norm missing"] if required else []
    if not isinstance(norm, dict):
        return ["norm is not an object"]
    errs = [f"unknown norm field {k}" for k in norm if k not in NORM_FIELDS]
    if not isinstance(norm.get("value"), (int, float)):
        errs.append("norm.value is not a number")
    if not norm.get("unit"):
        errs.append("norm.unit missing")
    if norm.get("approx") not in (None, "more_than", "about"):
        errs.append(f"norm.approx {norm['approx']!r}")
    if "max" in norm and not (isinstance(norm["max"], (int, float)) and isinstance(norm.get("value"), (int, float))
                              and norm["max"] >= norm["value"]):
        errs.append("norm.max must be a number ≥ value")
    if "change" in norm and (label != "PERCENT" or norm["change"] not in ("increase", "decrease")):
        errs.append("norm.change only on a PERCENT, increase or decrease")
    if label == "MONEY" and norm.get("unit") != "元":
        errs.append("MONEY unit must be 元")
    return errs


def _check_relations(rels: list[dict[str, Any]], by_id: dict[Any, dict[str, Any]]) -> list[str]:
    errs: list[str] = []
    seen = set()
    items_per_head: dict[Any, int] = {}
    item_targets = set()
    change_targets = set()
    heads_with_item = set()
    for r in rels:
        h, t, typ = r.get("from_id"), r.get("to_id"), r.get("type")
        where = f"relation {r.get('id')} {typ} {h}->{t}"
        if typ not in RELATION_TARGETS:
            errs.append(f"{where}: unknown type")
            continue
        if h not in by_id or t not in by_id:
            errs.append(f"{where}: names a missing entity")
            continue
        if h == t:
            errs.append(f"{where}: links an entity to itself")
        if by_id[h]["label"] not in QUANTITY_LABELS:
            errs.append(f"{where}: must start at a quantity, not {by_id[h]['label']}")
        if by_id[t]["label"] not in RELATION_TARGETS[typ]:
            errs.append(f"{where}: {typ} cannot point to {by_id[t]['label']}")
        if (h, t) in seen:
            errs.append(f"{where}: the pair is linked twice")
        seen.add((h, t))
        if typ == "item":
            items_per_head[h] = items_per_head.get(h, 0) + 1
            item_targets.add(t)
            heads_with_item.add(h)
        if typ in ("increase", "decrease"):
            change_targets.add(t)
    errs.extend(f"quantity {h} has {n} items" for h, n in items_per_head.items() if n > 1)
    errs.extend(f"ITEM {eid} {by_id[eid].get('label')} is linked by no quantity"
                for eid, e in by_id.items() if e.get("label") == "ITEM" and eid not in item_targets)
    errs.extend(f"PERCENT {t} is a change and has an item of its own" for t in change_targets & heads_with_item)
    for t in change_targets:
        if (by_id[t].get("norm") or {}).get("change"):
            errs.append(f"PERCENT {t} is linked as a change and also carries norm.change")
    return errs


def validate_file(path: Path, require_norm: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    ids = set()
    try:
        for rec in read_jsonl(path):
            rid = str(rec.get("id"))
            if rid in ids:
                problems.append(Problem(str(path), rid, "id used twice"))
            ids.add(rid)
            problems.extend(Problem(str(path), rid, m) for m in validate_record(rec, require_norm))
    except ValueError as exc:
        problems.append(Problem(str(path), "-", str(exc)))
    return problems
