"""Loading bulletins: bytes on disk → plain text, whatever the format.

The format is detected from the content, never from the file name: .txt (UTF-8 with or without BOM,
GB18030/GBK, UTF-16), .docx (python-docx), .pdf (its text layer, PyMuPDF) and .html (BeautifulSoup).
Each loader is a function ``(data: bytes, path: Path) -> str`` registered by format name in ``LOADERS``.

Every failure is a :class:`LoadError` whose message names the file and the cause, so the CLI can print
one line, and :func:`iter_documents` can go on with the next file.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from pipeline.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings
    from pipeline.types import Document

Loader = Callable[[bytes, Path], str]
LOADERS: Registry[Loader] = Registry("loader")


class LoadError(Exception):
    """A file that cannot be turned into text; ``str()`` names the file and the cause."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


# --------------------------------------------------------------------------- detection

_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|h[1-6]|article|section|table)\b",
                         re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?(?:html|body|p|div|h[1-6]|br|span|table|tr|td|li|ul|article|section)\b[^>]*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def detect_format(data: bytes) -> str:
    """The format name of ``data`` ('txt', 'docx', 'pdf', 'html'); raises ValueError(reason) otherwise."""
    if not data.strip(b" \t\r\n\x00") or data in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        raise ValueError("empty file")
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "docx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValueError("legacy or encrypted Office file (OLE2: .doc or a password-protected .docx); "
                         "save it as an unprotected .docx")
    for magic, what in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                        (b"\x1f\x8b", "gzip data"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7z archive"),
                        (b"\x7fELF", "an executable")):
        if data.startswith(magic):
            raise ValueError(f"binary content ({what}), not a bulletin")
    return "text"  # txt or html: decided after decoding


