"""Facts from extracted passages (ANNOTATION.md §5): values, arguments, resolution, organisations, gazetteer."""
from __future__ import annotations

import pytest

from pipeline import regions
from pipeline.facts import (Context, OrgRef, assemble_facts, compact, fact_key, resolve_org, resolve_place, resolve_time,
                            split_period)
from pipeline.types import Passage

GANZHOU = Context.make("赣州市", "2021-12-30", "2021-01-01/2021-12-30")


def passage(text: str, spans: list[tuple[str, str, dict | None]], rels: list[tuple[int, int, str]],
            meta: dict | None = None) -> Passage:
    """spans: (label, surface, norm) found left to right in text; rels: (from index, to index, type), 1-based."""
    ents, pos = [], 0
    for i, (label, surface, norm) in enumerate(spans, 1):
        s = text.index(surface, pos)
        e = {"id": i, "label": label, "start_offset": s, "end_offset": s + len(surface)}
        if norm is not None:
            e["norm"] = norm
        ents.append(e)
        pos = s + len(surface)
    rec = {"id": "t", "text": text, "entities": ents,
           "relations": [{"id": k, "from_id": a, "to_id": b, "type": t} for k, (a, b, t) in enumerate(rels, 1)],
           "meta": meta or {"doc_date": "2021-12-30", "region": "赣州市", "period": "2021-01-01/2021-12-30"}}
    return Passage.from_record(rec)


# ---------------------------------------------------------------------------------------------- gazetteer


def test_gazetteer_has_every_province_and_their_cities():
    provs = {p.name for p in regions.provinces()}
    assert len(provs) == 34
    assert {"江西省", "内蒙古自治区", "新疆维吾尔自治区", "北京市", "香港特别行政区", "台湾省"} <= provs
    assert len(regions.cities("江西省")) == 11
    assert len(regions.cities("广东省")) == 21
    assert len([c for c in regions.cities() if c.level == "city"]) > 330


@pytest.mark.parametrize("name, full, level, province", [
    ("赣州", "赣州市", "city", "江西省"),
    ("赣州市", "赣州市", "city", "江西省"),
    ("江西", "江西省", "province", "江西省"),
    ("湖北十堰市", "十堰市", "city", "湖北省"),
    ("吉林", "吉林省", "province", "吉林省"),  # the province wins the shared short name
    ("吉林市", "吉林市", "city", "吉林省"),
    ("延边", "延边朝鲜族自治州", "city", "吉林省"),
    ("上海", "上海市", "province", "上海市"),
    ("全国", "中国", "country", None),
])
def test_gazetteer_lookup(name, full, level, province):
    r = regions.lookup(name)
    assert (r.name, r.level, r.province) == (full, level, province)


def test_gazetteer_prefix_and_classify():
    assert regions.prefix("赣州市委").name == "赣州市"
    assert regions.prefix("江西省赣州市应急管理局").name == "赣州市"
    assert regions.prefix("江西省安全生产委员会办公室").name == "江西省"
    assert regions.prefix("消防部门") is None
    assert regions.classify("上犹县").level == "county"
    assert regions.province_of("赣州市") == "江西省"
    assert regions.city_of("江西省") is None and regions.city_of("上海市") == "上海市"


# --------------------------------------------------------------------------------------------- resolution


def test_context_and_period():
    assert split_period("2021-01-01/2021-12-30") == ("2021-01-01", "2021-12-30")
    assert split_period("2021-12-30") == ("2021-12-30", "2021-12-30")
    assert split_period("soon") == (None, None)
    assert (GANZHOU.region, GANZHOU.city, GANZHOU.province) == ("赣州市", "赣州市", "江西省")
    assert Context.make("赣州", None, None).region == "赣州市"


@pytest.mark.parametrize("text, name, level, parent", [
    (None, "赣州市", "city", "江西省"),
    ("全市", "赣州市", "city", "江西省"),
    ("本市", "赣州市", "city", "江西省"),
    ("全省", "江西省", "province", "中国"),
    ("全国", "中国", "country", None),
    ("中心城区", "赣州市中心城区", "area", "赣州市"),
    ("湖北十堰市", "十堰市", "city", "湖北省"),
    ("上犹县", "上犹县", "county", None),
    ("各地", "赣州市", "city", "江西省"),
])
def test_resolve_place(text, name, level, parent):
    p = resolve_place(text, GANZHOU)
    assert (p.name, p.level, p.parent) == (name, level, parent)


