"""The one scorer every component shares: strict entity P/R/F1 per label, relation P/R/F1 per type,
normalisation accuracy and fact-level F1 (ANNOTATION.md §5), over records in the contract's format."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from pipeline.types import LABELS, QUANTITY_LABELS, RELATION_TYPES

NORM_KEYS = ("value", "unit", "approx", "max", "change")


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def p(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def r(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.p * self.r / (self.p + self.r) if self.p + self.r else 0.0

    def add(self, gold: set, pred: set) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def as_dict(self) -> dict[str, float | int]:
        return {"p": round(self.p, 4), "r": round(self.r, 4), "f1": round(self.f1, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "support": self.tp + self.fn}


@dataclass
class Scores:
    labels: dict[str, PRF] = field(default_factory=lambda: {l: PRF() for l in LABELS})
    relations: dict[str, PRF] = field(default_factory=lambda: {t: PRF() for t in RELATION_TYPES})
    quantities: PRF = field(default_factory=PRF)
    facts: PRF = field(default_factory=PRF)
    norm_total: int = 0
    norm_correct: int = 0
    records: int = 0

    def report(self) -> dict[str, Any]:
        micro = _sum(self.labels.values())
        rel_micro = _sum(self.relations.values())
        return {
            "records": self.records,
            "entities": {"micro": micro.as_dict(), "per_label": {k: v.as_dict() for k, v in self.labels.items()}},
            "quantities": self.quantities.as_dict(),
            "relations": {"micro": rel_micro.as_dict(), "per_type": {k: v.as_dict() for k, v in self.relations.items()}},
            "norm_accuracy": round(self.norm_correct / self.norm_total, 4) if self.norm_total else 0.0,
            "norm_total": self.norm_total,
            "facts": self.facts.as_dict(),
        }


def _sum(prfs: Iterable[PRF]) -> PRF:
    total = PRF()
    for p in prfs:
        total.tp += p.tp
        total.fp += p.fp
        total.fn += p.fn
    return total


def _norm_key(norm: dict[str, Any] | None) -> tuple:
    norm = norm or {}
    return tuple(float(norm[k]) if k in ("value", "max") and norm.get(k) is not None else norm.get(k)
                 for k in NORM_KEYS)


def _squash(s: str | None) -> str:
    return "".join((s or "").split())


def fact_keys(rec: dict[str, Any]) -> list[tuple]:
    """One key per quantity: span, value and the resolved item/agent/place/time texts (§5)."""
    text = rec["text"]
    meta = rec.get("meta") or {}
    ents = {e["id"]: e for e in rec.get("entities", [])}
    args: dict[Any, dict[str, str]] = {}
    for r in rec.get("relations", []):
        if r["from_id"] in ents and r["to_id"] in ents and r["type"] in ("item", "agent", "place", "time"):
            t = ents[r["to_id"]]
            args.setdefault(r["from_id"], {}).setdefault(r["type"], text[t["start_offset"]:t["end_offset"]])
    keys = []
    for eid, e in ents.items():
        if e["label"] not in QUANTITY_LABELS:
            continue
        a = args.get(eid, {})
        value = (e.get("norm") or {}).get("value")
        keys.append((e["start_offset"], e["end_offset"], float(value) if value is not None else None,
                     _squash(a.get("item")), _squash(a.get("agent")),
                     _squash(a.get("place") or meta.get("region")),
                     _squash(a.get("time") or meta.get("period") or meta.get("doc_date"))))
    return keys


def _match_facts(gold: list[tuple], pred: list[tuple]) -> tuple[int, int, int]:
    """Facts match when spans overlap and everything else is equal; each used once."""
    used = set()
    tp = 0
    for g in gold:
        for i, p in enumerate(pred):
            if i not in used and p[0] < g[1] and g[0] < p[1] and p[2:] == g[2:]:
                used.add(i)
                tp += 1
                break
    return tp, len(pred) - tp, len(gold) - tp


def score(gold_records: Iterable[dict[str, Any]], pred_records: Iterable[dict[str, Any]]) -> Scores:
    """Records are matched by id; a gold record with no prediction counts as all missed."""
    preds = {str(r["id"]): r for r in pred_records}
    s = Scores()
    for g in gold_records:
        s.records += 1
        p = preds.get(str(g["id"]), {"entities": [], "relations": [], "text": g["text"], "meta": g.get("meta")})
        g_ents = {e["id"]: e for e in g.get("entities", [])}
        p_ents = {e["id"]: e for e in p.get("entities", [])}
        for label, prf in s.labels.items():
            prf.add({(e["start_offset"], e["end_offset"]) for e in g_ents.values() if e["label"] == label},
                    {(e["start_offset"], e["end_offset"]) for e in p_ents.values() if e["label"] == label})
        s.quantities.add({(e["start_offset"], e["end_offset"], e["label"]) for e in g_ents.values() if e["label"] in QUANTITY_LABELS},
                         {(e["start_offset"], e["end_offset"], e["label"]) for e in p_ents.values() if e["label"] in QUANTITY_LABELS})
        for rtype, prf in s.relations.items():
            prf.add(_rel_set(g, g_ents, rtype), _rel_set(p, p_ents, rtype))
        pred_norms = {(e["start_offset"], e["end_offset"], e["label"]): e.get("norm") for e in p_ents.values()}
        for e in g_ents.values():
            if e["label"] in QUANTITY_LABELS and e.get("norm"):
                key = (e["start_offset"], e["end_offset"], e["label"])
                if key in pred_norms:
                    s.norm_total += 1
                    s.norm_correct += _norm_key(pred_norms[key]) == _norm_key(e["norm"])
        tp, fp, fn = _match_facts(fact_keys(g), fact_keys(p))
        s.facts.tp += tp
        s.facts.fp += fp
        s.facts.fn += fn
    return s


def _rel_set(rec: dict[str, Any], ents: dict[Any, dict[str, Any]], rtype: str) -> set:
    out = set()
    for r in rec.get("relations", []):
        if r["type"] == rtype and r["from_id"] in ents and r["to_id"] in ents:
            h, t = ents[r["from_id"]], ents[r["to_id"]]
            out.add((h["start_offset"], h["end_offset"], t["start_offset"], t["end_offset"]))
    return out


def render(report: dict[str, Any], title: str = "scores") -> "Any":
    """A rich Table of a report (import rich lazily)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("", "P", "R", "F1", "support"):
        table.add_column(col, justify="right" if col else "left")
    def row(name: str, d: dict[str, Any]) -> None:
        table.add_row(name, f"{d['p']:.3f}", f"{d['r']:.3f}", f"{d['f1']:.3f}", str(d["support"]))
    for label, d in report["entities"]["per_label"].items():
        row(label, d)
    row("entities (micro)", report["entities"]["micro"])
    row("quantity spans", report["quantities"])
    for rtype, d in report["relations"]["per_type"].items():
        row(f"rel:{rtype}", d)
    row("relations (micro)", report["relations"]["micro"])
    row("facts", report["facts"])
    table.add_row("norm accuracy", "", "", f"{report['norm_accuracy']:.3f}", str(report["norm_total"]))
    return table