def _looks_utf16(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' for BOM-less UTF-16 (many NULs at odd or even positions)."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) / 2
    # Text in UTF-8 or GB18030 has no NUL bytes at all; UTF-16 has them in the high byte of every ASCII
    # character (newlines, digits, spaces), so on one side only. Binary data has them on both sides.
    if odd >= max(2, 0.01 * half) and even * 4 <= odd:
        return "utf-16-le"
    if even >= max(2, 0.01 * half) and odd * 4 <= even:
        return "utf-16-be"
    return None


def _bad_text(text: str) -> bool:
    if not text:
        return False
    n = len(_CONTROL.findall(text[:20000]))
    return n > max(2, len(text[:20000]) // 200)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file; raises ValueError('binary or undecodable content …')."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        u16 = _looks_utf16(data)
        candidates = [u16] if u16 else ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text or _bad_text(text):
            continue
        return text, enc
    if b"\x00" not in data[:4000]:
        try:
            from charset_normalizer import from_bytes

            best = from_bytes(data[:200_000]).best()
        except Exception:  # pragma: no cover - defensive
            best = None
        if best is not None and best.encoding:
            try:
                text = data.decode(best.encoding)
            except (UnicodeDecodeError, LookupError):
                text = ""
            if text and not _bad_text(text):
                return text, best.encoding
    raise ValueError("binary or undecodable content (not UTF-8, GB18030/GBK or UTF-16 text)")


# --------------------------------------------------------------------------- loaders

@LOADERS.register("txt")
def load_txt(data: bytes, path: Path) -> str:
    try:
        text, _ = decode_text(data)
    except ValueError as exc:
        raise LoadError(path, str(exc)) from None
    return text


@LOADERS.register("html")
def load_html(data: bytes, path: Path) -> str:
    text = load_txt(data, path)
    return html_to_text(text)


_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "section", "article", "header",
               "footer", "blockquote", "pre", "ul", "ol", "dd", "dt", "title", "form", "main", "aside", "figure",
               "figcaption", "address", "center"}
_WS = re.compile(r"[ \t\r\n\f\v]+")
_CELL = "\x1f"  # table cell boundary, becomes a tab
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one block element per paragraph, paragraphs separated by a blank line."""
    from bs4 import BeautifulSoup, Comment, NavigableString

    try:
        soup = BeautifulSoup(markup, "lxml")
    except Exception:  # pragma: no cover - lxml missing
        soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "nav", "footer", "aside", "form",
                     "button", "select"]):
        tag.decompose()
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    blocks: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        s = _WS.sub(" ", "".join(buf)).strip(" ")
        s = _CJK_GAP.sub("", s)
        if _CELL in s:
            s = "\t".join(c.strip(" ") for c in s.strip(_CELL + " ").split(_CELL) if c.strip(" "))
        if s.strip():
            blocks.append(s)
        buf.clear()

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        for child in node.children:
            if isinstance(child, NavigableString):
                buf.append(str(child))
                continue
            name = (child.name or "").lower()
            if name == "br":
                flush()
                continue
            if name in ("td", "th"):
                buf.append(_CELL)
                walk(child)
                buf.append(_CELL)
                continue
            if name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    root = soup.body or soup
    if soup.head is not None and root is soup:
        soup.head.decompose()
    walk(root)
    flush()
    return "\n\n".join(blocks) + ("\n" if blocks else "")


@LOADERS.register("docx")
def load_docx(data: bytes, path: Path) -> str:
    """Body paragraphs and table rows of word/document.xml, in document order (what Word shows as text)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise LoadError(path, f"truncated or corrupt .docx (not a readable zip archive: {exc})") from None
    if "word/document.xml" not in names:
        if "EncryptedPackage" in names:
            raise LoadError(path, "encrypted .docx (password-protected)")
        raise LoadError(path, "a zip archive that is not a .docx (no word/document.xml)")
    try:
        xml = zf.read("word/document.xml")  # checks the member's CRC
    except Exception as exc:  # BadZipFile, zlib.error, EOFError …
        raise LoadError(path, f"truncated or corrupt .docx ({type(exc).__name__}: {exc})") from None
    try:
        from lxml import etree

        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except Exception as exc:
        raise LoadError(path, f"truncated or corrupt .docx (word/document.xml: {exc})") from None
    body = next((el for el in root if _local(el) == "body"), None)
    parts: list[str] = []
    if body is not None:
        _docx_blocks(body, parts)
    paras = [p for p in parts if p.strip()]
    if not paras:
        raise LoadError(path, "empty document (.docx without text)")
    return "\n\n".join(paras) + "\n"


def _local(el) -> str:  # type: ignore[no-untyped-def]
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_RUN_CONTAINERS = {"hyperlink", "ins", "smartTag", "fldSimple", "customXml", "sdt", "sdtContent", "moveTo", "dir", "bdo"}


def _docx_paragraph(p) -> str:  # type: ignore[no-untyped-def]
    out: list[str] = []

    def runs(node) -> None:  # type: ignore[no-untyped-def]
        for child in node:
            name = _local(child)
            if name == "r":
                for x in child:
                    n = _local(x)
                    if n == "t":
                        out.append(x.text or "")
                    elif n == "tab":
                        out.append("\t")
                    elif n in ("br", "cr"):
                        out.append("\n")
                    elif n == "noBreakHyphen":
                        out.append("-")
            elif name in _RUN_CONTAINERS:
                runs(child)

    runs(p)
    return "".join(out).strip("\r\n")


def _docx_blocks(node, parts: list[str]) -> None:  # type: ignore[no-untyped-def]
    for child in node:
        name = _local(child)
        if name == "p":
            parts.append(_docx_paragraph(child))
        elif name == "tbl":
            for tr in (x for x in child if _local(x) == "tr"):
                cells = []
                for tc in (x for x in tr if _local(x) == "tc"):
                    text = " ".join(t for t in (_docx_paragraph(q).strip() for q in tc.iter() if _local(q) == "p") if t)
                    if text:
                        cells.append(text)
                if cells:
                    parts.append("\t".join(cells))
        elif name in ("sdt", "sdtContent", "customXml"):
            _docx_blocks(child, parts)


_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–－~]\s*\d{1,4}\s*[-—–－~]|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d{1,4}\s*/\s*\d{1,4}|\d{1,4})\s*$")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_FINAL = tuple("。！？；：!?;:")


@LOADERS.register("pdf")
def load_pdf(data: bytes, path: Path) -> str:
    import pymupdf

    if b"%%EOF" not in data[-4096:]:
        raise LoadError(path, "truncated or corrupt .pdf (no %%EOF at the end: the file was cut short)")
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise LoadError(path, f"truncated or corrupt .pdf ({_short(exc)})") from None
    try:
        if pdf.needs_pass:
            raise LoadError(path, "encrypted .pdf (password required)")
        if pdf.page_count == 0:
            raise LoadError(path, "truncated or corrupt .pdf (no pages)")
        pages: list[str] = []
        try:
            for page in pdf:
                pages.append(_pdf_page_text(page))
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError(path, f"truncated or corrupt .pdf ({_short(exc)})") from None
    finally:
        pdf.close()
    text = "\n\n".join(p for p in pages if p.strip())
    if not text.strip():
        raise LoadError(path, "scanned? no text layer (the .pdf has no extractable text)")
    return text + "\n"


def _short(exc: Exception) -> str:
    s = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {s[0] if s else ''}".rstrip(": ")


