"""The deterministic normaliser (issue 4, Normaliser): table-driven."""
from __future__ import annotations

import pytest

from pipeline.normalise import NormaliseError, normalise_date, normalise_quantity, parse_number

# (span, label, expected norm)
QUANTITIES = [
    # Arabic numerals, units as written
    ("99起", "COUNT", {"value": 99, "unit": "起"}),
    ("3989 名", "COUNT", {"value": 3989, "unit": "名"}),
    ("1101 辆次", "COUNT", {"value": 1101, "unit": "辆次"}),
    ("1,234人", "COUNT", {"value": 1234, "unit": "人"}),
    ("１２３人", "COUNT", {"value": 123, "unit": "人"}),
    ("２４．４％", "PERCENT", {"value": 24.4, "unit": "%"}),
    ("600个（次）", "COUNT", {"value": 600, "unit": "个（次）"}),
    ("32000 床（张、顶）", "COUNT", {"value": 32000, "unit": "床（张、顶）"}),
    # multipliers and decimals
    ("1.94 万余起", "COUNT", {"value": 19400, "unit": "起", "approx": "more_than"}),
    ("2 个多月", "MEASURE", {"value": 2, "unit": "个月", "approx": "more_than"}),
    ("3个余小时", "MEASURE", {"value": 3, "unit": "个小时", "approx": "more_than"}),
    ("5.65 万处", "COUNT", {"value": 56500, "unit": "处"}),
    ("13.49 万条", "COUNT", {"value": 134900, "unit": "条"}),
    ("3.2 万平方米", "MEASURE", {"value": 32000, "unit": "平方米"}),
    ("1亿2000万元", "MONEY", {"value": 120000000, "unit": "元"}),
    ("1.5万亿元", "MONEY", {"value": 1500000000000, "unit": "元"}),
    ("3千人", "COUNT", {"value": 3000, "unit": "人"}),
    ("5百家", "COUNT", {"value": 500, "unit": "家"}),
    # money always in 元
    ("200 元", "MONEY", {"value": 200, "unit": "元"}),
    ("7.3 亿元", "MONEY", {"value": 730000000, "unit": "元"}),
    ("5093 万元", "MONEY", {"value": 50930000, "unit": "元"}),
    ("620 万元", "MONEY", {"value": 6200000, "unit": "元"}),
    ("300多万元", "MONEY", {"value": 3000000, "unit": "元", "approx": "more_than"}),
    ("十余万元", "MONEY", {"value": 100000, "unit": "元", "approx": "more_than"}),
    # Chinese numerals
    ("两次", "COUNT", {"value": 2, "unit": "次"}),
    ("两条", "COUNT", {"value": 2, "unit": "条"}),
    ("一起", "COUNT", {"value": 1, "unit": "起"}),
    ("十二人", "COUNT", {"value": 12, "unit": "人"}),
    ("二十人", "COUNT", {"value": 20, "unit": "人"}),
    ("十人", "COUNT", {"value": 10, "unit": "人"}),
    ("一百零五家", "COUNT", {"value": 105, "unit": "家"}),
    ("一千零一十个", "COUNT", {"value": 1010, "unit": "个"}),
    ("三千五百万元", "MONEY", {"value": 35000000, "unit": "元"}),
    ("一万二千人", "COUNT", {"value": 12000, "unit": "人"}),
    ("一万二人", "COUNT", {"value": 12000, "unit": "人"}),
    ("三千五人", "COUNT", {"value": 3500, "unit": "人"}),
    ("一万零五人", "COUNT", {"value": 10005, "unit": "人"}),
    ("三亿五千万元", "MONEY", {"value": 350000000, "unit": "元"}),
    ("零起", "COUNT", {"value": 0, "unit": "起"}),
    ("〇起", "COUNT", {"value": 0, "unit": "起"}),
    ("三点五万吨", "MEASURE", {"value": 35000, "unit": "吨"}),
    ("贰拾伍人", "COUNT", {"value": 25, "unit": "人"}),
    ("百余人", "COUNT", {"value": 100, "unit": "人", "approx": "more_than"}),
    # halves
    ("半年", "MEASURE", {"value": 0.5, "unit": "年"}),
    ("一个半小时", "MEASURE", {"value": 1.5, "unit": "个小时"}),
    ("半个多小时", "MEASURE", {"value": 0.5, "unit": "个小时", "approx": "more_than"}),
    ("2.33平方千米", "MEASURE", {"value": 2.33, "unit": "平方千米"}),
    ("两天半", "MEASURE", {"value": 2.5, "unit": "天"}),
    # approximators
    ("近 3 万人", "COUNT", {"value": 30000, "unit": "人", "approx": "about"}),
    ("约100人", "COUNT", {"value": 100, "unit": "人", "approx": "about"}),
    ("大约 50 家", "COUNT", {"value": 50, "unit": "家", "approx": "about"}),
    ("100人左右", "COUNT", {"value": 100, "unit": "人", "approx": "about"}),
    ("逾千人", "COUNT", {"value": 1000, "unit": "人", "approx": "more_than"}),
    ("超 200 家", "COUNT", {"value": 200, "unit": "家", "approx": "more_than"}),
    ("超过 200 家", "COUNT", {"value": 200, "unit": "家", "approx": "more_than"}),
    ("3000多人", "COUNT", {"value": 3000, "unit": "人", "approx": "more_than"}),
    ("17.7 万余家", "COUNT", {"value": 177000, "unit": "家", "approx": "more_than"}),
    # ranges
    ("1-2 人", "COUNT", {"value": 1, "unit": "人", "max": 2}),
    ("3 至 5 天", "MEASURE", {"value": 3, "unit": "天", "max": 5}),
    ("3~5天", "MEASURE", {"value": 3, "unit": "天", "max": 5}),
    ("3～5天", "MEASURE", {"value": 3, "unit": "天", "max": 5}),
    ("3天至5天", "MEASURE", {"value": 3, "unit": "天", "max": 5}),
    ("3-5万元", "MONEY", {"value": 30000, "unit": "元", "max": 50000}),
    ("5000-1万元", "MONEY", {"value": 5000, "unit": "元", "max": 10000}),
    ("一至二十人", "COUNT", {"value": 1, "unit": "人", "max": 20}),
    ("10%-20%", "PERCENT", {"value": 10, "unit": "%", "max": 20}),
    ("10-20%", "PERCENT", {"value": 10, "unit": "%", "max": 20}),
    # percentages
    ("24.4%", "PERCENT", {"value": 24.4, "unit": "%"}),
    ("百分之十五", "PERCENT", {"value": 15, "unit": "%"}),
    ("百分之1.5", "PERCENT", {"value": 1.5, "unit": "%"}),
    ("3.5 个百分点", "PERCENT", {"value": 3.5, "unit": "个百分点"}),
    ("3.5百分点", "PERCENT", {"value": 3.5, "unit": "百分点"}),
    # measures whose unit starts with a numeral character
    ("110 公里", "MEASURE", {"value": 110, "unit": "公里"}),
    ("5千米", "MEASURE", {"value": 5, "unit": "千米"}),
    ("1.2万千瓦", "MEASURE", {"value": 12000, "unit": "千瓦"}),
    ("980 百帕", "MEASURE", {"value": 980, "unit": "百帕"}),
    ("3千余米", "MEASURE", {"value": 3000, "unit": "米", "approx": "more_than"}),
    ("23 米/秒", "MEASURE", {"value": 23, "unit": "米/秒"}),
    ("2300万吨/年左右", "MEASURE", {"value": 23000000, "unit": "吨/年", "approx": "about"}),
    ("5个月", "MEASURE", {"value": 5, "unit": "个月"}),
    ("227", "COUNT", {"value": 227, "unit": ""}),  # "完成 227" alone is a COUNT (contract §3)
    ("1.2万", "COUNT", {"value": 12000, "unit": ""}),
]

