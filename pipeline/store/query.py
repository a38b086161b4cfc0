"""Reading facts back: filtered listings and totals (region × item or organisation × item, per year or month)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, exists, extract, func, literal, or_, select
from sqlalchemy.orm import aliased

from pipeline import regions as gazetteer
from pipeline.store import models as m

F, D, O, OA, R = (m.Fact.__table__, m.Document.__table__, m.Organisation.__table__,
                  m.OrganisationAlias.__table__, m.Region.__table__)

COLUMNS = ("id", "document", "paragraph", "start", "end", "label", "surface", "value", "max", "unit", "approx",
           "item", "agent", "organisation", "org_kind", "place", "region", "time_text", "time_start", "time_end",
           "change", "change_unit", "parent_id", "parent", "model_version")


@dataclass
class FactFilter:
    region: str | None = None  # the place or any region above it: 江西省 finds 赣州市's facts
    org: str | None = None  # part of the canonical name or of an alias: 消防 finds 赣州市消防部门 and …支队
    item: str | None = None  # part of the item text
    since: date | None = None  # facts whose time overlaps [since, until]
    until: date | None = None
    unit: str | None = None
    document: str | None = None  # part of the source path, or a sha256 prefix
    model_version: str | None = None

    def where(self, r1, r2, r3) -> list[Any]:  # type: ignore[no-untyped-def]
        conds: list[Any] = []
        if self.region:
            known = gazetteer.lookup(self.region)
            name = known.name if known is not None else self.region.strip()
            conds.append(or_(r1.c.name == name, r2.c.name == name, r3.c.name == name))
        if self.org:
            conds.append(or_(O.c.name.contains(self.org, autoescape=True), F.c.agent.contains(self.org, autoescape=True),
                             exists().where(and_(OA.c.organisation_id == F.c.organisation_id,
                                                 OA.c.alias.contains(self.org, autoescape=True)))))
        if self.item:
            conds.append(F.c.item.contains(self.item, autoescape=True))
        if self.unit:
            conds.append(F.c.unit == self.unit)
        if self.since:
            conds.append(func.coalesce(F.c.time_end, F.c.time_start) >= self.since)
        if self.until:
            conds.append(func.coalesce(F.c.time_start, F.c.time_end) <= self.until)
        if self.document:
            conds.append(or_(D.c.source_path.contains(self.document, autoescape=True),
                             D.c.sha256.startswith(self.document.lower(), autoescape=True)))
        if self.model_version:
            conds.append(F.c.model_version == self.model_version)
        return conds


def _joined(cols: list[Any], flt: FactFilter) -> Select:
    r1, r2, r3 = aliased(R, name="r1"), aliased(R, name="r2"), aliased(R, name="r3")
    q = (select(*cols).select_from(F)
         .join(D, D.c.id == F.c.document_id)
         .outerjoin(O, O.c.id == F.c.organisation_id)
         .outerjoin(r1, r1.c.id == F.c.region_id)
         .outerjoin(r2, r2.c.id == r1.c.parent_id)
         .outerjoin(r3, r3.c.id == r2.c.parent_id))
    conds = flt.where(r1, r2, r3)
    return q.where(and_(*conds)) if conds else q


def facts_select(flt: FactFilter, limit: int | None = None) -> Select:
    P = aliased(F, name="pf")
    cols = [F.c.id, D.c.source_path.label("document"), F.c.paragraph_id.label("paragraph"), F.c.start, F.c.end,
            F.c.label, F.c.surface, F.c.value, F.c.max_value.label("max"), F.c.unit, F.c.approx, F.c.item, F.c.agent,
            O.c.name.label("organisation"), O.c.kind.label("org_kind"), F.c.place, F.c.place_resolved.label("region"),
            F.c.time_text, F.c.time_start, F.c.time_end, F.c.change, F.c.change_unit, F.c.parent_id,
            select(P.c.surface).where(P.c.id == F.c.parent_id).scalar_subquery().label("parent"), F.c.model_version]
    q = _joined(cols, flt).order_by(D.c.source_path, F.c.start)
    return q.limit(limit) if limit else q


def summary_select(flt: FactFilter, by: str = "region", per: str = "year") -> Select:
    """Totals: count and sum of values per (region or organisation, item, unit, year[, month])."""
    when = func.coalesce(F.c.time_end, F.c.time_start)
    key = O.c.name if by == "org" else F.c.place_resolved
    year = extract("year", when)
    cols = [key.label(by), F.c.item, F.c.unit, year.label("year")]
    groups = [key, F.c.item, F.c.unit, year]
    if per == "month":
        month = extract("month", when)
        cols.append(month.label("month"))
        groups.append(month)
    else:
        cols.append(literal(None).label("month"))
    cols += [func.count(F.c.id).label("facts"), func.sum(F.c.value).label("total"),
             func.sum(case((F.c.approx.is_not(None), 1), else_=0)).label("approx")]
    q = _joined(cols, flt)
    if by == "org":
        q = q.where(F.c.organisation_id.is_not(None))
    return q.group_by(*groups).order_by(key, F.c.item, F.c.unit, year)
