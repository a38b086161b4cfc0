"""The typed records that flow between stages: documents → passages → entities/relations → facts."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

QUANTITY_LABELS = ("COUNT", "MONEY", "MEASURE", "PERCENT")
ARGUMENT_LABELS = ("ORG", "GPE", "DATE", "ITEM")
LABELS = ("ORG", "GPE", "DATE", "COUNT", "MONEY", "MEASURE", "PERCENT", "ITEM")
RELATION_TYPES = ("item", "agent", "place", "time", "increase", "decrease", "part_of")
# which argument label each relation type may point to
RELATION_TARGETS = {
    "item": ("ITEM",),
    "agent": ("ORG",),
    "place": ("GPE",),
    "time": ("DATE",),
    "increase": ("PERCENT",),
    "decrease": ("PERCENT",),
    "part_of": QUANTITY_LABELS,
}


@dataclass
class Paragraph:
    """A paragraph of a document; `text` may differ from raw[start:end] where page breaks were mended."""

    text: str
    start: int
    end: int
    offsets: list[int] = field(default_factory=list)  # offsets[i] = raw index of text[i]
    section: str | None = None

    def raw_offset(self, i: int) -> int:
        if not self.offsets:
            return self.start + i
        return self.offsets[i] if i < len(self.offsets) else self.end


@dataclass
class Section:
    heading: str | None
    paragraphs: list[Paragraph] = field(default_factory=list)


@dataclass
class Document:
    path: str
    raw: str
    sha256: str
    title: str | None = None
    issue: int | None = None
    total_issue: int | None = None
    special_issue: str | None = None
    special_issue_number: int | None = None
    issuer: str | None = None
    date: str | None = None
    headline: str | None = None
    subheadline: str | None = None
    region: str | None = None
    period: str | None = None
    sections: list[Section] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)  # 抄报
    distribution: list[str] = field(default_factory=list)  # 分送
    print_date: str | None = None

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for s in self.sections for p in s.paragraphs]

    def to_dict(self, with_raw: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_raw:
            d.pop("raw")
        for s in d["sections"]:
            for p in s["paragraphs"]:
                p.pop("offsets", None)
        return d


@dataclass
class Entity:
    id: int
    label: str
    start: int
    end: int
    text: str
    norm: dict[str, Any] | None = None
    score: float | None = None

    @property
    def is_quantity(self) -> bool:
        return self.label in QUANTITY_LABELS


@dataclass
class Relation:
    id: int
    head: int  # entity id of the quantity
    tail: int  # entity id of the argument
    type: str
    score: float | None = None


@dataclass
class Passage:
    """One record of the annotation contract: a paragraph's text with its annotations and meta."""

    id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> "Passage":
        text = rec["text"]
        ents = [
            Entity(
                id=e["id"],
                label=e["label"],
                start=e["start_offset"],
                end=e["end_offset"],
                text=text[e["start_offset"] : e["end_offset"]],
                norm=e.get("norm"),
                score=e.get("score"),
            )
            for e in rec.get("entities", [])
        ]
        rels = [
            Relation(id=r["id"], head=r["from_id"], tail=r["to_id"], type=r["type"], score=r.get("score"))
            for r in rec.get("relations", [])
        ]
        return cls(id=str(rec["id"]), text=text, entities=ents, relations=rels,
                   meta=dict(rec.get("meta") or {}), error=rec.get("error"))

    def to_record(self) -> dict[str, Any]:
        ents = []
        for e in self.entities:
            d: dict[str, Any] = {"id": e.id, "label": e.label, "start_offset": e.start, "end_offset": e.end}
            if e.norm is not None:
                d["norm"] = e.norm
            if e.score is not None:
                d["score"] = round(e.score, 4)
            ents.append(d)
        rels = []
        for r in self.relations:
            d = {"id": r.id, "from_id": r.head, "to_id": r.tail, "type": r.type}
            if r.score is not None:
                d["score"] = round(r.score, 4)
            rels.append(d)
        rec: dict[str, Any] = {"id": self.id, "text": self.text, "entities": ents, "relations": rels, "meta": self.meta}
        if self.error:
            rec["error"] = self.error
        return rec


@dataclass
class Fact:
    value: float | None
    unit: str | None
    label: str
    surface: str
    approx: str | None = None
    max: float | None = None
    item: str | None = None
    agent: str | None = None
    agent_canonical: str | None = None
    place: str | None = None
    place_resolved: str | None = None
    time_text: str | None = None
    time_start: str | None = None
    time_end: str | None = None
    change: float | None = None
    parent_surface: str | None = None
    parent_start: int | None = None
    document: str | None = None
    paragraph: int | None = None
    start: int | None = None  # offsets into the raw document (or passage text when no document)
    end: int | None = None
    model_version: str | None = None
    # added by the knowledge store (pipeline.facts): how each argument was resolved
    score: float | None = None  # the quantity entity's score from the extractor
    agent_kind: str | None = None  # party | government | department | company | media
    agent_region: str | None = None
    agent_generic: bool = False  # named by function (消防部门), qualified by the bulletin's region
    place_level: str | None = None  # country | province | city | county | area
    place_parent: str | None = None
    time_source: str | None = None  # text | period | date
    change_unit: str | None = None  # % or 个百分点
