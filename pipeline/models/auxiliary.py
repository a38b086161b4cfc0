"""Auxiliary ORG/GPE/DATE supervision mapped from ../shared/data (see the model card for what was used)."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Callable, Iterator

from pipeline.registry import Registry

Sentence = tuple[str, list[tuple[int, int, str]], list[str]]  # text, spans, labels the set annotates
AUX_SETS: Registry[Callable[[Path], Iterator[Sentence]]] = Registry("auxiliary set")


def _bio_sentences(path: Path, mapping: dict[str, str], sep: str | None = None) -> Iterator[tuple[str, list]]:
    chars: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        parts = line.split(sep) if line.strip() else []
        if len(parts) >= 2:
            chars.append(parts[0])
            tags.append(parts[-1])
            continue
        if chars:
            spans, start, cur = [], None, None
            for i, t in enumerate(tags + ["O"]):
                p, _, lab = t.partition("-")
                if p in ("B", "S", "O") or (p in ("I", "M", "E") and lab != cur):
                    if cur is not None and cur in mapping:
                        spans.append((start, i, mapping[cur]))
                    start, cur = (i, lab) if p in ("B", "S", "I", "M", "E") else (None, None)
                if p in ("S",) or (p == "E" and cur == lab):
                    if cur in mapping:
                        spans.append((start, i + 1, mapping[cur]))
                    start, cur = None, None
            yield "".join(chars), spans
        chars, tags = [], []


@AUX_SETS.register("msra")
def msra(root: Path) -> Iterator[Sentence]:
    for text, spans in _bio_sentences(root / "msra_ner" / "msra_train_bio", {"ORG": "ORG", "LOC": "GPE"}, "\t"):
        yield text, spans, ["ORG", "GPE"]


@AUX_SETS.register("cluener")
def cluener(root: Path) -> Iterator[Sentence]:
    mapping = {"government": "ORG", "organization": "ORG", "company": "ORG", "address": "GPE"}
    for line in (root / "cluener2020" / "train.json").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        spans = [(s, e + 1, mapping[k]) for k, names in rec.get("label", {}).items() if k in mapping
                 for pos in names.values() for s, e in pos]
        yield rec["text"], sorted(spans), ["ORG", "GPE"]


_PD_TOKEN = re.compile(r"(\[)?([^\s/\[\]]+)/([a-zA-Z]+)(\]([a-z]+))?")


@AUX_SETS.register("pd1998")
def pd1998(root: Path) -> Iterator[Sentence]:
    """People's Daily 1998-01: nt → ORG, ns → GPE, t → DATE (bracketed compounds as one span)."""
    mapping = {"nt": "ORG", "ns": "GPE", "t": "DATE"}
    for line in (root / "peoples_daily_1998_01" / "199801.utf8.txt").read_text(encoding="utf-8").splitlines():
        tokens = line.split()[1:]
        text, spans, comp_start = "", [], None
        for tok in tokens:
            m = _PD_TOKEN.fullmatch(tok)
            if not m:
                continue
            opened, word, pos, closed, comp_pos = m.groups()
            if opened:
                comp_start = len(text)
            start = len(text)
            text += word
            if closed and comp_start is not None:
                if comp_pos in mapping:
                    spans = [s for s in spans if s[0] < comp_start] + [(comp_start, len(text), mapping[comp_pos])]
                comp_start = None
            elif comp_start is None and pos in mapping:
                if spans and spans[-1][1] == start and spans[-1][2] == mapping[pos] == "DATE":
                    spans[-1] = (spans[-1][0], len(text), "DATE")  # 一九九八年/t 一月/t → one DATE
                else:
                    spans.append((start, len(text), mapping[pos]))
        if len(text) >= 8:
            yield text, spans, ["ORG", "GPE", "DATE"]


def sample_aux(root: Path, names: list[str], per_set: int, seed: int, max_chars: int) -> list[Sentence]:
    rng = random.Random(seed)
    out: list[Sentence] = []
    for name in names:
        pool = [s for s in AUX_SETS.get(name)(root) if 8 <= len(s[0]) <= max_chars and s[1]]
        out.extend(rng.sample(pool, min(per_set, len(pool))))
    return out