def test_resolve_place_in_a_province_bulletin():
    ctx = Context.make("江西省", "2021-12-30", None)
    assert resolve_place("全省", ctx).name == "江西省"
    assert resolve_place(None, ctx).name == "江西省"
    assert resolve_place("全市", ctx).name == "江西省"  # no city to resolve to: the bulletin's region


def test_relative_dates_of_a_report_on_an_earlier_year_take_its_year():
    january = Context.make("赣州市", "2022-01-10", "2021-01-01/2021-12-31")
    assert resolve_time("全年", january) == ("2021-01-01", "2021-12-31", "text")
    assert resolve_time("今年以来", january)[0] == "2021-01-01"
    same_year = Context.make("赣州市", "2021-12-10", "2021-01-01/2021-11-30")
    assert resolve_time("截至目前", same_year)[1] == "2021-12-10"  # the bulletin's own date as before


@pytest.mark.parametrize("region, text, name", [
    ("岳阳市云溪区", "全区", "岳阳市云溪区"),
    ("岳阳市云溪区", "该区", "岳阳市云溪区"),
    ("岳阳市云溪区", "辖区", "岳阳市云溪区"),
    ("上犹县", "全县", "上犹县"),
    ("上犹县", "本县", "上犹县"),
    ("上犹县", "该镇", "该镇"),       # not the bulletin's level: left as written, never guessed
    ("江西省", "该市", "该市"),       # a city named earlier in a province bulletin: unknown here
    ("赣州市", "该市", "赣州市"),
])
def test_resolve_deictic_place(region, text, name):
    assert resolve_place(text, Context.make(region, "2021-12-30", None)).name == name


@pytest.mark.parametrize("text, name, kind, region, generic", [
    ("市委", "赣州市委", "party", "赣州市", False),
    ("市政府", "赣州市政府", "government", "赣州市", False),
    ("市安委办", "赣州市安委办", "department", "赣州市", False),
    ("赣州市委", "赣州市委", "party", "赣州市", False),
    ("省委", "江西省委", "party", "江西省", False),
    ("省直有关部门", "江西省直有关部门", "department", "江西省", False),
    ("消防部门", "赣州市消防部门", "department", "赣州市", True),
    ("赣州市消防救援支队", "赣州市消防救援支队", "department", "赣州市", False),
    ("赣州消防救援支队", "赣州消防救援支队", "department", "赣州市", False),
    ("财政", "赣州市财政", "department", "赣州市", True),
    ("市场监管部门", "赣州市市场监管部门", "department", "赣州市", True),  # 市场 is not 市 + 场
    ("应急管理部", "应急管理部", "department", "中国", False),
    ("应急管理部办公厅", "应急管理部办公厅", "department", "中国", False),
    ("宣传部", "赣州市宣传部", "department", "赣州市", True),
    ("交通部门", "赣州市交通部门", "department", "赣州市", True),
    ("交通运输部安全与质量监督管理司", "交通运输部安全与质量监督管理司", "department", "中国", False),
    ("国务院安委会", "国务院安委会", "department", "中国", False),
    ("江西省凯鑫化工科技有限公司", "江西省凯鑫化工科技有限公司", "company", "江西省", False),
    ("赣南日报", "赣南日报", "media", None, False),
    ("江西省安全生产委员会办公室", "江西省安全生产委员会办公室", "department", "江西省", False),
])
def test_resolve_org(text, name, kind, region, generic):
    o = resolve_org(text, GANZHOU)
    assert (o.name, o.kind, o.region, o.generic) == (name, kind, region, generic)
    assert o.alias == text


def test_fire_department_and_fire_brigade_are_two_organisations():
    a, b = resolve_org("消防部门", GANZHOU), resolve_org("赣州市消防救援支队", GANZHOU)
    assert (a.name, a.region) != (b.name, b.region)
    assert a.region == b.region == "赣州市"
    # the same generic noun in another city's bulletin is another body
    c = resolve_org("消防部门", Context.make("南昌市", "2021-12-30", None))
    assert c.name == "南昌市消防部门" and c != a


