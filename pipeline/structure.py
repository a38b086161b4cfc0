"""The structure of a bulletin: header fields, sections, paragraphs with offsets, distribution lists.

``parse_document(text_or_path)`` works on the text that a loader returned (``Document.raw``); every
paragraph keeps, per character, its index into that raw text (``Paragraph.offsets``), also where a page
break inside a paragraph was mended ("19 个工业\\n\\n园区" → "19 个工业园区").

Rules (all heuristics are line based and linear in the text length):

* header (top): classification marks (注意保存…), the title (…简报/通报/快报), 第 N 期（总第 M 期）,
  a special issue (…专刊（150）), the issuer (an organisation name), the date, a document number;
  then the headline, split at "——" into headline and subheadline; news-style 来源/发布时间 lines.
* footer (bottom): 抄报/抄送 → ``cc``, 分送/发送 → ``distribution``, "… 印发" → ``print_date``,
  a signature (organisation + date) that gives ``issuer``/``date`` when the header had none.
* body: a line that does not end with sentence-final punctuation continues into the next one (also
  across blank lines: page breaks) unless either is a heading; headings are short lines without
  final punctuation (突出以上率下 强化责任落实, 一、总体情况).

Fields that the text does not state are None, never guessed.
"""
from __future__ import annotations

import calendar
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date as _date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.types import Document, Paragraph, Passage, Section

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings

# --------------------------------------------------------------------------- character classes

FINAL_PUNCT = "。！？；：!?;:…"
CLOSERS = "”’」』）)】〕》\"'"
_NUM = r"[0-9０-９]+|[零〇一二两三四五六七八九十百]+"
CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
_LEAD_WS = re.compile(r"^[\s\ufeff\u200b]*")
_TRAIL_WS = re.compile(r"[\s\ufeff\u200b]*$")

# --------------------------------------------------------------------------- patterns

_DATE_CN = r"(?P<y>\d{4}|[零〇○Ｏ一二三四五六七八九]{4})\s*年\s*(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"
_DATE_ISO = r"(?P<y2>\d{4})\s*[-/.]\s*(?P<m2>\d{1,2})\s*[-/.]\s*(?P<d2>\d{1,2})"
DATE_RE = re.compile(rf"(?:{_DATE_CN}|{_DATE_ISO})")
DATE_LINE = re.compile(rf"^[（(]?(?:{_DATE_CN}|{_DATE_ISO})[）)]?$")
PRINT_LINE = re.compile(rf"^(?P<org>.*?)\s*(?:{_DATE_CN}|{_DATE_ISO})\s*(?:印发|印制|编印|发)$")
ISSUE_RE = re.compile(rf"第\s*(?P<n>{_NUM})\s*期(?:\s*[（(]\s*总\s*第\s*(?P<t>{_NUM})\s*期\s*[)）])?")
SPECIAL_RE = re.compile(rf"^(?P<name>\S.{{0,40}}?专刊)\s*(?:[（(]\s*(?:第\s*)?(?P<n>{_NUM})\s*(?:期)?\s*[)）]|第\s*(?P<n2>{_NUM})\s*期)?$")
TITLE_RE = re.compile(r"^[\u4e00-\u9fa5A-Za-z0-9·]{2,18}(?:简报|通报|快报|专报|动态|要情|周报|月报|参阅|信息|工作情况|情况反映)$")
MARKER_RE = re.compile(r"^[★☆\s]*(?:注意保存|内部资料|内部刊物|内部资料\s*注意保存|秘密|机密|绝密|特急|加急|平急|急件|"
                       r"此件公开发布|公开发布|供领导参阅|领导参阅|内部参阅|密[★☆]?.*|[★☆]+.*)[★☆\s]*$")
