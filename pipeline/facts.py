"""Facts from an extracted passage (ANNOTATION.md §5): one per quantity, with its arguments resolved
against the bulletin it comes from.

    ctx = Context.from_document(doc)                  # or Context.from_meta(passage.meta)
    facts = assemble_facts(passage, ctx, paragraph=doc.paragraphs[i], paragraph_index=i,
                           document=doc.path, model_version=extractor.version)

Resolution: no linked place → the bulletin's region; no linked time → its period, else its date;
全市/本市 → its city, 全省/本省 → that city's province, 全区/该县/辖区 → the bulletin's region
when it is a 区/县, 市委/市政府/市安委办 → 赣州市委 …; 该局/该区 … → the nearest earlier 局/区 named,
当地 → the nearest earlier place named (else the bulletin's region);
DATE text → ISO time_start/time_end (pipeline.normalise.normalise_date). Organisations get a canonical
record (`OrgRef`: name, kind, region) so that 消防部门 in a 赣州市 bulletin (赣州市消防部门, generic) and
赣州市消防救援支队 are two records, both found under 赣州市 and under "消防".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from pipeline import regions
from pipeline.types import QUANTITY_LABELS, Document, Entity, Fact, Paragraph, Passage

CHANGE_TYPES = {"increase": 1.0, "decrease": -1.0}

# ---------------------------------------------------------------------------------------------- text


_WS = re.compile(r"\s+")


def compact(text: str | None) -> str | None:
    """A span's text with whitespace removed, except a single space between two ASCII letters/digits
    (工业\\n\\n园区 → 工业园区, 2021 年 → 2021年, LED lamp → LED lamp)."""
    if text is None:
        return None

    def sub(m: re.Match[str]) -> str:
        s, e = m.start(), m.end()
        before = text[s - 1] if s > 0 else ""
        after = text[e] if e < len(text) else ""
        return " " if before.isascii() and before.isalnum() and after.isascii() and after.isalnum() else ""

    return _WS.sub(sub, text).strip()


# ------------------------------------------------------------------------------------------- context


@dataclass
class Context:
    """What a bulletin says about itself, against which relative mentions are resolved."""

    region: str | None = None  # canonical name of the region the bulletin is about
    city: str | None = None
    province: str | None = None
    doc_date: str | None = None  # ISO date
    period_start: str | None = None
    period_end: str | None = None

    @classmethod
    def make(cls, region: str | None, doc_date: str | None, period: str | None,
             province: str | None = None) -> "Context":
        r = regions.lookup(region)
        name = r.name if r is not None else (compact(region) or None)
        city = regions.city_of(name)
        p = regions.lookup(province)  # meta.province, for a region the gazetteer does not know (a county)
        prov = (r.province if r is not None else None) or (p.name if p is not None else province)
        ps, pe = split_period(period)
        return cls(region=name, city=city, province=prov, doc_date=_iso(doc_date),
                   period_start=ps, period_end=pe)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "Context":
        return cls.make(meta.get("region"), meta.get("doc_date"), meta.get("period"), meta.get("province"))

    @classmethod
    def from_document(cls, doc: Document, meta: dict[str, Any] | None = None) -> "Context":
        meta = meta or {}
        return cls.make(doc.region or meta.get("region"), doc.date or meta.get("doc_date"),
                        doc.period or meta.get("period"), meta.get("province"))


def _iso(s: str | None) -> str | None:
    if not s:
        return None
    s = str(s).strip()
    try:
        return date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        return None


def split_period(period: str | None) -> tuple[str | None, str | None]:
    """"2021-01-01/2021-12-30" → ("2021-01-01", "2021-12-30"); one date → (d, d); anything else → (None, None)."""
    if not period:
        return None, None
    parts = [p.strip() for p in re.split(r"/|\.\.", str(period)) if p.strip()]
    if len(parts) == 1:
        d = _iso(parts[0])
        return d, d
    if len(parts) == 2:
        return _iso(parts[0]), _iso(parts[1])
    return None, None


# ------------------------------------------------------------------------------------------- places

_CITY_WIDE = ("全市", "本市", "市内", "全市范围", "市域", "全市各地")
_PROVINCE_WIDE = ("全省", "本省", "省内", "全省范围", "全省各地")
_COUNTRY_WIDE = ("全国", "我国", "全国各地")
_CITY_PARTS = ("中心城区", "主城区", "城区", "市区", "市本级", "市直")
_COLLECTIVE = ("各地", "各县（市、区）", "县（市、区）", "各县(市、区)", "县(市、区)", "各县区", "县区",
               "各乡镇", "各区县", "区县")
# 全区, 本县, 该镇, 辖区 …: the bulletin's own region when its name ends in the same level word
_DEICTIC = re.compile(r"^(?:全|本|该|辖)(市|省|区|县|镇|乡|旗|州|盟|街道|园区|开发区|新区|管委会)$")


@dataclass(frozen=True)
class Place:
    name: str  # the resolved region or area name
    level: str  # country | province | city | county | area
    parent: str | None  # the enclosing region's name where known


def region_place(name: str | None) -> Place | None:
    """A Place for a region name as the store records it (level and parent from the gazetteer)."""
    if not name:
        return None
    r = regions.classify(name)
    return Place(r.name, r.level, r.parent)


def resolve_place(text: str | None, ctx: Context) -> Place | None:
    """A GPE mention (or None: the bulletin's region) resolved against the bulletin."""
    if text is None:
        return region_place(ctx.region)
    t = compact(text) or ""
    if t in _CITY_WIDE:
        return region_place(ctx.city or ctx.region) or Place(t, "area", None)
    if t in _PROVINCE_WIDE:
        return region_place(ctx.province or ctx.region) or Place(t, "area", None)
    if t in _COUNTRY_WIDE:
        return region_place(regions.COUNTRY)
    if t in _CITY_PARTS:
        base = ctx.city or ctx.region
        return Place(base + t, "area", base) if base else Place(t, "area", None)
    if t in _COLLECTIVE:  # every sub-region of the bulletin's region: the figure is the region's
        return region_place(ctx.region) or Place(t, "area", None)
    if t == "当地":
        return region_place(ctx.region) or Place(t, "area", None)
    own = _DEICTIC.match(t)
    if own and ctx.region and (own.group(1) == "区" and t == "辖区" or ctx.region.endswith(own.group(1))):
        return region_place(ctx.region)
    # a gazetteer region (赣州, 湖北十堰市); a county or area named in a city bulletin lies, as far as the
    # text says, somewhere we do not know: no parent is guessed
    return region_place(t)


# -------------------------------------------------------------------------------------------- times


def resolve_time(text: str | None, ctx: Context) -> tuple[str | None, str | None, str | None]:
    """(time_start, time_end, source) for a DATE mention, or for none: the period, else the bulletin's date."""
    if text is None:
        if ctx.period_start or ctx.period_end:
            return ctx.period_start, ctx.period_end, "period"
        if ctx.doc_date:
            return ctx.doc_date, ctx.doc_date, "date"
        return None, None, None
    from pipeline.normalise import NormaliseError, normalise_date

    anchor = ctx.doc_date
    if ctx.period_end and ctx.doc_date and ctx.period_end[:4] != ctx.doc_date[:4]:
        anchor = ctx.period_end  # a January bulletin on last year, a late repost: 全年/今年 are the period's year
    try:
        start, end = normalise_date(text, anchor)
    except NormaliseError:
        return None, None, "text"
    return _iso(start), _iso(end), "text"


# ------------------------------------------------------------------------------------ organisations


@dataclass(frozen=True)
class OrgRef:
    name: str  # canonical name: 赣州市委, 赣州市消防部门, 应急管理部
    kind: str  # party | government | department | company | media | other
    region: str | None  # the region it belongs to (canonical name), 中国 for national bodies
    alias: str  # the surface form, whitespace removed: 市委, 消防部门
    generic: bool = False  # a function named generically (消防部门, 财政) and qualified by the bulletin's region


_NATIONAL = re.compile(r"^(国务院|中共中央|党中央|中央|全国|国家|中国|最高人民)")
# State Council bodies whose names carry no 国家/中国 (their offices too: 应急管理部办公厅); a bare 宣传部 or
# 组织部 is the bulletin region's
MINISTRIES = tuple("""外交部 国防部 教育部 科学技术部 工业和信息化部 公安部 民政部 司法部 财政部 人力资源和社会保障部
    自然资源部 生态环境部 住房和城乡建设部 交通运输部 水利部 农业农村部 商务部 文化和旅游部 退役军人事务部 应急管理部
    审计署 海关总署 工信部 人社部 住建部 交通部 农业部 国土资源部 环境保护部 安监总局""".split())
_MINISTRY = re.compile("^(?:" + "|".join(MINISTRIES) + ")(?:$|办公厅|[^门]*[司局室]$)")  # not 交通部门
_PARTY = re.compile(r"(省委|市委|县委|区委|州委|党委|党组|纪委|中共|中国共产党)")
_GOV = re.compile(r"(人民政府|政府|人大|政协)")
_COMPANY = re.compile(r"(公司|集团|有限|厂$|矿$|银行)")
_MEDIA = re.compile(r"(日报|晚报|报社|电视台|电台|广播|新闻|网$|报$)")
# a leading 市/省 that means "this city's / this province's" (市委, 市政府, 省直有关部门), not 市场, 省级 …
_LEADS = (("全市", re.compile(r"^全市"), "city"), ("本市", re.compile(r"^本市"), "city"),
          ("市", re.compile(r"^市(?!场|民|容|区|县|级|政(?!府))"), "city"),
          ("全省", re.compile(r"^全省"), "province"), ("本省", re.compile(r"^本省"), "province"),
          ("省", re.compile(r"^省(?!级|份|内|外)"), "province"))


def org_kind(name: str) -> str:
    if _COMPANY.search(name):
        return "company"
    if _MEDIA.search(name):
        return "media"
    if _PARTY.search(name) and "政府" not in name:
        return "party"
    if _GOV.search(name):
        return "government"
    return "department"


def resolve_org(text: str, ctx: Context) -> OrgRef:
    alias = compact(text) or text
    t = alias
    kind = org_kind(t)
    # 市委, 市政府, 市安委办, 市应急管理局 → that city's body; 省委 … → that province's
    for lead, pattern, level in _LEADS:
        if len(t) > len(lead) and pattern.match(t):
            base = ctx.city if level == "city" else ctx.province
            rest = t[len(lead):]
            if not base:  # 市委 in a bulletin whose city is unknown: keep it as written
                return OrgRef(t, kind, None, alias, generic=True)
            if len(lead) == 2:  # 全市各级应急部门 → 赣州市各级应急部门
                return OrgRef(base + rest, org_kind(rest), base, alias, generic=True)
            stem = base[:-1] if base.endswith(lead) else base
            return OrgRef(stem + lead + rest, kind, base, alias)
    r = regions.prefix(t)
    if r is not None:
        return OrgRef(t, kind, r.name, alias)
    short = _short_region_prefix(t)
    if short is not None:  # 赣州市 written 赣州: 赣州消防救援支队
        return OrgRef(t, kind, short.name, alias)
    if _NATIONAL.search(t) or _MINISTRY.match(t):
        return OrgRef(t, kind, regions.COUNTRY, alias)
    if kind in ("company", "media"):
        return OrgRef(t, kind, None, alias)
    if ctx.region:  # a body named by its function: it is the bulletin region's
        return OrgRef(ctx.region + t, kind, ctx.region, alias, generic=True)
    return OrgRef(t, kind, None, alias, generic=True)


def _short_region_prefix(t: str) -> regions.Region | None:
    for n in (4, 3, 2):
        if len(t) > n:
            r = regions.lookup(t[:n])
            if r is not None and r.level in ("province", "city") and r.short == t[:n]:
                return r
    return None


# ------------------------------------------------------------------------------------------ numbers


def quantity_norm(e: Entity) -> dict[str, Any]:
    """The entity's norm, from the extractor or else from pipeline.normalise ({} when it cannot be read)."""
    if e.norm and e.norm.get("value") is not None:
        return e.norm
    from pipeline.normalise import NormaliseError, normalise_quantity

    try:
        return normalise_quantity(e.text, e.label) or {}
    except NormaliseError:
        return {}


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- facts


class RawMap:
    """Maps passage text indices to raw document offsets: through the Paragraph when given, else through
    meta raw_offsets / raw_start (pipeline.structure.document_passages), else identity."""

    def __init__(self, passage: Passage, paragraph: Paragraph | None):
        self.paragraph = paragraph
        offsets = passage.meta.get("raw_offsets") if paragraph is None else None
        self.offsets: list[int] | None = list(offsets) if isinstance(offsets, list) and offsets else None
        self.base = int(passage.meta.get("raw_start") or 0) if paragraph is None else 0
        self.limit = len(passage.text)

    def start(self, i: int) -> int:
        if self.paragraph is not None:
            return self.paragraph.raw_offset(i)
        if self.offsets is not None:
            return self.offsets[i] if i < len(self.offsets) else self.offsets[-1] + 1
        return self.base + i

    def end(self, j: int) -> int:
        """The raw end (exclusive) of a span ending at passage index j (exclusive)."""
        if j <= 0:
            return self.start(0)
        return self.start(j - 1) + 1


def assemble_facts(passage: Passage, ctx: Context | None = None, *, paragraph: Paragraph | None = None,
                   paragraph_index: int | None = None, document: str | None = None,
                   model_version: str | None = None) -> list[Fact]:
    """One Fact per quantity of an extracted passage (PERCENTs that are another quantity's change are not facts)."""
    ctx = ctx or Context.from_meta(passage.meta)
    if paragraph_index is None and isinstance(passage.meta.get("paragraph"), int):
        paragraph_index = passage.meta["paragraph"]
    ents = {e.id: e for e in passage.entities}
    for e in ents.values():
        if not e.text:
            e.text = passage.text[e.start:e.end]
    args: dict[int, dict[str, list[Entity]]] = {}
    change_targets: set[int] = set()
    for r in passage.relations:
        head, tail = ents.get(r.head), ents.get(r.tail)
        if head is None or tail is None or not head.is_quantity:
            continue
        args.setdefault(head.id, {}).setdefault(r.type, []).append(tail)
        if r.type in CHANGE_TYPES:
            change_targets.add(tail.id)
    rmap = RawMap(passage, paragraph)
    facts: list[Fact] = []
    for e in sorted(ents.values(), key=lambda x: x.start):
        if e.label not in QUANTITY_LABELS or e.id in change_targets:
            continue
        a = args.get(e.id, {})
        norm = quantity_norm(e)
        fact = Fact(value=_num(norm.get("value")), unit=norm.get("unit"), label=e.label, surface=e.text,
                    approx=norm.get("approx"), max=_num(norm.get("max")), document=document,
                    paragraph=paragraph_index, start=rmap.start(e.start), end=rmap.end(e.end),
                    model_version=model_version, score=e.score)
        if a.get("item"):
            fact.item = compact(_nearest(e, a["item"]).text)
        if a.get("agent"):
            agent = _nearest(e, a["agent"])
            org = resolve_org(antecedent(agent, ents.values()).text, ctx)
            fact.agent, fact.agent_canonical = compact(agent.text), org.name
            fact.agent_kind, fact.agent_region, fact.agent_generic = org.kind, org.region, org.generic
        place_ent = _nearest(e, a["place"]) if a.get("place") else None
        fact.place = compact(place_ent.text) if place_ent else None
        place = resolve_place(compact(antecedent(place_ent, ents.values()).text) if place_ent else None, ctx)
        if place is not None:
            fact.place_resolved, fact.place_level, fact.place_parent = place.name, place.level, place.parent
        time_ent = _nearest(e, a["time"]) if a.get("time") else None
        fact.time_text = compact(time_ent.text) if time_ent else None
        fact.time_start, fact.time_end, fact.time_source = resolve_time(fact.time_text, ctx)
        for kind, sign in CHANGE_TYPES.items():
            if a.get(kind) and fact.change is None:
                pct = _nearest(e, a[kind])
                pnorm = quantity_norm(pct)
                v = _num(pnorm.get("value"))
                if v is not None:
                    fact.change, fact.change_unit = sign * v, pnorm.get("unit") or "%"
        if fact.change is None and e.label == "PERCENT" and norm.get("change") in CHANGE_TYPES:
            if fact.value is not None:  # a change stated without its base figure
                fact.change, fact.change_unit = CHANGE_TYPES[norm["change"]] * fact.value, fact.unit or "%"
        if a.get("part_of"):
            parent = _nearest(e, a["part_of"])
            fact.parent_surface, fact.parent_start = parent.text, rmap.start(parent.start)
        facts.append(fact)
    return facts


def _nearest(q: Entity, cands: Iterable[Entity]) -> Entity:
    return min(cands, key=lambda c: (abs(c.start - q.start), c.start))


_ANAPHOR = re.compile(r"^[该此](.+)$")
_VAGUE_PLACE = re.compile(r"^(?:当地|[全各本该此]|辖区)")


def antecedent(e: Entity, ents: Iterable[Entity]) -> Entity:
    """What 该局, 该支队, 该市 … stand for: the nearest earlier mention of the same label whose name ends
    the same way (南昌市应急管理局 … 该局), and 当地 the nearest earlier named place; the mention itself
    when there is none."""
    text = compact(e.text) or ""
    m = _ANAPHOR.match(text)
    if not m and not (e.label == "GPE" and text == "当地"):
        return e
    tail = m.group(1) if m else ""
    for c in sorted((c for c in ents if c.label == e.label and c.end <= e.start), key=lambda c: -c.start):
        t = compact(c.text) or ""
        if len(t) > len(tail) and t.endswith(tail) and not _ANAPHOR.match(t) and not _VAGUE_PLACE.match(t):
            return c
    return e


def fact_key(f: Fact) -> tuple[Any, ...]:
    """§5 identity: document, span, value, and item/agent/place/time texts after resolution, whitespace removed."""
    return (f.document, f.start, f.end, f.value, compact(f.item), compact(f.agent_canonical or f.agent),
            compact(f.place_resolved or f.place), f.time_start, f.time_end)