def test_compact():
    assert compact("工业\n\n园区") == "工业园区"
    assert compact("2021 年 12 月") == "2021年12月"
    assert compact("LED  lamp 灯") == "LED lamp灯"


# ------------------------------------------------------------------------------------------------- facts


def test_assemble_accident_fact_with_change_place_and_time():
    text = "1-11月，全市共发生安全生产事故99起、死亡104人，同比分别下降24.4%、7.1%。"
    p = passage(text, [("DATE", "1-11月", None), ("GPE", "全市", None), ("ITEM", "安全生产事故", None),
                       ("COUNT", "99起", {"value": 99, "unit": "起"}), ("ITEM", "死亡", None),
                       ("COUNT", "104人", {"value": 104, "unit": "人"}), ("PERCENT", "24.4%", {"value": 24.4, "unit": "%"}),
                       ("PERCENT", "7.1%", {"value": 7.1, "unit": "%"})],
                [(4, 3, "item"), (4, 2, "place"), (4, 1, "time"), (4, 7, "decrease"),
                 (6, 5, "item"), (6, 2, "place"), (6, 1, "time"), (6, 8, "decrease")])
    facts = assemble_facts(p, GANZHOU, model_version="m1")
    assert [f.surface for f in facts] == ["99起", "104人"]  # the change percentages are not facts
    f = facts[0]
    assert (f.value, f.unit, f.item, f.place, f.place_resolved) == (99, "起", "安全生产事故", "全市", "赣州市")
    assert (f.time_text, f.time_start, f.time_end, f.time_source) == ("1-11月", "2021-01-01", "2021-11-30", "text")
    assert (f.change, f.change_unit) == (-24.4, "%")
    assert facts[1].change == -7.1
    assert f.start == text.index("99起") and f.end == f.start + 3 and f.model_version == "m1"


def test_assemble_inherits_region_and_period_and_resolves_agents():
    text = "消防部门投入7.3亿元，建成小型消防站101个；交通部门查处酒醉驾1.94万余起。"
    p = passage(text, [("ORG", "消防部门", None), ("MONEY", "7.3亿元", None), ("ITEM", "小型消防站", None),
                       ("COUNT", "101个", None), ("ORG", "交通部门", None), ("ITEM", "酒醉驾", None),
                       ("COUNT", "1.94万余起", None)],
                [(2, 1, "agent"), (4, 3, "item"), (4, 1, "agent"), (7, 6, "item"), (7, 5, "agent")])
    facts = {f.surface: f for f in assemble_facts(p, GANZHOU)}
    money = facts["7.3亿元"]  # no norm from the extractor: pipeline.normalise fills it
    assert (money.value, money.unit, money.agent, money.agent_canonical) == (730000000, "元", "消防部门", "赣州市消防部门")
    assert (money.place, money.place_resolved, money.time_start, money.time_end, money.time_source) == \
        (None, "赣州市", "2021-01-01", "2021-12-30", "period")
    drunk = facts["1.94万余起"]
    assert (drunk.value, drunk.approx, drunk.item, drunk.agent_canonical) == (19400, "more_than", "酒醉驾", "赣州市交通部门")


def test_no_period_takes_the_bulletin_date():
    p = passage("发出工作提示函20份。", [("ITEM", "工作提示函", None), ("COUNT", "20份", None)], [(2, 1, "item")],
                meta={"doc_date": "2021-12-30", "region": "赣州市"})
    (f,) = assemble_facts(p)
    assert (f.time_start, f.time_end, f.time_source, f.place_resolved) == ("2021-12-30", "2021-12-30", "date", "赣州市")