# (span, label): never guessed
QUANTITY_ERRORS = [
    ("数十人", "COUNT"),
    ("十几人", "COUNT"),
    ("上千人", "COUNT"),
    ("一两个", "COUNT"),
    ("三四十人", "COUNT"),
    ("227", "MEASURE"),  # a measure needs its unit; only a COUNT may be bare
    ("100美元", "MONEY"),
    ("200元/人", "MONEY"),  # a rate
    ("5093万", "MONEY"),  # money without 元
    ("第117期", "COUNT"),
    ("100人以上", "COUNT"),  # 以上 belongs outside the span
    ("3-5千元", "MONEY"),  # 3-5千: 3 or 3千?
    ("24.4%", "COUNT"),
    ("99起", "PERCENT"),
    ("99起", "ORG"),
    ("", "COUNT"),
    ("5-3人", "COUNT"),
    ("约3余人", "COUNT"),
]


@pytest.mark.parametrize("text,label,expected", QUANTITIES)
def test_normalise_quantity(text, label, expected):
    got = normalise_quantity(text, label)
    assert got == expected
    assert type(got["value"]) is type(expected["value"])


@pytest.mark.parametrize("text,label", QUANTITY_ERRORS)
def test_normalise_quantity_refuses(text, label):
    with pytest.raises(NormaliseError) as exc:
        normalise_quantity(text, label)
    assert exc.value.text == text and exc.value.reason


