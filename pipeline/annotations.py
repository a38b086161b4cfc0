"""Reading, writing and validating annotation records (doccano relation JSONL, ANNOTATION.md)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Iterator

from pipeline.types import LABELS, QUANTITY_LABELS, RELATION_TARGETS

SEPARATORS = set("，。、；：！？,.;:!?") | {" ", "\t", "\n", "\r", "\u3000", "\xa0"}
NORM_FIELDS = {"value", "unit", "approx", "max", "change"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_PERIOD = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")
SPLITS = ("train", "dev", "test")
# a quantity span starts at its number or at an attached approximator (ANNOTATION.md, Boundaries)
_NUMERALS = set("0123456789０１２３４５６７８９〇零一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟半数几")
_APPROXIMATORS = ("近", "约", "超", "逾", "大约", "将近", "接近", "上")
_LEADING_WORDS = ("共", "累计", "达", "合计", "分别", "总计", "第")


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    message: str
    warning: bool = False  # reported, but does not make a file invalid

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {'warning: ' if self.warning else ''}{self.message}"


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
            errs.extend(f"{where}: {m}" for m in _check_quantity_span(span))
            errs.extend(f"{where}: {m}" for m in _check_norm(e.get("norm"), label, require_norm))
        elif e.get("norm") is not None:
            errs.append(f"{where}: norm on a non-quantity")
    spans = sorted((e["start_offset"], e["end_offset"], e["id"]) for e in ents
                   if isinstance(e.get("start_offset"), int) and isinstance(e.get("end_offset"), int))
    for (s1, t1, i1), (s2, t2, i2) in zip(spans, spans[1:]):
        if s2 < t1:
            errs.append(f"entities {i1} and {i2} overlap")
    errs.extend(_check_relations(rec.get("relations") or [], by_id))
    rels = rec.get("relations") or []
    rids = [r.get("id") for r in rels]
    errs.extend(f"relation id {i} used twice" for i in sorted({i for i in rids if rids.count(i) > 1}, key=str))
    errs.extend(_check_part_of_cycles(rels))
    if rec.get("id") in (None, ""):
        errs.append("record id missing")
    if rec.get("error"):
        errs.append(f"record carries an error field ({str(rec['error'])[:60]})")
    meta = rec.get("meta") or {}
    if not isinstance(meta, dict):
        return errs + ["meta is not an object"]
    if not meta.get("source"):
        errs.append("meta.source missing")
    if meta.get("doc_date") and not _valid_iso(str(meta["doc_date"])):
        errs.append(f"meta.doc_date {meta['doc_date']!r} is not an ISO date")
    if meta.get("period"):
        m = ISO_PERIOD.match(str(meta["period"]))
        if not m or not (_valid_iso(m.group(1)) and _valid_iso(m.group(2))):
            errs.append(f"meta.period {meta['period']!r} is not START/END in ISO dates")
        elif m.group(1) > m.group(2):
            errs.append(f"meta.period {meta['period']!r} ends before it starts")
    return errs


def _valid_iso(s: str) -> bool:
    if not ISO_DATE.match(s):
        return False
    try:
        date.fromisoformat(s)
    except ValueError:
        return False
    return True


def _check_quantity_span(span: str) -> list[str]:
    if not any(c in _NUMERALS for c in span):
        return ["a quantity span has no number"]
    if span[0] in _NUMERALS or span.startswith(_APPROXIMATORS):
        return []
    lead = next((w for w in _LEADING_WORDS if span.startswith(w)), None)
    if lead:
        return [f"leading word {lead!r} must stay outside the quantity span"]
    return ["a quantity span starts at its number or at an approximator (近、约、超、逾)"]


def _check_part_of_cycles(rels: list[dict[str, Any]]) -> list[str]:
    parent: dict[Any, set[Any]] = {}
    for r in rels:
        if r.get("type") == "part_of":
            parent.setdefault(r.get("from_id"), set()).add(r.get("to_id"))
    errs = []
    for start in parent:
        seen, stack = set(), list(parent[start])
        while stack:
            n = stack.pop()
            if n == start:
                errs.append(f"part_of relations form a cycle through entity {start}")
                break
            if n not in seen:
                seen.add(n)
                stack.extend(parent.get(n, ()))
    return errs


def _check_norm(norm: Any, label: str, required: bool) -> list[str]:
    if norm is None:
        return ["norm missing"] if required else []
    if not isinstance(norm, dict):
        return ["norm is not an object"]
    errs = [f"unknown norm field {k}" for k in norm if k not in NORM_FIELDS]
    if not isinstance(norm.get("value"), (int, float)) or isinstance(norm.get("value"), bool):
        errs.append("norm.value is not a number")
    if not isinstance(norm.get("unit"), str) or (not norm["unit"] and label != "COUNT"):
        errs.append("norm.unit missing")  # only a bare COUNT (完成 227) has an empty unit
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


# ---------------------------------------------------------------------------------------------
# the annotations/ tree: batches (the corpus), markup (its hand-written source), splits.json

SPLITS_FILE = "splits.json"
SPLIT_SEED = 20211230
SPLIT_RATIOS = {"train": 0.70, "dev": 0.15, "test": 0.15}
# sources placed by decision, not by the RNG: the seed bulletin is in test, so that evaluation sees
# one real, whole bulletin exactly as the system will (annotations/README.md, Splits)
PINNED_PREFIXES = {"seed:": "test"}
AGREEMENT_DIR = "agreement"  # the double annotation: markup, records, and score reports (JSON)


def annotations_root(root: Path | str | None = None) -> Path:
    """The annotations/ directory: ``root`` itself, or root/annotations when root is the project."""
    if root is None:
        from pipeline.config import get_settings

        s = get_settings()
        return s.resolve(s.paths.annotations)
    root = Path(root)
    if not (root / "batches").is_dir() and (root / "annotations" / "batches").is_dir():
        return root / "annotations"
    return root


def batch_files(root: Path | str | None = None) -> list[Path]:
    return sorted((annotations_root(root) / "batches").glob("*.jsonl"))


def markup_files(root: Path | str | None = None) -> list[Path]:
    return sorted((annotations_root(root) / "markup").glob("*.jsonl"))


def load_corpus(root: Path | str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Every record of annotations/batches/*.jsonl with the file it came from, in file order."""
    return [(f, rec) for f in batch_files(root) for rec in read_jsonl(f)]