DOCNO_RE = re.compile(r"^[\u4e00-\u9fa5]{1,12}\s*[〔\[［(（【]\s*\d{4}\s*[〕\]］)）】]\s*\d+\s*号$")
SEPARATOR_RE = re.compile(r"^[\s\-—–－_＿=＝─━·•*＊~～…]{3,}$")
ORG_SUFFIX = ("办公室", "委员会", "应急管理厅", "应急管理局", "应急管理部", "指挥部", "领导小组", "编辑部", "中心",
              "安委会", "安委办", "减灾委", "政府", "厅", "局", "委", "办", "部", "公司", "集团", "协会", "学会",
              "总队", "支队", "大队", "中队", "研究院", "院", "站", "所", "处", "科", "署", "会")
ORG_RE = re.compile(r"^(?P<org>[\u4e00-\u9fa5（）()、]{2,40}?)\s*(?:文件|编印|主办|编|主编|印发)?$")
SOURCE_RE = re.compile(r"(?:来源|稿源|发布机构|发布单位|信息来源)\s*[:：]\s*(?P<src>[^\s|｜/]+)")
META_LINE = re.compile(r"(?:来源|稿源|发布时间|发布日期|发文日期|时间|日期|作者|编辑|责任编辑|浏览次数|点击数|字号|访问量)\s*[:：]")
CC_RE = re.compile(r"^(?P<label>抄\s*报|抄\s*送|报)\s*[:：]\s*(?P<rest>.*)$")
DIST_RE = re.compile(r"^(?P<label>分\s*送|发\s*送|印\s*送|主\s*送|送|发)\s*[:：]\s*(?P<rest>.*)$")
STAFF_RE = re.compile(r"^(?:[（(]\s*)?(?:责任编辑|编辑|审核|签发|校对|审稿|终审|主编|联系人|联系电话|电话|传真|邮箱|电子邮箱|地址|邮编|"
                      r"共印\s*\d+\s*份|本期共印|印数)\s*[:：]?.*$")
ENUM_RE = re.compile(r"^(?:[一二三四五六七八九十]{1,3}\s*[、．.]|[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|"
                     r"\d{1,2}\s*[、．]|\d{1,2}\.(?!\d)|第[一二三四五六七八九十\d]{1,3}[章节部分条]|[①②③④⑤⑥⑦⑧⑨⑩])")
DASH_SPLIT = re.compile(r"\s*(?:——|—{1,2}|－－|--)\s*")

REGION_CORE = (r"(?:[\u4e00-\u9fa5]{2,7}?(?:省|自治区))?"
               r"[\u4e00-\u9fa5]{1,8}?(?:市|自治州|地区|县|区|盟|旗)"
               r"|[\u4e00-\u9fa5]{2,7}?(?:省|自治区)")
REGION_AT = re.compile(rf"(?P<r>{REGION_CORE})")
PROVINCE_AT = re.compile(r"(?P<r>[\u4e00-\u9fa5]{2,7}?(?:省|自治区))")
_REGION_BAD_START = set("全各本该我市县区城地省此其每两这那")
_REGION_BAD_CHARS = set("的和与及在了对等个是为把被将从向于以由让使并或把着过年月日期项")

PERIOD_RE = re.compile(
    r"(?:(?P<year>\d{4})\s*年\s*(?:度\s*)?)?"
    r"(?P<p>今年以来|年初以来|今年前?|本年度|全年|上半年|下半年|前三季度|前两季度|"
    r"(?:第?[一二三四1-4])\s*季度|"
    r"(?P<m1>\d{1,2})\s*[-—–~～至到]\s*(?P<m2>\d{1,2})\s*月(?:份)?(?:以来)?|"
    r"(?P<m>\d{1,2})\s*月(?:份)?(?P<since>以来)?(?!\s*\d{1,2}\s*[日号])|"
    r"(?P<y_only>(?<=年)))"
)