def _pdf_page_text(page) -> str:  # type: ignore[no-untyped-def]
    """One page: blocks become paragraphs; wrapped lines inside a block are joined; page numbers dropped."""
    paras: list[str] = []
    d = page.get_text("dict", flags=0)
    for block in d.get("blocks", []):
        if block.get("type", 0) != 0:
            continue
        lines = []
        for line in block.get("lines", []):
            t = "".join(span.get("text", "") for span in line.get("spans", []))
            if t.strip():
                lines.append((line["bbox"], t))
        if not lines:
            continue
        bx0 = min(b[0] for b, _ in lines)
        bx1 = max(b[2] for b, _ in lines)
        cur = ""
        prev_short = False
        for (x0, y0, x1, y1), t in lines:
            h = max(1.0, y1 - y0)
            indented = x0 > bx0 + 1.5 * h
            if cur and (indented or (prev_short and cur.rstrip().endswith(_FINAL))):
                paras.append(cur)
                cur = ""
            if cur:
                a, b = cur.rstrip(), t.lstrip()
                if a and b and _ASCII_ALNUM.match(a[-1]) and _ASCII_ALNUM.match(b[0]):
                    cur = a + " " + b
                else:
                    cur = a + b
            else:
                cur = t.strip()
            prev_short = x1 < bx1 - 2 * h
        if cur.strip():
            paras.append(cur)
    paras = [p.strip() for p in paras if p.strip() and not _PAGE_NUMBER.match(p)]
    return "\n\n".join(paras)


# --------------------------------------------------------------------------- entry points

def _settings(settings: "Settings | None") -> "Settings":
    if settings is None:
        from pipeline.config import get_settings

        settings = get_settings()
    return settings


def load_text(path: str | os.PathLike[str], settings: "Settings | None" = None) -> str:
    """The text of one bulletin file; raises LoadError naming the file and the cause."""
    settings = _settings(settings)
    p = Path(path)
    try:
        if p.is_dir():
            raise LoadError(p, "is a directory, not a file")
        size = p.stat().st_size
    except FileNotFoundError:
        raise LoadError(p, "file not found") from None
    except PermissionError:
        raise LoadError(p, "permission denied") from None
    except OSError as exc:
        raise LoadError(p, f"cannot read ({exc.strerror or exc})") from None
    limit = settings.load.max_bytes
    if size > limit:
        raise LoadError(p, f"over size limit ({size:,} bytes > load.max_bytes = {limit:,})")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LoadError(p, f"cannot read ({exc.strerror or exc})") from None
    return load_bytes(data, p, settings)


def load_bytes(data: bytes, path: str | os.PathLike[str] = "<bytes>", settings: "Settings | None" = None) -> str:
    settings = _settings(settings)
    p = Path(path)
    if len(data) > settings.load.max_bytes:
        raise LoadError(p, f"over size limit ({len(data):,} bytes > load.max_bytes = {settings.load.max_bytes:,})")
    try:
        fmt = detect_format(data)
    except ValueError as exc:
        raise LoadError(p, str(exc)) from None
    if fmt == "text":
        text = LOADERS.get("txt")(data, p)
        if _HTML_START.match(text[:2000]) or len(_HTML_TAG.findall(text[:5000])) >= 3:
            text = html_to_text(text)
    else:
        text = LOADERS.get(fmt)(data, p)
    if not text.strip():
        raise LoadError(p, "empty file (no text)")
    if len(text) > settings.load.max_chars:
        raise LoadError(p, f"over size limit ({len(text):,} characters > load.max_chars = {settings.load.max_chars:,})")
    return text


def load_document(path: str | os.PathLike[str], settings: "Settings | None" = None) -> "Document":
    """load_text + parse_document."""
    from pipeline.structure import parse_document

    text = load_text(path, settings)
    return parse_document(text, path=str(path))


def expand_paths(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    """Files given, and the files under directories given (recursively, sorted, hidden files skipped)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*")
                              if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out


def iter_documents(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
                   settings: "Settings | None" = None) -> Iterator[tuple[Path, "Document | LoadError"]]:
    """(path, Document) for each file that loads, (path, LoadError) for each that does not; never stops early."""
    from pipeline.structure import parse_document

    settings = _settings(settings)
    for p in expand_paths(paths):
        try:
            text = load_text(p, settings)
            yield p, parse_document(text, path=str(p))
        except LoadError as exc:
            yield p, exc
        except Exception as exc:  # one broken file never stops a directory
            yield p, LoadError(p, f"unexpected error ({type(exc).__name__}: {exc})")