def test_part_of_range_and_change_without_base():
    text = "辨识风险点5.65万处，其中重大风险点510处；死亡1-2人；事故起数同比下降14.3%。"
    p = passage(text, [("ITEM", "风险点", None), ("COUNT", "5.65万处", None), ("ITEM", "重大风险点", None),
                       ("COUNT", "510处", None), ("ITEM", "死亡", None), ("COUNT", "1-2人", None),
                       ("ITEM", "事故起数", None), ("PERCENT", "14.3%", {"value": 14.3, "unit": "%", "change": "decrease"})],
                [(2, 1, "item"), (4, 3, "item"), (4, 2, "part_of"), (6, 5, "item"), (8, 7, "item")])
    facts = {f.surface: f for f in assemble_facts(p, GANZHOU)}
    sub = facts["510处"]
    assert (sub.parent_surface, sub.parent_start) == ("5.65万处", text.index("5.65万处"))
    assert (facts["1-2人"].value, facts["1-2人"].max) == (1, 2)
    pct = facts["14.3%"]
    assert (pct.value, pct.unit, pct.item, pct.change) == (14.3, "%", "事故起数", -14.3)


def test_unreadable_quantity_and_date_do_not_break_the_passage():
    p = passage("近日共检查若干家企业。", [("DATE", "近日", None), ("COUNT", "若干家", None)], [(2, 1, "time")])
    (f,) = assemble_facts(p, GANZHOU)
    assert f.value is None and f.time_text == "近日" and f.time_start is None and f.time_source == "text"


def test_raw_offsets_through_meta_for_mended_paragraphs():
    text = "在全省率先完成19个工业园区安全风险整体评估"
    raw_offsets = list(range(100, 100 + 12)) + list(range(114, 114 + len(text) - 12))  # a break after 工业
    p = passage(text, [("COUNT", "19个", None), ("ITEM", "工业园区", None)], [(1, 2, "item")],
                meta={"doc_date": "2021-12-30", "region": "赣州市", "raw_offsets": raw_offsets, "raw_start": 100})
    (f,) = assemble_facts(p)
    assert (f.start, f.end) == (107, 110)
    assert f.item == "工业园区"


def test_fact_identity_ignores_whitespace():
    text = "排查整治隐患13.49万条。"
    p = passage(text, [("ITEM", "隐患", None), ("COUNT", "13.49万条", None)], [(2, 1, "item")])
    (a,) = assemble_facts(p, GANZHOU, document="d")
    (b,) = assemble_facts(p, GANZHOU, document="d")
    b.item = " 隐 患"
    assert fact_key(a) == fact_key(b)


def test_orgref_is_hashable_value():
    assert OrgRef("赣州市委", "party", "赣州市", "市委") == resolve_org("市委", GANZHOU)


def test_anaphors_resolve_to_their_antecedent():
    text = "上犹县应急管理局联合消防部门开展检查，该局共检查企业30家；南康区也开展排查，该区发现隐患12处。"
    p = passage(text, [("ORG", "上犹县应急管理局", None), ("ORG", "消防部门", None), ("ORG", "该局", None),
                       ("ITEM", "企业", None), ("COUNT", "30家", {"value": 30, "unit": "家"}),
                       ("GPE", "南康区", None), ("GPE", "该区", None), ("ITEM", "隐患", None),
                       ("COUNT", "12处", {"value": 12, "unit": "处"})],
                [(5, 3, "agent"), (5, 4, "item"), (9, 7, "place"), (9, 8, "item")])
    f30, f12 = assemble_facts(p, GANZHOU)
    assert (f30.agent, f30.agent_canonical) == ("该局", resolve_org("上犹县应急管理局", GANZHOU).name)
    assert (f12.place, f12.place_resolved) == ("该区", "南康区")
    flood = passage("涿州发生汛情后，各地救援队赶赴当地，转移群众1200人。",
                    [("GPE", "涿州", None), ("GPE", "各地", None), ("ORG", "救援队", None), ("GPE", "当地", None),
                     ("ITEM", "群众", None), ("COUNT", "1200人", {"value": 1200, "unit": "人"})],
                    [(6, 4, "place"), (6, 5, "item"), (6, 3, "agent")])
    assert assemble_facts(flood, GANZHOU)[0].place_resolved == resolve_place("涿州", GANZHOU).name
    assert resolve_place("当地", GANZHOU).name == "赣州市"  # no earlier place named: the bulletin's region
    alone = passage("该局共检查企业30家。", [("ORG", "该局", None), ("ITEM", "企业", None),
                                          ("COUNT", "30家", {"value": 30, "unit": "家"})],
                    [(3, 1, "agent"), (3, 2, "item")])
    assert assemble_facts(alone, GANZHOU)[0].agent_canonical == "赣州市该局"  # no antecedent: as written
