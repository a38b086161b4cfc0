"""Inline markup for writing annotations by hand, converted to doccano records by code.

A markup record (one JSON object per line)::

    {"id": "gz-2021-117-p03",
     "markup": "[1-11月|DATE:d1]，[全市|GPE:g1]共发生[安全生产事故|ITEM:i1][99起|COUNT:q1]",
     "rels": "q1 item i1; q1 place g1; q1 time d1",
     "norm": {"q1": "99 起"},
     "meta": {"source": "https://…", "doc_date": "2021-12-30", "region": "赣州市"}}

``[span|LABEL]`` or ``[span|LABEL:key]`` marks an entity; keys name entities in ``rels``.
A norm string is ``VALUE UNIT [more_than|about] [max=N] [increase|decrease]``; a dict in
the contract's shape is accepted too. Offsets are always computed here, never by hand.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPAN = re.compile(r"\[([^\[\]|]+)\|([A-Z]+)(?::([A-Za-z0-9_]+))?\]")
APPROX = {"more_than", "about"}
CHANGE = {"increase", "decrease"}
NO_UNIT = "-"  # the unit of a bare count (完成 227) in the text form "VALUE UNIT [flags]"


class MarkupError(ValueError):
    pass


def parse_norm(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    parts = str(value).split()
    if len(parts) < 2:
        raise MarkupError(f"norm {value!r} needs at least VALUE and UNIT (- for a bare count)")
    num = float(parts[0])
    unit = "" if parts[1] == NO_UNIT else parts[1]
    norm: dict[str, Any] = {"value": int(num) if num.is_integer() else num, "unit": unit}
    for flag in parts[2:]:
        if flag in APPROX:
            norm["approx"] = flag
        elif flag in CHANGE:
            norm["change"] = flag
        elif flag.startswith("max="):
            m = float(flag[4:])
            norm["max"] = int(m) if m.is_integer() else m
        else:
            raise MarkupError(f"unknown norm flag {flag!r} in {value!r}")
    return norm


def parse_rels(value: Any) -> list[tuple[str, str, str]]:
    if isinstance(value, list):
        return [tuple(r) for r in value]  # type: ignore[misc]
    triples = []
    for chunk in re.split(r"[;；\n]", value or ""):
        chunk = chunk.strip()
        if not chunk:
            continue
        parts = chunk.split()
        if len(parts) != 3:
            raise MarkupError(f"relation {chunk!r} is not 'FROM TYPE TO'")
        triples.append((parts[0], parts[1], parts[2]))
    return triples


def to_record(m: dict[str, Any]) -> dict[str, Any]:
    markup = m["markup"]
    text_parts: list[str] = []
    entities: list[dict[str, Any]] = []
    keys: dict[str, int] = {}
    pos = 0
    out_len = 0
    for match in SPAN.finditer(markup):
        plain = markup[pos : match.start()]
        text_parts.append(plain)
        out_len += len(plain)
        span, label, key = match.groups()
        eid = len(entities) + 1
        entities.append({"id": eid, "label": label, "start_offset": out_len, "end_offset": out_len + len(span)})
        text_parts.append(span)
        out_len += len(span)
        if key:
            if key in keys:
                raise MarkupError(f"{m['id']}: key {key} used twice")
            keys[key] = eid
        pos = match.end()
    text_parts.append(markup[pos:])
    text = "".join(text_parts)
    if "[" in text and "|" in text:
        leftover = re.search(r"\[[^\]]*\|[^\]]*\]?", text)
        if leftover:
            raise MarkupError(f"{m['id']}: malformed span near {leftover.group(0)[:30]!r}")
    for key, norm in (m.get("norm") or {}).items():
        if key not in keys:
            raise MarkupError(f"{m['id']}: norm for unknown key {key}")
        entities[keys[key] - 1]["norm"] = parse_norm(norm)
    relations = []
    for head, rtype, tail in parse_rels(m.get("rels")):
        for k in (head, tail):
            if k not in keys:
                raise MarkupError(f"{m['id']}: relation names unknown key {k}")
        relations.append({"id": len(relations) + 1, "from_id": keys[head], "to_id": keys[tail], "type": rtype})
    return {"id": m["id"], "text": text, "entities": entities, "relations": relations, "meta": m.get("meta", {})}


def convert_file(src: Path, dst: Path) -> int:
    records = []
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(to_record(json.loads(line)))
        except (json.JSONDecodeError, KeyError, MarkupError) as exc:
            raise MarkupError(f"{src}:{n}: {exc}") from exc
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(records)


def main(argv: list[str]) -> int:
    """python -m pipeline.markup SRC DST: convert, then validate DST against ANNOTATION.md."""
    from pipeline.annotations import read_jsonl, validate_file

    src, dst = Path(argv[0]), Path(argv[1])
    try:
        n = convert_file(src, dst)
    except MarkupError as exc:
        print(f"error: {exc}")
        return 1
    problems = validate_file(dst)
    for p in problems:
        print(p)
    recs = list(read_jsonl(dst))
    ents = sum(len(r["entities"]) for r in recs)
    rels = sum(len(r["relations"]) for r in recs)
    print(f"{n} records, {ents} entities, {rels} relations, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
