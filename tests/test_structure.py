"""Structure: the seed's header, sections, mended page breaks with offsets, distribution lists; headerless texts."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.structure import document_passages, parse_document

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "bulletins"


def test_seed_header_fields_are_exact(seed_doc):
    d = seed_doc
    assert d.title == "江西应急管理简报"
    assert d.issue == 117
    assert d.total_issue == 283
    assert d.special_issue == "省安全生产专项整治三年行动专刊"
    assert d.special_issue_number == 150
    assert d.issuer == "江西省安全生产委员会办公室"
    assert d.date == "2021-12-30"
    assert d.headline == "立足“两个根本”提升本质安全"
    assert d.subheadline == "赣州市扎实推进三年行动“十大攻坚战”综述"
    assert d.region == "赣州市"
    assert d.period == "2021-01-01/2021-12-30"


def test_seed_sections_and_paragraphs(seed_doc):
    assert [s.heading for s in seed_doc.sections] == [
        None, "突出以上率下 强化责任落实", "坚持多措并举 强化风险防控", "聚焦短板弱项 强化整治攻坚", "注重依法治安 强化检查执法"]
    assert [len(s.paragraphs) for s in seed_doc.sections] == [1, 1, 1, 1, 1]
    lead = seed_doc.paragraphs[0]
    assert lead.text.startswith("今年以来，赣州市") and lead.text.endswith("全市安全生产形势保持平稳。")
    assert all(p.section == s.heading for s in seed_doc.sections for p in s.paragraphs)


def test_seed_distribution_lists_and_print_date(seed_doc):
    assert seed_doc.cc == ["省委、省政府领导"]
    assert seed_doc.distribution == [
        "应急管理部办公厅", "省委办公厅", "省人大办公厅", "省政府办公厅", "省政协办公厅", "省直有关部门",
        "各市、县（区）党委、政府及应急管理部门", "部分中央驻赣企业及省属集团公司"]
    assert seed_doc.print_date == "2021-12-30"
    body = " ".join(p.text for p in seed_doc.paragraphs)
    assert "抄报" not in body and "分送" not in body and "印发" not in body


@pytest.mark.parametrize("mended, raw_piece", [("19 个工业园区", "19 个工业\n\n园区"),
                                               ("110 公里燃气老旧管网", "110 公里燃\n\n气老旧管网")])
def test_page_breaks_are_mended_and_offsets_map_back(seed_doc, mended, raw_piece):
    raw = seed_doc.raw
    assert raw_piece in raw
    [par] = [p for p in seed_doc.paragraphs if mended in p.text]
    i = par.text.index(mended)
    span = par.offsets[i: i + len(mended)]
    assert "".join(raw[o] for o in span) == mended
    assert raw[span[0]: span[-1] + 1] == raw_piece
    assert raw[par.start: par.end] != par.text  # the raw span holds the break, the text does not
    assert "\n" not in par.text


def test_every_paragraph_character_maps_to_the_raw_text(seed_doc):
    raw = seed_doc.raw
    for p in seed_doc.paragraphs:
        assert len(p.offsets) == len(p.text)
        assert all(raw[o] == c for o, c in zip(p.offsets, p.text))
        assert p.offsets == sorted(p.offsets)
        assert p.start == p.offsets[0] and p.end == p.offsets[-1] + 1
        assert p.raw_offset(0) == p.start and p.raw_offset(len(p.text)) == p.end


def test_seed_file_is_the_shared_seed(seed_path):
    shared = seed_path.parents[3] / "shared" / "seed" / "jiangxi-2021-117.txt"
    if shared.is_file():
        assert shared.read_bytes() == seed_path.read_bytes()


def test_parse_document_accepts_a_path(seed_path, seed_doc):
    d = parse_document(seed_path)
    assert d.path == str(seed_path) and d.title == seed_doc.title
    assert [p.text for p in d.paragraphs] == [p.text for p in seed_doc.paragraphs]


# --------------------------------------------------------------------------- documents without such a header

PLAIN_TONGBAO = """关于近期两起较大事故的通报

各县（市、区）安委会：

10月以来，我市接连发生2起较大生产安全事故，共造成7人死亡、3人受伤，直接经济损失960万元。

一、事故基本情况

10月8日，某建材公司发生一起粉尘爆炸事故，造成4人死亡；10月21日，某物流园发生一起火灾事故，造成3人死亡。

二、工作要求