def cn_number(s: str) -> int | None:
    """'117' → 117, '一百一十七' → 117, '二〇二一' → 2021 (digit by digit when there is no 十/百)."""
    s = s.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if all(c in CN_DIGITS for c in s):
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total, cur = 0, 0
    for c in s:
        if c in CN_DIGITS:
            cur = CN_DIGITS[c]
        elif c == "十":
            total += (cur or 1) * 10
            cur = 0
        elif c == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


def _iso(y: str | None, m: str | None, d: str | None) -> str | None:
    if not (y and m and d):
        return None
    yy, mm, dd = cn_number(y), cn_number(m), cn_number(d)
    if yy is None or mm is None or dd is None:
        return None
    try:
        return _date(yy, mm, dd).isoformat()
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """The first date in ``text`` as ISO (2021 年 12 月 30 日 → 2021-12-30), or None."""
    for m in DATE_RE.finditer(text):
        g = m.groupdict()
        iso = _iso(g["y"], g["m"], g["d"]) if g["y"] else _iso(g["y2"], g["m2"], g["d2"])
        if iso:
            return iso
    return None


# --------------------------------------------------------------------------- lines

@dataclass
class _Line:
    text: str  # stripped content
    start: int  # raw offset of text[0]
    end: int  # raw offset after text[-1]
    indent: bool
    gap_before: bool  # a blank line (or more) precedes it


