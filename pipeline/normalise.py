"""Deterministic normalisation of quantity and date spans (ANNOTATION.md section 4).

``normalise_quantity(text, label)`` turns a COUNT/MONEY/MEASURE/PERCENT span into the contract's
``norm`` ({value, unit, approx?, max?}); ``normalise_date(text, doc_date)`` turns a DATE span into an
ISO interval (start, end) relative to the bulletin's date. Both are pure table/grammar code: anything
they cannot read with certainty raises ``NormaliseError(text, reason)`` — they never guess.

Decisions that are not spelt out in ANNOTATION.md (documented in annotations/README.md):

- ``unit`` is the measure word as written with the multiplier (万/亿/千/百/十), approximators and any
  whitespace removed; percentages are ``%`` (also for 百分之…), percentage points ``个百分点`` (or
  ``百分点`` when written without 个). MONEY must end up in 元, anything else (美元, 元/人 …) is an error.
- A range shares a trailing 万/亿 multiplier (3-5万元 → 30000–50000) when that keeps lower ≤ upper;
  a bare lower bound before 百/千 (3-5千) is ambiguous and an error; 十 is never shared (一至二十).
- Colloquial abbreviations are read as in standard Chinese: 一万二 = 12000, 三千五 = 3500.
- Relative dates take the year of ``doc_date`` (ANNOTATION.md section 5), even for a month later
  than the bulletin's. 春节 depends on the lunar calendar and on each year's holiday arrangement, so
  it is an error, as are comparison periods (去年同期) and vague ones (近日, 近年来, 汛期).
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

QUANTITY_LABELS = ("COUNT", "MONEY", "MEASURE", "PERCENT")


class NormaliseError(ValueError):
    """A span that cannot be normalised with certainty."""

    def __init__(self, text: str, reason: str):
        super().__init__(f"{text!r}: {reason}")
        self.text = text
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# characters

_TRANS = {chr(0xFF10 + i): str(i) for i in range(10)}
_TRANS.update({"％": "%", "．": ".", "～": "~", "〜": "~", "－": "-", "—": "-", "–": "-", "―": "-",
               "‐": "-", "‑": "-", "−": "-", "／": "/"})
_TRANS_TABLE = str.maketrans(_TRANS)
_WS = re.compile(r"\s+")

CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9, "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6,
             "陸": 6, "柒": 7, "捌": 8, "玖": 9}
CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
NUMERAL_CHARS = set(CN_DIGITS) | set(CN_SMALL_UNITS) | set(CN_BIG_UNITS) | set("0123456789")
_NUM_SCAN = NUMERAL_CHARS | set(".,点余多")

APPROX_PREFIXES = (("大约", "about"), ("将近", "about"), ("接近", "about"), ("超过", "more_than"),
                   ("约", "about"), ("近", "about"), ("超", "more_than"), ("逾", "more_than"))
APPROX_SUFFIXES = (("左右", "about"),)
RANGE_SEPS = "-~至到"
# units that start with a numeral character: the character belongs to the unit, not the number
NUMERAL_UNITS = ("个百分点", "百分点", "千瓦时", "千伏安", "千米", "千克", "千瓦", "千伏", "千帕", "千焦",
                 "百帕", "百米", "千卡", "百公里", "平方千米", "立方千米")
PERCENT_UNITS = ("%", "个百分点", "百分点", "‰")
# words that make a span a bound or a vague amount, which the contract has no field for
_NOT_A_UNIT = ("以上", "以下", "以内", "不到", "不足", "上下", "之多", "有余", "数", "几", "每",
               "第", "或")
_BAD_UNIT_CHARS = set("，。、；：！？,.;:!?()（）[]【】《》“”\"'0123456789-~")


def _clean(text: str) -> str:
    return _WS.sub("", text.translate(_TRANS_TABLE))


def _num(d: Decimal) -> int | float:
    if d == d.to_integral_value():
        return int(d)
    return float(d.normalize())


# ---------------------------------------------------------------------------------------------
# numbers


def _cn_decimals(s: str) -> str:
    """一点五 → 1.5 (the integer part may be any Chinese numeral, the fraction is digit by digit)."""

    def repl(m: re.Match[str]) -> str:
        whole = _parse_small(m.group(1), m.group(0))
        frac = "".join(str(CN_DIGITS[c]) for c in m.group(2))
        return f"{whole}.{frac}"

    digits = "".join(CN_DIGITS)
    return re.sub(rf"([{digits}十拾百佰千仟]+)点([{digits}]+)", repl, s)


_TOKEN = re.compile(r"\d+(?:\.\d+)?|.")


def _parse_small(s: str, whole: str) -> Decimal:
    """A number below 万 (Arabic, Chinese, or mixed like 3千5百), with 零 and 三千五-style abbreviation."""
    if not s:
        raise NormaliseError(whole, "empty number")
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return Decimal(s)
    if all(c in "〇零" for c in s):
        return Decimal(0)
    total = Decimal(0)
    cur: Decimal | None = None
    last_unit: int | None = None
    zero = False
    for tok in _TOKEN.findall(s):
        if tok[0].isdigit() or (tok in CN_DIGITS and CN_DIGITS[tok] != 0):
            if cur is not None:
                raise NormaliseError(whole, f"two numbers in a row in {s!r}")
            cur = Decimal(tok) if tok[0].isdigit() else Decimal(CN_DIGITS[tok])
        elif tok in ("零", "〇"):
            if cur is not None or last_unit is None:
                raise NormaliseError(whole, f"digit-by-digit numeral {s!r}")
            zero = True
        elif tok in CN_SMALL_UNITS:
            u = CN_SMALL_UNITS[tok]
            if last_unit is not None and u >= last_unit:
                raise NormaliseError(whole, f"misordered numeral {s!r}")
            if cur is None:
                if last_unit is not None:
                    raise NormaliseError(whole, f"{tok} without a digit in {s!r}")
                cur = Decimal(1)  # 十二, 百余, 千余
            total += cur * u
            cur, last_unit, zero = None, u, False
        else:
            raise NormaliseError(whole, f"not a numeral: {tok!r}")
    if cur is not None:
        if last_unit is None:
            total += cur
        elif zero or last_unit == 10:
            if cur >= 10 or cur != cur.to_integral_value():
                raise NormaliseError(whole, f"bad numeral {s!r}")
            total += cur
        else:  # 三千五 = 3500, 一百一 = 110
            if cur >= 10 or cur != cur.to_integral_value():
                raise NormaliseError(whole, f"bad numeral {s!r}")
            total += cur * last_unit // 10
    return total


def _parse_big(s: str, whole: str, big: str, unit: int, below) -> Decimal:
    k = max(s.rfind(c) for c in big)
    left, right = s[:k], s[k + 1:]
    hi = below(left, whole) if left else Decimal(1)
    if not right:
        return hi * unit
    if len(right) == 1 and right in CN_DIGITS and CN_DIGITS[right]:  # 一万二 = 12000
        return hi * unit + Decimal(CN_DIGITS[right]) * unit // 10
    if right[0] in "零〇":
        right = right.lstrip("零〇")
        if not right:
            raise NormaliseError(whole, f"trailing zero in {s!r}")
    lo = below(right, whole)
    if lo >= unit:
        raise NormaliseError(whole, f"{right!r} is too large after {big[0]}")
    return hi * unit + lo


def _parse_wan(s: str, whole: str) -> Decimal:
    if "万" in s or "萬" in s:
        return _parse_big(s, whole, "万萬", 10_000, _parse_small)
    return _parse_small(s, whole)


def parse_number(s: str, whole: str | None = None) -> Decimal:
    """A numeral (Arabic, Chinese or mixed; decimals; 万/亿/千/百/十) as an exact Decimal."""
    whole = s if whole is None else whole
    s = re.sub(r"(?<=\d),(?=\d{3})", "", s)
    s = _cn_decimals(s)
    if not s:
        raise NormaliseError(whole, "no number")
    try:
        if "亿" in s or "億" in s:
            return _parse_big(s, whole, "亿億", 100_000_000, _parse_wan)
        return _parse_wan(s, whole)
    except InvalidOperation as exc:
        raise NormaliseError(whole, f"bad number {s!r}") from exc


def _trailing_multiplier(numstr: str) -> int:
    m = re.search(r"[十拾百佰千仟万萬亿億]+$", numstr)
    if not m:
        return 1
    mult = 1
    for c in m.group(0):
        mult *= {**CN_SMALL_UNITS, **CN_BIG_UNITS}[c]
    return mult


def _scan_number(s: str) -> int:
    """Length of the numeral at the start of s (余/多 inside included, numeral-initial units excluded)."""
    i = 0
    while i < len(s) and s[i] in _NUM_SCAN:
        c = s[i]
        if c in "余多" and i == 0:
            break
        if c in "千百" and any(s.startswith(u, i) for u in NUMERAL_UNITS):
            break
        if c == "点" and not (0 < i < len(s) - 1 and s[i - 1] in NUMERAL_CHARS and s[i + 1] in CN_DIGITS):
            break
        if c == "." and not (0 < i < len(s) - 1 and s[i - 1].isdigit() and s[i + 1].isdigit()):
            break
        if c == "," and not re.match(r",\d{3}", s[i:]):
            break
        i += 1
    return i


# ---------------------------------------------------------------------------------------------
# quantities


def _more_inside_unit(unit: str) -> tuple[str, str | None]:
    """2 个多月: the 多 sits inside the measure word 个月 → (个月, more_than)."""
    if re.match(r"\s*个[余多]", unit):
        return re.sub(r"^(\s*个)[余多]", r"\1", unit), "more_than"
    return unit, None


def _split_number(s: str, whole: str) -> tuple[Decimal, str, str | None, int, str]:
    """(value, unit, approx from 余/多, trailing multiplier, numeral as written) of 'NUMBER UNIT'."""
    n = _scan_number(s)
    if n == 0:
        raise NormaliseError(whole, "no number at the start")
    numstr = s[:n]
    unit, approx = _more_inside_unit(s[n:])
    if "余" in numstr or "多" in numstr:
        if approx or re.search(r"[余多].*[余多]", numstr):
            raise NormaliseError(whole, "余/多 twice")
        approx = "more_than"
        numstr = numstr.replace("余", "").replace("多", "")
    if not numstr:
        raise NormaliseError(whole, "no number at the start")
    return parse_number(numstr, whole), unit, approx, _trailing_multiplier(numstr), numstr


def _check_unit(unit: str, whole: str, label: str = "") -> None:
    if not unit:
        raise NormaliseError(whole, "no unit")
    m = re.fullmatch(r"([^()（）]+)[（(]([^()（）]+)[）)]", unit)
    if m:  # 个（次）, 床（张、顶）: a measure word with its alternatives in brackets, kept as written
        _check_unit(m.group(1), whole, label)
        for alt in m.group(2).split("、"):
            _check_unit(alt, whole, label)
        return
    if "/" in unit:  # 米/秒, 吨/年: a compound physical unit (a rate of money such as 元/人 is not a unit)
        if label != "MEASURE" or unit.count("/") != 1:
            raise NormaliseError(whole, f"{unit!r}: a rate is not a {label or 'quantity'} unit")
        for part in unit.split("/"):
            _check_unit(part, whole, label)
        return
    for w in _NOT_A_UNIT:
        if w in unit:
            raise NormaliseError(whole, f"{w!r} is not part of a unit (bound, vague amount or rate)")
    if any(c in _BAD_UNIT_CHARS for c in unit):
        raise NormaliseError(whole, f"unit {unit!r} contains a digit or punctuation")
    if unit not in NUMERAL_UNITS and any(c in NUMERAL_CHARS for c in unit):
        raise NormaliseError(whole, f"unit {unit!r} contains a numeral")
    if len(unit) > 6:
        raise NormaliseError(whole, f"unit {unit!r} is too long")


def _half(s: str, whole: str) -> tuple[Decimal, str] | None:
    """半年, 半个月, 一个半小时, 两天半."""
    if s.startswith("半"):
        return Decimal("0.5"), s[1:]
    m = re.fullmatch(r"(.+?)个半(.+)", s)
    if m:
        v, u, approx, _, _ = _split_number(m.group(1), whole)
        if u or approx:
            raise NormaliseError(whole, "unreadable 个半")
        return v + Decimal("0.5"), "个" + m.group(2)
    if s.endswith("半") and len(s) > 1:
        v, u, approx, _, _ = _split_number(s[:-1], whole)
        if approx:
            raise NormaliseError(whole, "余/多 with 半")
        return v + Decimal("0.5"), u
    return None


def _find_range_sep(s: str) -> int:
    for i, c in enumerate(s):
        if c in RANGE_SEPS and i > 0 and i < len(s) - 1:
            nxt = s[i + 1:]
            if nxt[0] in NUMERAL_CHARS or any(nxt.startswith(p) for p, _ in APPROX_PREFIXES) \
                    or nxt.startswith("百分之"):
                return i
    return -1


def _one(s: str, whole: str) -> tuple[Decimal, str, str | None, int, str]:
    if s.startswith("百分之"):
        v, rest, approx, mult, numstr = _split_number(s[3:], whole)
        if rest:
            raise NormaliseError(whole, f"text after 百分之…: {rest!r}")
        return v, "%", approx, mult, numstr
    half = _half(s, whole)
    if half is not None:
        unit, approx = _more_inside_unit(half[1])  # 半个多小时: more than half an hour
        return half[0], unit, approx, 1, s
    return _split_number(s, whole)


def normalise_quantity(text: str, label: str, after: str = "") -> dict[str, Any]:
    """The contract's norm {value, unit, approx?, max?} of a quantity span; NormaliseError if unsure.

    ``after`` is the passage text that follows the span, if known: the span ends at the unit, so a
    左右 written after it (200 处左右) lies outside the span but still makes the value "about", and a
    以上 after it (30%以上) makes it "more_than" (the annotated corpus reads it so; see annotations/README.md).
    """
    if label not in QUANTITY_LABELS:
        raise NormaliseError(text, f"{label} is not a quantity label")
    s = _clean(text)
    if not s:
        raise NormaliseError(text, "empty span")
    approx: str | None = None
    for p, a in APPROX_PREFIXES:
        if s.startswith(p):
            approx, s = a, s[len(p):]
            break
    for suf, a in APPROX_SUFFIXES:
        if s.endswith(suf):
            if approx and approx != a:
                raise NormaliseError(text, "contradictory approximators")
            approx, s = a, s[: -len(suf)]
    if re.match(r"\s*左右", after):
        if approx and approx != "about":
            raise NormaliseError(text, "contradictory approximators")
        approx = "about"
    elif re.match(r"\s*以上", after) and not approx:  # 30%以上: read as more_than, as the corpus does
        approx = "more_than"
    k = _find_range_sep(s)
    maximum: Decimal | None = None
    if k >= 0:
        left, right = s[:k], s[k + 1:]
        for p, a in APPROX_PREFIXES:
            if right.startswith(p):
                raise NormaliseError(text, "approximator inside a range")
        hi, unit, a2, hi_mult, _ = _one(right, text)
        lo, lo_unit, a1, lo_mult, lo_num = _one(left, text)
        if a1 or a2:
            raise NormaliseError(text, "余/多 inside a range")
        if lo_unit and lo_unit != unit:
            # 3万-5万元: the lower bound may repeat the multiplier but not another unit
            raise NormaliseError(text, f"range with two units {lo_unit!r} and {unit!r}")
        if left.startswith("百分之") and unit != "%":
            raise NormaliseError(text, "百分之 range without a percentage upper bound")
        if lo_mult == 1 and hi_mult > 1:
            # 3-5万元 → 3万-5万; 5000-1万 keeps 5000; 3-5千 is ambiguous; 十 is never shared
            if hi_mult % 10_000 == 0:
                if lo * hi_mult <= hi:
                    lo = lo * hi_mult
            elif hi_mult in (100, 1000) and lo * hi_mult <= hi:
                raise NormaliseError(text, f"ambiguous range: is {lo_num} multiplied like the upper bound?")
        if lo > hi:
            raise NormaliseError(text, "range lower bound above upper bound")
        value, maximum = lo, hi
    else:
        value, unit, a2, _, _ = _one(s, text)
        if a2:
            if approx and approx != a2:
                raise NormaliseError(text, "contradictory approximators")
            approx = a2
    if unit or label != "COUNT":  # a bare count (完成 227) is a COUNT with no measure word (§3)
        _check_unit(unit, text, label)
    if label == "PERCENT" and unit not in PERCENT_UNITS:
        raise NormaliseError(text, f"PERCENT with unit {unit!r}")
    if label != "PERCENT" and unit in PERCENT_UNITS:
        raise NormaliseError(text, f"{label} with a percentage unit")
    if label == "MONEY" and unit != "元":
        raise NormaliseError(text, f"MONEY in {unit!r}, not 元")
    norm: dict[str, Any] = {"value": _num(value), "unit": unit}
    if approx:
        norm["approx"] = approx
    if maximum is not None:
        norm["max"] = _num(maximum)
    return norm


# ---------------------------------------------------------------------------------------------
# dates

FIVE_YEAR_PLANS = {"六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12, "十三": 13,
                   "十四": 14, "十五": 15, "十六": 16}
_NOW = ("截至目前", "截止目前", "截至当前", "截止当前", "截至今", "截止今", "到目前为止", "截至现在",
        "目前", "当前", "至今", "现在", "如今")
_SINCE_NEW_YEAR = ("今年以来", "今年来", "年初以来", "今年初以来", "年初至今", "今年初至今", "本年以来", "本年度以来")
_REFUSED = {
    "春节": "春节 follows the lunar calendar and each year's holiday arrangement",
    "同期": "a comparison period has no interval of its own",
    "近日": "vague", "日前": "vague", "近期": "vague", "近年": "vague", "近几年": "vague", "前期": "vague",
    "汛期": "the flood season differs by region and year", "主汛期": "the flood season differs by region and year",
    "节假日": "vague", "重要节点": "vague", "有记录以来": "a record period", "建库以来": "a record period",
    "每年": "a frequency, not a time", "每月": "a frequency, not a time",
}
_YEAR_WORDS = {"今年": 0, "本年": 0, "本年度": 0, "当年": 0, "去年": -1, "上年": -1, "上一年": -1,
               "上年度": -1, "前年": -2, "明年": 1, "来年": 1, "次年": 1}


def _iso(d: date) -> str:
    return d.isoformat()


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _small_int(s: str, whole: str) -> int:
    if re.fullmatch(r"\d+", s):
        return int(s)
    if len(s) == 4 and all(c in CN_DIGITS for c in s):  # 二〇二一
        return int("".join(str(CN_DIGITS[c]) for c in s))
    v = parse_number(s, whole)
    if v != v.to_integral_value():
        raise NormaliseError(whole, f"not an integer: {s!r}")
    return int(v)


class _Ctx:
    def __init__(self, text: str, doc: date | None):
        self.text = text
        self.doc = doc

    @property
    def year(self) -> int:
        if self.doc is None:
            raise NormaliseError(self.text, "relative date without the bulletin's date")
        return self.doc.year

    def need_doc(self) -> date:
        if self.doc is None:
            raise NormaliseError(self.text, "relative date without the bulletin's date")
        return self.doc


_NUMW = r"(\d{1,4}|[〇零一二两三四五六七八九十]{1,4})"
# a time of day after a date keeps the day (intervals are in days): 7月16日18时30分, 29日下午
_TIME_OF_DAY = (r"(?:(?:凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|晚间|夜间|夜里|晚)?"
                r"(?:\d{1,2}(?:时|点)(?:\d{1,2}分|半)?许?)?)")


def _date_make(ctx: _Ctx, y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError as exc:
        raise NormaliseError(ctx.text, f"no such date {y}-{m}-{d}") from exc


def _sub_year(s: str, y: int, ctx: _Ctx, month: int | None = None) -> tuple[date, date, str]:
    """Parse a period inside year y (s never empty). Returns (start, end, kind) with kind 年/月/日."""
    t = ctx.text
    if s in ("", "全年", "年度", "度", "年内", "全年度"):
        return date(y, 1, 1), date(y, 12, 31), "年"
    if s in ("上半年",):
        return date(y, 1, 1), date(y, 6, 30), "月"
    if s in ("下半年",):
        return date(y, 7, 1), date(y, 12, 31), "月"
    if s in ("年底", "年末", "底", "末"):
        return date(y, 12, 31), date(y, 12, 31), "日"
    if s in ("年初",):
        raise NormaliseError(t, "年初 is vague")
    m = re.fullmatch(r"第?([一二三四1-4])季度(末|底)?", s)
    if m:
        q = _small_int(m.group(1), t)
        start, end = date(y, 3 * q - 2, 1), _month_end(y, 3 * q)
        if m.group(2):
            return end, end, "日"
        return start, end, "月"
    m = re.fullmatch(r"前([一二两三1-3])(?:个)?季度", s)
    if m:
        q = _small_int(m.group(1), t)
        return date(y, 1, 1), _month_end(y, 3 * q), "月"
    m = re.fullmatch(rf"前{_NUMW}个月", s)
    if m:
        n = _small_int(m.group(1), t)
        if not 1 <= n <= 12:
            raise NormaliseError(t, f"前{n}个月")
        return date(y, 1, 1), _month_end(y, n), "月"
    m = re.fullmatch(rf"{_NUMW}月份?(上旬|中旬|下旬|底|末|初)?", s)
    if m:
        mo = _small_int(m.group(1), t)
        if not 1 <= mo <= 12:
            raise NormaliseError(t, f"no month {mo}")
        part = m.group(2)
        if part == "上旬":
            return date(y, mo, 1), date(y, mo, 10), "日"
        if part == "中旬":
            return date(y, mo, 11), date(y, mo, 20), "日"
        if part == "下旬":
            return date(y, mo, 21), _month_end(y, mo), "日"
        if part in ("底", "末"):
            return _month_end(y, mo), _month_end(y, mo), "日"
        if part == "初":
            raise NormaliseError(t, "月初 is vague")
        return date(y, mo, 1), _month_end(y, mo), "月"
    m = re.fullmatch(rf"(?:{_NUMW}月)?{_NUMW}[日号]{_TIME_OF_DAY}", s)
    if m:
        if m.group(1):
            mo = _small_int(m.group(1), t)
        elif month is not None:
            mo = month
        else:
            raise NormaliseError(t, "a day without its month")
        d = _date_make(ctx, y, mo, _small_int(m.group(2), t))
        return d, d, "日"
    raise NormaliseError(t, f"unknown date expression {s!r}")


def _period(s: str, ctx: _Ctx, year: int | None = None, month: int | None = None) -> tuple[date, date, str]:
    """One period (no range): returns (start, end, kind)."""
    t = ctx.text
    m = re.fullmatch(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})日?", s)
    if m:
        d = _date_make(ctx, int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return d, d, "日"
    m = re.fullmatch(r"(十[一二三四五六]|[六七八九十])五(?:期间|时期|规划期|规划期间|末)?", s)
    if m:
        n = FIVE_YEAR_PLANS[m.group(1)]
        y0 = 1981 + 5 * (n - 6)
        if s.endswith("末"):
            return date(y0 + 4, 12, 31), date(y0 + 4, 12, 31), "日"
        return date(y0, 1, 1), date(y0 + 4, 12, 31), "年"
    if s in ("国庆期间", "国庆节期间", "国庆假期", "国庆长假", "国庆", "国庆节", "国庆黄金周", "国庆节假期"):
        y = year if year is not None else ctx.year
        return date(y, 10, 1), date(y, 10, 7), "日"
    if s in ("元旦", "元旦节", "元旦当天"):
        y = year if year is not None else ctx.year
        return date(y, 1, 1), date(y, 1, 1), "日"
    if s in ("本月", "当月", "本月份"):
        doc = ctx.need_doc()
        return date(doc.year, doc.month, 1), _month_end(doc.year, doc.month), "月"
    if s in ("上月", "上个月", "上月份"):
        doc = ctx.need_doc()
        first = date(doc.year, doc.month, 1) - timedelta(days=1)
        return date(first.year, first.month, 1), first, "月"
    # year prefix
    m = re.match(r"(\d{4}|[〇零一二三四五六七八九]{4})年", s)
    if m:
        y = _small_int(m.group(1), t)
        if not 1949 <= y <= 2100:
            raise NormaliseError(t, f"implausible year {y}")
        return _sub_year(s[m.end():], y, ctx, month)
    for w in sorted(_YEAR_WORDS, key=len, reverse=True):
        if s.startswith(w):
            rest = s[len(w):]
            if rest.startswith("的"):
                rest = rest[1:]
            return _sub_year(rest, ctx.year + _YEAR_WORDS[w], ctx, month)
    if s in ("全年", "年内", "年度"):
        return _sub_year("", ctx.year, ctx)
    y = year if year is not None else ctx.year
    return _sub_year(s, y, ctx, month)


def _range(s: str, ctx: _Ctx) -> tuple[date, date] | None:
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}日?", s):
        return None
    for i, c in enumerate(s):
        if c in "-~至到" and 0 < i < len(s) - 1:
            left, right = s[:i], s[i + 1:]
            break
    else:
        return None
    # a bare lower bound takes the upper bound's first unit: 1-11月, 2019-2021年, 今年1-11月 …
    m = re.match(rf"{_NUMW}(年|月|日|号)", right)
    if re.search(rf"(?:^|年){_NUMW}$", left):
        if not m:
            raise NormaliseError(ctx.text, "range with a bare lower bound")
        left += m.group(2)
    s1, e1, _ = _period(left, ctx)
    if re.match(r"(\d{4}|[〇零一二三四五六七八九]{4})年", right) or any(right.startswith(w) for w in _YEAR_WORDS):
        s2, e2, _ = _period(right, ctx)
    else:  # the lower bound's year (and month) carry over: 2021年1月至11月, 12月1日至31日
        s2, e2, _ = _period(right, ctx, year=s1.year, month=s1.month if "月" in left else None)
    if s2 < s1 or e2 < e1:
        raise NormaliseError(ctx.text, "range ends before it starts")
    return s1, e2


def normalise_date(text: str, doc_date: str | None) -> tuple[str, str]:
    """ISO interval (start, end) of a DATE span, relative to the bulletin's date; NormaliseError if unsure."""
    doc: date | None = None
    if doc_date:
        try:
            doc = date.fromisoformat(str(doc_date)[:10])
        except ValueError as exc:
            raise NormaliseError(text, f"doc_date {doc_date!r} is not an ISO date") from exc
    s = _clean(text)
    s = re.sub(r"[“”\"'‘’「」《》]", "", s)
    if not s:
        raise NormaliseError(text, "empty span")
    ctx = _Ctx(text, doc)
    for word, reason in _REFUSED.items():
        if word in s:
            raise NormaliseError(text, reason)
    if s in _NOW:
        d = ctx.need_doc()
        return _iso(d), _iso(d)
    if s in _SINCE_NEW_YEAR:
        d = ctx.need_doc()
        return _iso(date(d.year, 1, 1)), _iso(d)
    for pre in ("截止到", "截至到", "截至", "截止"):
        if s.startswith(pre) and len(s) > len(pre):
            _, end = _interval(s[len(pre):], ctx)
            return _iso(end), _iso(end)
    m = re.fullmatch(r"(?:自|从|进入)(.+?)(?:以来|起|开始)?", s)
    if m and s[0] in "自从进":
        s = m.group(1) + "以来"
    elif s.endswith("起") and len(s) > 1:
        s = s[:-1] + "以来"
    for suf in ("以来", "来"):
        if s.endswith(suf) and len(s) > len(suf):
            d = ctx.need_doc()
            start, _ = _interval(s[: -len(suf)], ctx)
            if start > d:
                raise NormaliseError(text, "starts after the bulletin's date")
            return _iso(start), _iso(d)
    for suf in ("以前", "之前", "前"):
        if s.endswith(suf) and len(s) > len(suf) and not re.fullmatch(r"前.*", s):
            d = ctx.need_doc()
            _, end = _interval(s[: -len(suf)], ctx)
            if end < d:
                raise NormaliseError(text, "a deadline before the bulletin's date")
            return _iso(d), _iso(end)
    start, end = _interval(s, ctx)
    return _iso(start), _iso(end)


def _interval(s: str, ctx: _Ctx) -> tuple[date, date]:
    r = _range(s, ctx)
    if r is not None:
        return r
    start, end, _ = _period(s, ctx)
    return start, end