各地要立即开展为期30天的隐患排查，12月底前完成全部整改。
"""

NO_HEADER = "全省共排查隐患1.2万处，整改率98%。\n\n各地要持续加强监管。\n"


def test_plain_tongbao_parses_with_missing_fields_null():
    d = parse_document(PLAIN_TONGBAO)
    assert d.headline == "关于近期两起较大事故的通报"
    for f in ("title", "issue", "total_issue", "special_issue", "special_issue_number", "issuer", "date",
              "subheadline", "region", "print_date"):
        assert getattr(d, f) is None, f
    assert d.period is None  # "10月以来" needs the year of a date the text does not give
    assert d.cc == [] and d.distribution == []
    assert [s.heading for s in d.sections] == [None, "一、事故基本情况", "二、工作要求"]
    assert len(d.paragraphs) == 4


def test_text_without_any_header():
    d = parse_document(NO_HEADER)
    assert d.headline is None and d.title is None and d.date is None and d.region is None
    assert [p.text for p in d.paragraphs] == ["全省共排查隐患1.2万处，整改率98%。", "各地要持续加强监管。"]


def test_empty_text_parses_to_no_paragraphs():
    d = parse_document("   \n\n")
    assert d.paragraphs == [] and d.headline is None


@pytest.mark.parametrize("name, expect", [
    ("hunan-2022-tongbao.txt", dict(title=None, issue=None, headline="湖南省安全生产委员会办公室关于2022年1-9月全省安全生产形势的通报",
                                    issuer="湖南省安全生产委员会办公室", date="2022-10-12", region="湖南省",
                                    period="2022-01-01/2022-09-30")),
    ("jiujiang-2022-h1-summary.html", dict(title=None, issue=None, headline="九江市应急管理局2022年上半年工作总结",
                                           date="2022-07-08", region="九江市", period="2022-01-01/2022-06-30")),
    ("sichuan-2022-045.docx", dict(title="四川应急管理简报", issue=45, total_issue=212, special_issue=None,
                                   issuer="四川省应急管理厅办公室", date="2022-07-20", headline="守牢安全底线 护航经济发展",
                                   subheadline="绵阳市上半年安全生产工作纪实", region="绵阳市",
                                   period="2022-01-01/2022-06-30", print_date="2022-07-20")),
    ("yichang-2023-news.pdf", dict(title=None, issue=None, headline="宜昌市开展汛期安全生产大检查 排查整治隐患1.2万余处",
                                   issuer="宜昌市应急管理局", date="2023-06-16", region="宜昌市",
                                   period="2023-06-01/2023-06-16", print_date=None)),
])
def test_example_bulletins(name, expect, settings):
    from pipeline.loaders import load_document

    d = load_document(EXAMPLES / name, settings)
    for k, v in expect.items():
        assert getattr(d, k) == v, k
    assert len(d.paragraphs) >= 5
    for p in d.paragraphs:
        assert all(d.raw[o] == c for o, c in zip(p.offsets, p.text) if not c.isspace())


def test_pdf_example_mends_its_page_break(settings):
    from pipeline.loaders import load_document

    d = load_document(EXAMPLES / "yichang-2023-news.pdf", settings)
    [p] = [p for p in d.paragraphs if "整改资金2870万元" in p.text]
    assert p.text.startswith("在危险化学品领域") and p.text.endswith("1.6万米。")


@pytest.mark.parametrize("lead, date, period", [
    ("今年以来，全市共发生事故12起。", "2021 年 12 月 30 日", "2021-01-01/2021-12-30"),
    ("1-11月，全市共发生事故12起。", "2021 年 12 月 30 日", "2021-01-01/2021-11-30"),
    ("上半年，全市共发生事故12起。", "2022 年 7 月 5 日", "2022-01-01/2022-06-30"),
    ("一季度，全市共发生事故12起。", "2022 年 4 月 5 日", "2022-01-01/2022-03-31"),
    ("前三季度，全市共发生事故12起。", "2022 年 10 月 9 日", "2022-01-01/2022-09-30"),
    ("2020年1—6月，全市共发生事故12起。", "2022 年 10 月 9 日", "2020-01-01/2020-06-30"),
    ("8月份，全市共发生事故12起。", "2022 年 9 月 2 日", "2022-08-01/2022-08-31"),
    ("5月以来，全市共发生事故12起。", "2022 年 9 月 2 日", "2022-05-01/2022-09-02"),
    ("全市共发生事故12起。", "2022 年 9 月 2 日", None),
    ("9月2日，全市召开会议。", "2022 年 9 月 2 日", None),
])
def test_reporting_period(lead, date, period):
    text = f"某某应急管理简报\n\n第 3 期\n\n某某市应急管理局\n\n{date}\n\n标题\n\n{lead}\n"
    d = parse_document(text)
    assert d.period == period


def test_document_passages_carry_the_meta(seed_doc):
    ps = document_passages(seed_doc)
    assert len(ps) == len(seed_doc.paragraphs) == 5
    assert [p.id for p in ps] == [f"jiangxi-2021-117-p{i:02d}" for i in range(5)]
    for i, (p, par) in enumerate(zip(ps, seed_doc.paragraphs)):
        assert p.text == par.text
        m = p.meta
        assert m["doc_date"] == "2021-12-30" and m["region"] == "赣州市" and m["period"] == "2021-01-01/2021-12-30"
        assert m["source"] == seed_doc.path and m["paragraph"] == i
        assert (m["raw_start"], m["raw_end"]) == (par.start, par.end)
        assert m["section"] == par.section
    mended = [p for p in ps if "raw_offsets" in p.meta]
    assert len(mended) == 2 and all(len(p.meta["raw_offsets"]) == len(p.text) for p in mended)
    json.dumps([p.to_record() for p in ps], ensure_ascii=False)  # serialisable as annotation records


def test_structure_is_fast(seed_text):
    text = "\n\n".join([seed_text] * 200)  # ~0.5 M characters
    t0 = time.process_time()
    d = parse_document(text)
    rate = len(text) / max(time.process_time() - t0, 1e-9)
    assert len(d.paragraphs) >= 200
    assert rate >= 100_000, f"{rate:,.0f} chars/s"


def test_cli_parse_json_uses_the_issue_field_names(seed_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["parse", str(seed_path), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    for k in ("title", "issue", "total_issue", "special_issue", "special_issue_number", "issuer", "date", "headline",
              "subheadline", "region", "period", "sections", "cc", "distribution", "print_date"):
        assert k in d
    assert d["issue"] == 117 and d["period"] == "2021-01-01/2021-12-30"
    assert d["sections"][1]["heading"] == "突出以上率下 强化责任落实"
    assert set(d["sections"][1]["paragraphs"][0]) >= {"text", "start", "end"}


def test_one_paragraph_per_line_and_hard_wrapped_text():
    per_line = ("关于开展汛期安全检查的通知\n各县区应急管理局：\n"
                "　　为切实做好汛期安全生产工作，经研究，决定开展专项检查。\n　　一、检查时间\n"
                "　　2023年6月1日至6月30日，共计30天\n　　二、检查内容\n　　重点检查尾矿库、危化品企业，共计120家。\n"
                "某某市应急管理局\n2023年5月28日\n")
    d = parse_document(per_line)
    assert (d.headline, d.issuer, d.date) == ("关于开展汛期安全检查的通知", "某某市应急管理局", "2023-05-28")
    assert [s.heading for s in d.sections] == [None, "一、检查时间", "二、检查内容"]
    assert [p.text for p in d.sections[1].paragraphs] == ["2023年6月1日至6月30日，共计30天"]
    wrapped = ("今年以来，全市共发生安全生产事故99起、死亡104人，同比分\n别下降24.4%、7.1%，未发生重大及\n"
               "以上生产安全事故。\n\n第二段开始，全市\n安全形势平稳。\n")
    d = parse_document(wrapped)
    assert d.headline is None
    assert [p.text for p in d.paragraphs] == [
        "今年以来，全市共发生安全生产事故99起、死亡104人，同比分别下降24.4%、7.1%，未发生重大及以上生产安全事故。",
        "第二段开始，全市安全形势平稳。"]
    assert all(d.raw[o] == c for p in d.paragraphs for o, c in zip(p.offsets, p.text))


def test_issuer_and_date_on_one_line_and_a_list_over_two_lines():
    text = ("南昌应急管理简报\n\n第 3 期\n\n南昌市应急管理局                2023年3月1日\n\n标题\n\n正文第一段。\n\n"
            "抄送：市委办公室，\n市政府办公室。\n分送：各县（区）应急管理局，市安委会各成员单位。\n"
            "南昌市应急管理局办公室         2023年3月2日印发\n")
    d = parse_document(text)
    assert (d.title, d.issue, d.issuer, d.date, d.headline) == ("南昌应急管理简报", 3, "南昌市应急管理局", "2023-03-01", "标题")
    assert d.cc == ["市委办公室", "市政府办公室"]
    assert d.distribution == ["各县（区）应急管理局", "市安委会各成员单位"]
    assert d.print_date == "2023-03-02"
    assert [p.text for p in d.paragraphs] == ["正文第一段。"]