def _lines(raw: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    gap = False
    for chunk in raw.splitlines(keepends=True):
        body = chunk.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        lead = _LEAD_WS.match(body).end()  # type: ignore[union-attr]
        if lead == len(body):
            gap = True
        else:
            trail = _TRAIL_WS.search(body).start()  # type: ignore[union-attr]
            ws = body[:lead]
            indent = ("\u3000" in ws) or len(ws.replace("\ufeff", "")) >= 2
            out.append(_Line(body[lead:trail], pos + lead, pos + trail, indent, gap))
            gap = False
        pos += len(chunk)
    return out


def ends_final(text: str) -> bool:
    t = text.rstrip(CLOSERS + " ")
    return bool(t) and t[-1] in FINAL_PUNCT


def is_heading(text: str) -> bool:
    """A short line without final punctuation that titles what follows (突出以上率下 强化责任落实, 一、总体情况)."""
    n = len(text)
    if n < 2 or "\t" in text:
        return False
    if ENUM_RE.match(text):
        return n <= 60 and not ends_final(text) and text.count("。") == 0
    if n > 40 or ends_final(text) or text[-1] in "，、,":
        return False
    if any(c in text for c in "。；！？;!?"):
        return False
    if "，" in text or "," in text:  # 突出以上率下 强化责任落实: headings separate their halves by a space
        return False
    if DATE_LINE.match(text) or re.fullmatch(r"[\d\s.,%％\-—]+", text):
        return False
    if text[0] in "（(【[" and text[-1] in "）)】]":  # a parenthetical note
        return False
    return True


def _is_org(text: str) -> str | None:
    if len(text) > 42 or any(c in text for c in "，。；：:,;！？“”\"") or DATE_RE.search(text):
        return None
    m = ORG_RE.match(text.replace(" ", "").replace("\u3000", ""))
    if not m:
        return None
    org = m.group("org")
    return org if org.endswith(ORG_SUFFIX) and len(org) >= 3 else None


# --------------------------------------------------------------------------- lists of organisations

_LIST_SPLIT = re.compile(r"[，,；;。]")


def split_orgs(text: str) -> list[str]:
    """抄报/分送 text → organisation names. Splits at ，；。 and at 、 only where every part is a full name."""
    out: list[str] = []
    depth = 0
    buf = ""
    parts: list[str] = []
    for c in text:  # split at top level only (not inside brackets)
        if c in "（(《“":
            depth += 1
        elif c in "）)》”" and depth:
            depth -= 1
        if depth == 0 and _LIST_SPLIT.match(c):
            parts.append(buf)
            buf = ""
        else:
            buf += c
    parts.append(buf)
    for part in parts:
        part = part.strip(" \u3000\t")
        if not part:
            continue
        sub = [s.strip() for s in part.split("、")]
        if len(sub) > 1 and all(s and s.endswith(ORG_SUFFIX) and not s.endswith(("领导", "负责同志")) for s in sub):
            out.extend(sub)
        else:
            out.append(part)
    return out


# --------------------------------------------------------------------------- region and period

def _region_at(text: str) -> str | None:
    m = REGION_AT.match(text)
    if not m:
        return None
    r = m.group("r")
    if r[0] in _REGION_BAD_START or any(c in _REGION_BAD_CHARS for c in r):
        return None
    return r


_LEAD_PREFIX = re.compile(r"^(?:关于|在|对|据|截至目前|近日|日前|近期|\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|[，,、\s])*")


def find_region(headline: str | None, subheadline: str | None, lead: str | None, issuer: str | None) -> str | None:
    """The region the bulletin is about: the subject of the sub/headline or of the lead sentence; else the
    issuer's region when the lead speaks of 全省/全市/全县/全区."""
    for t in (subheadline, headline):
        if t:
            r = _region_at(_LEAD_PREFIX.sub("", t, count=1))
            if r:
                return r
    if lead:
        first = re.split(r"[。；]", lead, 1)[0]
        clause = first
        pm = PERIOD_RE.match(first)
        if pm and pm.end() > 0:
            clause = first[pm.end():]
        clause = re.sub(r"^[\s，,、]+", "", clause)
        r = _region_at(_LEAD_PREFIX.sub("", clause, count=1))
        if r:
            return r
    if issuer and lead:
        scope = re.search(r"全(省|市|县|区|州)", lead)
        if scope:
            suf = scope.group(1)
            m = PROVINCE_AT.match(issuer)
            if suf == "省" and m and not any(c in _REGION_BAD_CHARS for c in m.group("r")):
                return m.group("r")
            if suf != "省":
                rm = REGION_AT.match(issuer)
                if rm and rm.group("r").endswith(suf) and not any(c in _REGION_BAD_CHARS for c in rm.group("r")):
                    return rm.group("r")
    return None


def _month_end(y: int, m: int) -> str:
    return _date(y, m, calendar.monthrange(y, m)[1]).isoformat()


def period_from_match(m: re.Match[str], doc_date: str | None) -> str | None:
    """'YYYY-MM-DD/YYYY-MM-DD' for a PERIOD_RE match, resolved against the bulletin's date."""
    g = m.groupdict()
    p = g["p"] or ""
    year = int(g["year"]) if g.get("year") else (int(doc_date[:4]) if doc_date else None)
    if year is None:
        return None
    y = year
    end_doc = doc_date if (doc_date and not g.get("year")) else None
    if p in ("今年以来", "年初以来", "今年", "今年前", "本年度") and not g.get("year"):
        return f"{y}-01-01/{doc_date}" if doc_date else None
    if p == "全年" or (g.get("y_only") is not None and p == ""):
        if g.get("year"):
            return f"{y}-01-01/{y}-12-31"
        return None
    if p == "上半年":
        return f"{y}-01-01/{y}-06-30"
    if p == "下半年":
        return f"{y}-07-01/{y}-12-31"
    if p in ("前三季度",):
        return f"{y}-01-01/{y}-09-30"
    if p in ("前两季度",):
        return f"{y}-01-01/{y}-06-30"
    q = re.fullmatch(r"第?([一二三四1-4])\s*季度", p)
    if q:
        n = cn_number(q.group(1)) or 1
        return f"{y}-{3 * n - 2:02d}-01/{_month_end(y, 3 * n)}"
    if g.get("m1") and g.get("m2"):
        a, b = int(g["m1"]), int(g["m2"])
        if 1 <= a <= b <= 12:
            return f"{y}-{a:02d}-01/{_month_end(y, b)}"
        return None
    if g.get("m"):
        a = int(g["m"])
        if not 1 <= a <= 12:
            return None
        if g.get("since"):
            return f"{y}-{a:02d}-01/{end_doc or doc_date}" if (end_doc or doc_date) else None
        return f"{y}-{a:02d}-01/{_month_end(y, a)}"
    return None


def find_period(headline: str | None, subheadline: str | None, lead: str | None, doc_date: str | None) -> str | None:
    """The period the whole bulletin reports: a time phrase in the headline, or opening the lead sentence."""
    for t in (headline, subheadline):
        if not t:
            continue
        for m in PERIOD_RE.finditer(t):
            if m.group("year") or (m.group("p") and m.group("p") not in ("今年", "今年前")):
                if m.group("y_only") is not None and not m.group("year"):
                    continue
                got = period_from_match(m, doc_date)
                if got:
                    return got
    if lead:
        first = re.split(r"[，,。；]", lead, 1)[0]
        first = re.sub(r"^(?:截至|截止)\S*", "", first)
        m = PERIOD_RE.match(first.strip())
        if m and m.end() > 0:
            return period_from_match(m, doc_date)
    return None


# --------------------------------------------------------------------------- the parser

def _is_file(s: str) -> bool:
    if not s or len(s) > 1024 or "\n" in s or "\x00" in s:
        return False
    try:
        return Path(s).is_file()
    except (OSError, ValueError):
        return False


def parse_document(source: str | os.PathLike[str], *, path: str | None = None,
                   settings: "Settings | None" = None) -> Document:
    """A Document from text (or from a file path, loaded with pipeline.loaders.load_text)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _is_file(source)):
        from pipeline.loaders import load_text

        raw = load_text(source, settings)
        path = path or str(source)
    else:
        raw = str(source)
    doc = Document(path=path or "<text>", raw=raw, sha256=hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
    lines = _lines(raw)
    n = len(lines)

    # ---- header
    i = 0
    seen_header = False
    limit = min(n, 30)
    while i < limit:
        t = lines[i].text
        compact = re.sub(r"\s+", "", t)
        if MARKER_RE.match(t) or SEPARATOR_RE.match(t) or DOCNO_RE.match(compact):
            seen_header = True
            i += 1
            continue
        if doc.headline is None and doc.title is None and TITLE_RE.match(compact) and "关于" not in compact and "的" not in compact:
            doc.title = compact
            seen_header = True
            i += 1
            continue
        im = ISSUE_RE.match(t)
        if im and len(t) <= 80:
            doc.issue = cn_number(im.group("n"))
            if im.group("t"):
                doc.total_issue = cn_number(im.group("t"))
            rest = t[im.end():].strip()
            if rest:
                _header_rest(doc, rest)
            seen_header = True
            i += 1
            continue
        sm = SPECIAL_RE.match(t)
        if sm and doc.special_issue is None:
            doc.special_issue = re.sub(r"\s+", "", sm.group("name"))
            num = sm.group("n") or sm.group("n2")
            doc.special_issue_number = cn_number(num) if num else None
            seen_header = True
            i += 1
            continue
        if DATE_LINE.match(t):
            if doc.date is None:
                doc.date = parse_date(t)
            seen_header = True
            i += 1
            continue
        if doc.headline is None:
            org_date = _org_and_date(t)
            if org_date:
                org, d = org_date
                doc.issuer = doc.issuer or org
                doc.date = doc.date or d
                seen_header = True
                i += 1
                continue
            org = _is_org(t)
            nxt = lines[i + 1].text if i + 1 < n else ""
            if org and doc.issuer is None and (seen_header or t.endswith("文件") or DATE_LINE.match(nxt)
                                               or ISSUE_RE.match(nxt) or DOCNO_RE.match(re.sub(r"\s+", "", nxt))):
                doc.issuer = org
                seen_header = True
                i += 1
                continue
        if doc.headline is None and _headline_like(t):
            parts = DASH_SPLIT.split(t, maxsplit=1)
            if len(parts) == 2 and parts[0].strip():
                doc.headline, doc.subheadline = parts[0].strip(), parts[1].strip() or None
            elif len(parts) == 2:
                doc.subheadline = parts[1].strip() or None
            else:
                doc.headline = t
            i += 1
            if doc.subheadline is None and i < n and DASH_SPLIT.match(lines[i].text) and DASH_SPLIT.match(lines[i].text).end() > 0 \
                    and len(lines[i].text) <= 80 and not ends_final(lines[i].text):
                doc.subheadline = DASH_SPLIT.sub("", lines[i].text, count=1).strip() or None
                i += 1
            continue
        if doc.headline is not None and (META_LINE.search(t) and len(t) <= 160):
            sm2 = SOURCE_RE.search(t)
            if sm2 and doc.issuer is None and _is_org(sm2.group("src")):
                doc.issuer = _is_org(sm2.group("src"))
            if doc.date is None:
                doc.date = parse_date(t)
            i += 1
            continue
        break
    body_start = i

    # ---- footer
    j = n - 1
    cc: list[str] = []
    dist: list[str] = []
    sig_org: str | None = None
    sig_date: str | None = None
    tail: list[str] = []  # continuation lines of a 抄报/分送 list, bottom-up
    while j >= body_start:
        t = lines[j].text
        compact = re.sub(r"[\s\u3000]+", "", t)
        pm = PRINT_LINE.match(compact)
        if pm:
            doc.print_date = doc.print_date or parse_date(compact)
            if pm.group("org"):
                sig_org = sig_org or _is_org(pm.group("org"))
            j -= 1
            continue
        cm = CC_RE.match(t)
        dm = None if cm else DIST_RE.match(t)
        if cm or dm:
            rest = ((cm or dm).group("rest") + "".join(reversed(tail))).strip()  # type: ignore[union-attr]
            tail.clear()
            (cc if cm else dist)[:0] = split_orgs(rest)
            j -= 1
            continue
        if SEPARATOR_RE.match(t) or STAFF_RE.match(compact) or MARKER_RE.match(compact.strip("（）()")):
            j -= 1
            continue
        if DATE_LINE.match(compact):
            sig_date = sig_date or parse_date(compact)
            j -= 1
            continue
        od = _org_and_date(t)
        if od:
            sig_org, sig_date = sig_org or od[0], sig_date or od[1]
            j -= 1
            continue
        org = _is_org(t)
        if org and (sig_date or doc.print_date or cc or dist):
            sig_org = sig_org or org
            j -= 1
            continue
        if j - 1 >= body_start and (CC_RE.match(lines[j - 1].text) or DIST_RE.match(lines[j - 1].text)) \
                and not ends_final(lines[j - 1].text.rstrip("。")) and not lines[j - 1].text.endswith("。"):
            tail.append(t)
            j -= 1
            continue
        break
    body_end = j + 1
    doc.cc, doc.distribution = cc, dist
    if doc.date is None and sig_date:
        doc.date = sig_date
    if doc.issuer is None and sig_org:
        doc.issuer = sig_org

    # ---- body: paragraphs and sections
    body = lines[body_start:body_end]
    heads = [is_heading(ln.text) for ln in body]
    paras: list[tuple[list[_Line], bool]] = []  # (lines, is_heading)
    k = 0
    while k < len(body):
        group = [body[k]]
        if heads[k]:
            paras.append((group, True))
            k += 1
            continue
        while k + 1 < len(body):
            a, b = group[-1], body[k + 1]
            if ends_final(a.text) or heads[k + 1] or "\t" in a.text or "\t" in b.text or b.indent \
                    or ENUM_RE.match(b.text) or CC_RE.match(b.text) or DIST_RE.match(b.text):
                break
            group.append(b)
            k += 1
        paras.append((group, False))
        k += 1

    sections: list[Section] = []
    current = Section(heading=None)
    for group, head in paras:
        if head:
            if current.paragraphs or current.heading is not None:
                sections.append(current)
            current = Section(heading=group[0].text)
            continue
        current.paragraphs.append(_paragraph(raw, group, current.heading))
    if current.paragraphs or current.heading is not None:
        sections.append(current)
    doc.sections = sections

    # ---- what the bulletin is about
    lead = next((p.text for p in doc.paragraphs if not p.text.rstrip().endswith(("：", ":"))), None)
    doc.region = find_region(doc.headline, doc.subheadline, lead, doc.issuer)
    doc.period = find_period(doc.headline, doc.subheadline, lead, doc.date)
    return doc


def _header_rest(doc: Document, rest: str) -> None:
    for seg in re.split(r"\s{2,}|\u3000+", rest):
        seg = seg.strip()
        if not seg:
            continue
        if DATE_LINE.match(re.sub(r"\s+", "", seg)) and doc.date is None:
            doc.date = parse_date(seg)
        elif doc.issuer is None and _is_org(seg):
            doc.issuer = _is_org(seg)


def _org_and_date(t: str) -> tuple[str, str] | None:
    """'江西省应急管理厅　　2023年6月15日' → (org, iso)."""
    m = DATE_RE.search(t)
    if not m or m.end() != len(t.rstrip()) or m.start() == 0:
        return None
    org = _is_org(t[: m.start()].strip())
    d = parse_date(t[m.start():])
    return (org, d) if org and d else None


def _headline_like(t: str) -> bool:
    if len(t) > 90 or ends_final(t) or t[-1] in "，、,":
        return False
    if ENUM_RE.match(t) or "。" in t or "\t" in t:
        return False
    commas = t.count("，") + t.count(",")
    m = PERIOD_RE.match(t)
    if commas > 1 or (commas and (len(t) > 40 or (m is not None and m.end() > 0))):
        return False  # "今年以来，全市…" opens a paragraph (hard-wrapped), not a headline
    return True


def _paragraph(raw: str, group: list[_Line], section: str | None) -> Paragraph:
    if len(group) == 1:
        ln = group[0]
        return Paragraph(text=ln.text, start=ln.start, end=ln.end, offsets=list(range(ln.start, ln.end)), section=section)
    pieces: list[str] = []
    offsets: list[int] = []
    prev: _Line | None = None
    for ln in group:
        if prev is not None:
            a, b = prev.text[-1], ln.text[0]
            if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
                pieces.append(" ")
                offsets.append(prev.end)  # the space stands for the line break
        pieces.append(ln.text)
        offsets.extend(range(ln.start, ln.end))
        prev = ln
    return Paragraph(text="".join(pieces), start=group[0].start, end=group[-1].end, offsets=offsets, section=section)


# --------------------------------------------------------------------------- passages

def document_id(doc: Document) -> str:
    if doc.path and doc.path != "<text>":
        return Path(doc.path).stem
    return doc.sha256[:12]


def document_passages(doc: Document) -> list[Passage]:
    """One Passage per paragraph, with the meta that extraction and fact resolution need.

    meta: doc_date, region, period, source (the path), paragraph (index in doc.paragraphs), section,
    raw_start/raw_end (the paragraph's span in doc.raw) and, only for paragraphs mended across a line or
    page break, raw_offsets (raw index of each character of the passage text).
    """
    did = document_id(doc)
    out: list[Passage] = []
    for idx, p in enumerate(doc.paragraphs):
        meta: dict[str, Any] = {
            "doc_date": doc.date,
            "region": doc.region,
            "period": doc.period,
            "source": doc.path,
            "paragraph": idx,
            "section": p.section,
            "raw_start": p.start,
            "raw_end": p.end,
        }
        if p.end - p.start != len(p.text) or doc.raw[p.start:p.end] != p.text:
            meta["raw_offsets"] = list(p.offsets)
        out.append(Passage(id=f"{did}-p{idx:02d}", text=p.text, meta=meta))
    return out