def test_context_after_the_span():
    assert normalise_quantity("200 处", "COUNT", after="左右。") == {"value": 200, "unit": "处", "approx": "about"}
    assert normalise_quantity("30%", "PERCENT", after="以上，") == {"value": 30, "unit": "%", "approx": "more_than"}
    assert normalise_quantity("30%", "PERCENT", after="，") == {"value": 30, "unit": "%"}


def test_parse_number_is_exact():
    assert parse_number("1.94万") == 19400
    assert parse_number("0.1") + parse_number("0.2") == parse_number("0.3")


DOC = "2021-12-30"
# (span, doc_date, (start, end))
DATES = [
    ("2021 年 12 月 30 日", None, ("2021-12-30", "2021-12-30")),
    ("2021年", None, ("2021-01-01", "2021-12-31")),
    ("2021年度", None, ("2021-01-01", "2021-12-31")),
    ("二〇二一年", None, ("2021-01-01", "2021-12-31")),
    ("2021-12-30", None, ("2021-12-30", "2021-12-30")),
    ("2021.12.30", None, ("2021-12-30", "2021-12-30")),
    ("2020年1月1日至12月31日", None, ("2020-01-01", "2020-12-31")),
    ("2019-2021年", None, ("2019-01-01", "2021-12-31")),
    ("2020—2022 年", None, ("2020-01-01", "2022-12-31")),
    ("2018年6月至2021年6月", None, ("2018-06-01", "2021-06-30")),
    ("2021年1-11月", None, ("2021-01-01", "2021-11-30")),
    ("2022年4月中旬至6月底", None, ("2022-04-11", "2022-06-30")),
    ("“十四五”期间", None, ("2021-01-01", "2025-12-31")),
    ("十三五时期", None, ("2016-01-01", "2020-12-31")),
    ("2025年底", None, ("2025-12-31", "2025-12-31")),
    ("截至2020年12月31日", None, ("2020-12-31", "2020-12-31")),
    ("12 月份", DOC, ("2021-12-01", "2021-12-31")),
    ("11月份", DOC, ("2021-11-01", "2021-11-30")),
    ("十二月", DOC, ("2021-12-01", "2021-12-31")),
    ("2月", "2024-03-01", ("2024-02-01", "2024-02-29")),
    ("1-11月", DOC, ("2021-01-01", "2021-11-30")),
    ("1至11月", DOC, ("2021-01-01", "2021-11-30")),
    ("1—10月份", DOC, ("2021-01-01", "2021-10-31")),
    ("1月至11月", DOC, ("2021-01-01", "2021-11-30")),
    ("今年1-11月", DOC, ("2021-01-01", "2021-11-30")),
    ("今年1到5月份", DOC, ("2021-01-01", "2021-05-31")),
    ("前11个月", DOC, ("2021-01-01", "2021-11-30")),
    ("今年以来", DOC, ("2021-01-01", "2021-12-30")),
    ("年初以来", DOC, ("2021-01-01", "2021-12-30")),
    ("今年", DOC, ("2021-01-01", "2021-12-31")),
    ("全年", DOC, ("2021-01-01", "2021-12-31")),
    ("去年", DOC, ("2020-01-01", "2020-12-31")),
    ("上年", DOC, ("2020-01-01", "2020-12-31")),
    ("去年底", DOC, ("2020-12-31", "2020-12-31")),
    ("上半年", DOC, ("2021-01-01", "2021-06-30")),
    ("下半年", DOC, ("2021-07-01", "2021-12-31")),
    ("今年上半年", DOC, ("2021-01-01", "2021-06-30")),
    ("一季度", DOC, ("2021-01-01", "2021-03-31")),
    ("第一季度", DOC, ("2021-01-01", "2021-03-31")),
    ("二季度", DOC, ("2021-04-01", "2021-06-30")),
    ("第四季度", DOC, ("2021-10-01", "2021-12-31")),
    ("前三季度", DOC, ("2021-01-01", "2021-09-30")),
    ("三季度末", DOC, ("2021-09-30", "2021-09-30")),
    ("截至目前", DOC, ("2021-12-30", "2021-12-30")),
    ("目前", DOC, ("2021-12-30", "2021-12-30")),
    ("年底前", DOC, ("2021-12-30", "2021-12-31")),
    ("2025年底前", "2021-06-30", ("2021-06-30", "2025-12-31")),
    ("国庆期间", DOC, ("2021-10-01", "2021-10-07")),
    ("国庆假期", DOC, ("2021-10-01", "2021-10-07")),
    ("元旦", DOC, ("2021-01-01", "2021-01-01")),
    ("截至6月30日", DOC, ("2021-06-30", "2021-06-30")),
    ("截至11月底", DOC, ("2021-11-30", "2021-11-30")),
    ("截至 1 月 3 日 17 时", DOC, ("2021-01-03", "2021-01-03")),
    ("12月1日至31日", DOC, ("2021-12-01", "2021-12-31")),
    ("7月14日8时至17日8时", DOC, ("2021-07-14", "2021-07-17")),
    ("7 月 20 日凌晨", DOC, ("2021-07-20", "2021-07-20")),
    ("12月上旬", DOC, ("2021-12-01", "2021-12-10")),
    ("6月以来", DOC, ("2021-06-01", "2021-12-30")),
    ("自 2019 年 11 月以来", DOC, ("2019-11-01", "2021-12-30")),
    ("进入12月份以来", DOC, ("2021-12-01", "2021-12-30")),
    ("十三五以来", DOC, ("2016-01-01", "2021-12-30")),
    ("本月", DOC, ("2021-12-01", "2021-12-31")),
    ("上月", DOC, ("2021-11-01", "2021-11-30")),
    ("上月", "2022-01-10", ("2021-12-01", "2021-12-31")),
]

# (span, doc_date): never guessed
DATE_ERRORS = [
    ("春节期间", DOC),
    ("去年同期", DOC),
    ("上年同期", DOC),
    ("近日", DOC),
    ("近年来", DOC),
    ("汛期", DOC),
    ("年初", DOC),
    ("26 日", DOC),  # a day without its month
    ("三年来", DOC),
    ("今年", None),  # relative without the bulletin's date
    ("1-11月", None),
    ("6月底前", DOC),  # a deadline already past
    ("2021年13月", DOC),
    ("2月30日", DOC),
    ("元旦春节期间", DOC),
    ("今天", DOC),
    ("11-1月", DOC),
    ("今年", "2021/12/30"),
]


@pytest.mark.parametrize("text,doc,expected", DATES)
def test_normalise_date(text, doc, expected):
    assert normalise_date(text, doc) == expected


@pytest.mark.parametrize("text,doc", DATE_ERRORS)
def test_normalise_date_refuses(text, doc):
    with pytest.raises(NormaliseError):
        normalise_date(text, doc)


def test_table_size():
    assert len(QUANTITIES) + len(QUANTITY_ERRORS) + len(DATES) + len(DATE_ERRORS) >= 80