def validate_markup_file(path: Path, require_norm: bool = True) -> list[Problem]:
    """Convert each markup line to a record (in memory) and validate it."""
    from pipeline.markup import MarkupError, to_record

    problems: list[Problem] = []
    ids: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            m = json.loads(line)
            rec = to_record(m)
        except (json.JSONDecodeError, KeyError, TypeError, MarkupError) as exc:
            problems.append(Problem(str(path), f"line {n}", f"markup: {exc}"))
            continue
        rid = str(rec.get("id"))
        if rid in ids:
            problems.append(Problem(str(path), rid, "id used twice"))
        ids.add(rid)
        problems.extend(Problem(str(path), rid, msg) for msg in validate_record(rec, require_norm))
    return problems


def _converted(markup_path: Path) -> list[dict[str, Any]] | None:
    from pipeline.markup import MarkupError, to_record

    try:
        return [to_record(json.loads(line)) for line in markup_path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    except (json.JSONDecodeError, KeyError, TypeError, MarkupError):
        return None  # reported by validate_markup_file


def _read_or_none(path: Path) -> list[dict[str, Any]] | None:
    try:
        return list(read_jsonl(path))
    except ValueError:
        return None


def check_tree(root: Path | str | None = None) -> list[Problem]:
    """Rules across files: record ids unique over the corpus, each batch equal to its markup's conversion,
    every corpus source assigned to a split (a warning: run `jianbao annotations split`)."""
    root = annotations_root(root)
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    sources: set[str] = set()
    for f in batch_files(root):
        try:
            recs = list(read_jsonl(f))
        except ValueError:
            continue  # reported by validate_file
        for rec in recs:
            rid = str(rec.get("id"))
            if rid in seen and seen[rid] != f:
                problems.append(Problem(str(f), rid, f"id also used in {seen[rid].name}"))
            seen.setdefault(rid, f)
            src = (rec.get("meta") or {}).get("source")
            if src:
                sources.add(src)
        mk = root / "markup" / f.name
        if mk.exists():
            conv = _converted(mk)
            if conv is not None and conv != recs:
                problems.append(Problem(str(f), "-", f"differs from the conversion of markup/{mk.name} "
                                        f"(run: python -m pipeline.markup {mk} {f})"))
    for mk in markup_files(root):
        if not (root / "batches" / mk.name).exists():
            problems.append(Problem(str(mk), "-", f"not converted: batches/{mk.name} is missing"))
    sp = root / SPLITS_FILE
    if sp.exists():
        try:
            assigned = read_splits(root)["sources"]
        except (ValueError, KeyError) as exc:
            problems.append(Problem(str(sp), "-", str(exc)))
        else:
            missing = sorted(sources - set(assigned))
            if missing:
                problems.append(Problem(str(sp), "-", f"{len(missing)} sources have no split "
                                        "(run: jianbao annotations split)", warning=True))
    elif sources:
        problems.append(Problem(str(sp), "-", "no splits.json (run: jianbao annotations split)", warning=True))
    return problems


def validate_paths(paths: Iterable[Path | str] | None = None, root: Path | str | None = None,
                   require_norm: bool = True) -> list[Problem]:
    """Validate files (or directories) by kind; with no paths, everything under annotations/ plus the
    cross-file rules of check_tree. Warnings have ``warning=True``."""
    root = annotations_root(root)
    problems: list[Problem] = []
    if paths is None or not list(paths):
        targets = sorted(p for p in root.rglob("*") if p.is_file())
        whole_tree = True
    else:
        targets = []
        for p in map(Path, paths):
            targets.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
        whole_tree = False
    for p in targets:
        if not p.exists():
            problems.append(Problem(str(p), "-", "no such file"))
        elif p.suffix == ".jsonl" and ("markup" in p.parts or p.name.endswith(".markup.jsonl")):
            batch = root / "batches" / p.name
            if whole_tree and batch.exists() and _converted(p) == _read_or_none(batch):
                continue  # the same records are validated as the batch
            problems.extend(validate_markup_file(p, require_norm))
        elif p.suffix == ".jsonl":
            problems.extend(validate_file(p, require_norm))
        elif p.name == SPLITS_FILE:
            try:
                read_splits(p.parent)
            except (ValueError, KeyError) as exc:
                problems.append(Problem(str(p), "-", str(exc)))
        elif p.suffix == ".xml":
            from pipeline.labelstudio import check_label_config

            problems.extend(Problem(str(p), "-", m) for m in check_label_config(p))
        elif p.suffix == ".json" and AGREEMENT_DIR not in p.relative_to(root).parts[:1]:
            from pipeline.labelstudio import LabelStudioError, read_tasks, task_to_record

            try:
                for i, task in enumerate(read_tasks(p)):
                    rec = task_to_record(task)
                    problems.extend(Problem(str(p), str(rec.get("id", i)), m)
                                    for m in validate_record(rec, require_norm))
            except (ValueError, LabelStudioError) as exc:
                problems.append(Problem(str(p), "-", str(exc)))
    if whole_tree:
        problems.extend(check_tree(root))
    return problems


# ---------------------------------------------------------------------------------------------
# splits: by source document, stable


def read_splits(root: Path | str | None = None) -> dict[str, Any]:
    """annotations/splits.json as {"seed", "ratios", "pinned", "sources": {source: split}}; empty if absent."""
    path = annotations_root(root) / SPLITS_FILE
    if not path.exists():
        return {"seed": SPLIT_SEED, "ratios": dict(SPLIT_RATIOS), "pinned": dict(PINNED_PREFIXES), "sources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ValueError(f"{path}: needs an object with a 'sources' mapping")
    bad = {s: v for s, v in data["sources"].items() if v not in SPLITS}
    if bad:
        raise ValueError(f"{path}: unknown split for {len(bad)} sources, e.g. {next(iter(bad.items()))}")
    data.setdefault("seed", SPLIT_SEED)
    data.setdefault("ratios", dict(SPLIT_RATIOS))
    data.setdefault("pinned", dict(PINNED_PREFIXES))
    return data


def assign_splits(sources: Iterable[str], existing: dict[str, str] | None = None, seed: int = SPLIT_SEED,
                  ratios: dict[str, float] | None = None,
                  pinned: dict[str, str] | None = None) -> dict[str, str]:
    """Source → split. Existing assignments are kept; pinned prefixes go where they are pinned; the
    remaining new sources are shuffled with a seeded RNG and each goes to the split furthest below its
    ratio (counted over the sources given), so the ratios hold as the corpus grows."""
    import random

    ratios = ratios or SPLIT_RATIOS
    pinned = PINNED_PREFIXES if pinned is None else pinned
    present = sorted(set(sources))
    out = dict(existing or {})
    for src in present:
        if src not in out:
            for prefix, split in pinned.items():
                if src.startswith(prefix):
                    out[src] = split
    counts = {s: 0 for s in SPLITS}
    for src in present:
        if src in out:
            counts[out[src]] += 1
    new = [s for s in present if s not in out]
    random.Random(seed).shuffle(new)
    for src in new:
        n = sum(counts.values()) + 1
        split = max(SPLITS, key=lambda s: (ratios.get(s, 0) * n - counts[s], -SPLITS.index(s)))
        out[src] = split
        counts[split] += 1
    return out


def update_splits(root: Path | str | None = None, write: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Assign every corpus source not yet in splits.json; returns (the new splits data, new sources)."""
    root = annotations_root(root)
    data = read_splits(root)
    sources = {(rec.get("meta") or {}).get("source") for _, rec in load_corpus(root)} - {None, ""}
    old = dict(data["sources"])
    data["sources"] = dict(sorted(assign_splits(sources, old, int(data["seed"]), data["ratios"],
                                                data["pinned"]).items()))
    new = sorted(set(data["sources"]) - set(old))
    if write:
        out = {"about": "source document -> split; kept stable, new sources assigned by "
                        "`jianbao annotations split` (see annotations/README.md)",
               "seed": data["seed"], "ratios": data["ratios"], "pinned": data["pinned"], "sources": data["sources"]}
        path = root / SPLITS_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
    return data, new


def load_split(root: Path | str | None, split: str) -> list[dict[str, Any]]:
    """The records of annotations/batches/*.jsonl whose source splits.json assigns to ``split``.

    Records whose source has no assignment yet are left out of every split (with a warning) rather than
    defaulted to train: a new source may become a test source when `split` runs.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    root = annotations_root(root)
    assigned = read_splits(root)["sources"]
    out, unassigned = [], set()
    for _, rec in load_corpus(root):
        src = (rec.get("meta") or {}).get("source")
        if src not in assigned:
            unassigned.add(src)
        elif assigned[src] == split:
            out.append(rec)
    if unassigned:
        import warnings

        warnings.warn(f"{len(unassigned)} annotated sources have no split and are left out; "
                      "run `jianbao annotations split`", stacklevel=2)
    return out


# ---------------------------------------------------------------------------------------------
# statistics


def _province(meta: dict[str, Any]) -> str:
    if meta.get("province"):
        return str(meta["province"])
    try:
        from pipeline.regions import province_of
    except ImportError:  # pragma: no cover - the gazetteer is optional here
        return "unknown"
    return province_of(meta.get("region")) or "unknown"


def _count(recs: list[dict[str, Any]]) -> dict[str, Any]:
    from collections import Counter

    labels: Counter[str] = Counter()
    rtypes: Counter[str] = Counter()
    for r in recs:
        labels.update(e.get("label") for e in r.get("entities") or [])
        rtypes.update(x.get("type") for x in r.get("relations") or [])
    return {
        "passages": len(recs),
        "sources": len({(r.get("meta") or {}).get("source") for r in recs}),
        "characters": sum(len(r.get("text") or "") for r in recs),
        "entities": sum(labels.values()),
        "relations": sum(rtypes.values()),
        "labels": {k: labels.get(k, 0) for k in LABELS},
        "relation_types": {k: rtypes.get(k, 0) for k in RELATION_TARGETS},
    }


def corpus_stats(root: Path | str | None = None) -> dict[str, Any]:
    """Passages, sources, provinces, years, entities per label, relations per type, overall and per split."""
    from collections import Counter

    root = annotations_root(root)
    recs = [rec for _, rec in load_corpus(root)]
    assigned = read_splits(root)["sources"]
    stats = _count(recs)
    metas = [r.get("meta") or {} for r in recs]
    by_source: dict[str, dict[str, Any]] = {}
    for m in metas:
        by_source.setdefault(m.get("source"), m)
    stats["provinces"] = dict(Counter(_province(m) for m in by_source.values()).most_common())
    stats["years"] = dict(sorted(Counter(str(m.get("doc_date") or "unknown")[:4]
                                         for m in by_source.values()).items()))
    stats["doc_types"] = dict(Counter(str(m.get("doc_type") or "unknown") for m in by_source.values()).most_common())
    q = [e for r in recs for e in r.get("entities") or [] if e.get("label") in QUANTITY_LABELS]
    stats["quantities_with_norm"] = sum(1 for e in q if e.get("norm") is not None)
    stats["quantities"] = len(q)
    stats["files"] = len(batch_files(root))
    splits = {s: _count([r for r, m in zip(recs, metas) if assigned.get(m.get("source")) == s]) for s in SPLITS}
    un = [r for r, m in zip(recs, metas) if m.get("source") not in assigned]
    if un:
        splits["unassigned"] = _count(un)
    stats["splits"] = splits
    return stats


# ---------------------------------------------------------------------------------------------
# the normalisation check: every norm recomputed from its span


@dataclass
class NormCheck:
    quantities: int = 0
    checked: int = 0  # quantities with a gold norm
    agree: int = 0
    differ: list[dict[str, Any]] = None  # type: ignore[assignment]
    failed: list[dict[str, Any]] = None  # type: ignore[assignment]  # the normaliser refused
    missing: int = 0  # quantities without a gold norm

    def __post_init__(self) -> None:
        self.differ = self.differ or []
        self.failed = self.failed or []

    def to_dict(self) -> dict[str, Any]:
        return {"quantities": self.quantities, "checked": self.checked, "agree": self.agree,
                "differ": len(self.differ), "failed": len(self.failed), "missing": self.missing,
                "differences": self.differ, "failures": self.failed}


def _same_norm(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def num_eq(x: Any, y: Any) -> bool:
        if x is None or y is None:
            return x is y
        return isinstance(x, (int, float)) and isinstance(y, (int, float)) and abs(x - y) <= 1e-9 * max(1, abs(x))

    return (num_eq(a.get("value"), b.get("value")) and a.get("unit") == b.get("unit")
            and a.get("approx") == b.get("approx") and num_eq(a.get("max"), b.get("max")))


def check_norms(records: Iterable[tuple[Path | str, dict[str, Any]]]) -> NormCheck:
    """Recompute each quantity's norm with pipeline.normalise from its span (and the 左右 after it) and
    compare value, unit, approx and max (norm.change comes from the context, not the span)."""
    from pipeline.normalise import NormaliseError, normalise_quantity

    res = NormCheck()
    for f, rec in records:
        text = rec.get("text") or ""
        for e in rec.get("entities") or []:
            if e.get("label") not in QUANTITY_LABELS:
                continue
            res.quantities += 1
            gold = e.get("norm")
            if gold is None:
                res.missing += 1
                continue
            res.checked += 1
            s, t = e.get("start_offset"), e.get("end_offset")
            span = text[s:t]
            where = {"file": Path(f).name, "record": str(rec.get("id")), "entity": e.get("id"),
                     "label": e.get("label"), "span": span, "gold": gold}
            try:
                got = normalise_quantity(span, e["label"], after=text[t:t + 4])
            except NormaliseError as exc:
                res.failed.append({**where, "reason": exc.reason})
                continue
            if _same_norm(gold, got):
                res.agree += 1
            else:
                res.differ.append({**where, "normalised": got})
    return res
