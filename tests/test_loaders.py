"""Loading: formats detected by content, the same paragraphs from every format, a clear error for each bad input."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.loaders import LoadError, detect_format, iter_documents, load_text
from pipeline.structure import parse_document

HEADER_FIELDS = ("title", "issue", "total_issue", "special_issue", "special_issue_number", "issuer", "date",
                 "headline", "subheadline", "region", "period", "print_date")


def _texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def _squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


# --------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be"])
def test_text_encodings_are_detected(tmp_path: Path, seed_text: str, settings, encoding: str):
    p = tmp_path / f"seed-{encoding}.txt"
    p.write_bytes(seed_text.encode(encoding))
    assert load_text(p, settings) == seed_text


def test_gb18030_copy_gives_the_same_paragraphs(tmp_path: Path, seed_text: str, seed_doc, settings):
    p = tmp_path / "seed-gb18030.txt"
    p.write_bytes(seed_text.encode("gb18030"))
    doc = parse_document(load_text(p, settings), path=str(p))
    assert _texts(doc) == _texts(seed_doc)
    assert [(q.start, q.end) for q in doc.paragraphs] == [(q.start, q.end) for q in seed_doc.paragraphs]
    for f in HEADER_FIELDS:
        assert getattr(doc, f) == getattr(seed_doc, f), f


def test_docx_made_from_the_seed_gives_the_same_paragraphs(tmp_path: Path, seed_blocks, seed_doc, settings, docx_writer):
    p = docx_writer(seed_blocks, tmp_path / "seed.docx")
    doc = parse_document(load_text(p, settings), path=str(p))
    assert _texts(doc) == _texts(seed_doc)
    assert [s.heading for s in doc.sections] == [s.heading for s in seed_doc.sections]
    for f in HEADER_FIELDS:
        assert getattr(doc, f) == getattr(seed_doc, f), f
    for par in doc.paragraphs:  # offsets map into the loaded text
        assert all(doc.raw[o] == c for o, c in zip(par.offsets, par.text) if not c.isspace())


def test_pdf_made_from_the_seed_gives_the_same_paragraphs(tmp_path: Path, seed_blocks, seed_doc, settings, pdf_writer):
    # the seed's second page break ("110 公里燃" | "气老旧管网") becomes a real page break in the PDF
    k = next(i for i, b in enumerate(seed_blocks) if b.startswith("气老旧管网"))
    p = pdf_writer(seed_blocks, tmp_path / "seed.pdf", page_break_before={k})
    doc = parse_document(load_text(p, settings), path=str(p))
    # a PDF keeps no spaces at line wraps: compare paragraphs with whitespace removed
    assert [_squeeze(t) for t in _texts(doc)] == [_squeeze(t) for t in _texts(seed_doc)]
    assert any("燃气老旧管网" in t for t in _texts(doc)) and any("工业园区" in t for t in _texts(doc))
    for f in ("title", "issue", "total_issue", "special_issue", "special_issue_number", "issuer", "date",
              "region", "period", "print_date"):
        assert getattr(doc, f) == getattr(seed_doc, f), f
    assert _squeeze(doc.headline) == _squeeze(seed_doc.headline)
    assert doc.cc == seed_doc.cc and doc.distribution == seed_doc.distribution


def test_html_made_from_the_seed_gives_the_same_paragraphs(tmp_path: Path, seed_blocks, seed_doc, settings):
    from html import escape

    body = "\n".join(f"<p>{escape(b)}</p>" for b in seed_blocks)
    p = tmp_path / "seed.htm"
    p.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>简报</title>"
                 f"<script>var a=1;</script></head><body><nav>首页</nav>{body}</body></html>", encoding="utf-8")
    doc = parse_document(load_text(p, settings), path=str(p))
    assert _texts(doc) == _texts(seed_doc)
    assert doc.headline == seed_doc.headline and doc.region == "赣州市"


def test_format_is_detected_by_content_not_extension(tmp_path: Path, seed_blocks, seed_text, settings, docx_writer):
    disguised = docx_writer(seed_blocks[:8], tmp_path / "really-a-docx.txt")
    assert load_text(disguised, settings).startswith("注意保存")
    plain = tmp_path / "really-text.pdf"
    plain.write_bytes(seed_text.encode("gb18030"))
    assert load_text(plain, settings) == seed_text
    assert detect_format(b"%PDF-1.7\n...") == "pdf"
    assert detect_format(b"PK\x03\x04rest") == "docx"


# --------------------------------------------------------------------------- bad inputs

def _error(path: Path, settings) -> str:
    with pytest.raises(LoadError) as info:
        load_text(path, settings)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg  # names the file
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_empty_file(tmp_path: Path, settings):
    for name, data in (("empty.txt", b""), ("blank.txt", b" \r\n\n\t"), ("bom-only.txt", b"\xef\xbb\xbf")):
        p = tmp_path / name
        p.write_bytes(data)
        assert "empty file" in _error(p, settings)


def test_binary_or_undecodable(tmp_path: Path, settings):
    p = tmp_path / "noise.txt"
    p.write_bytes(bytes(range(256)) * 8 + os.urandom(2048))
    assert "binary or undecodable" in _error(p, settings)
    img = tmp_path / "scan.txt"
    img.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    assert "binary content" in _error(img, settings)


def test_truncated_docx(tmp_path: Path, seed_blocks, settings, docx_writer):
    good = docx_writer(seed_blocks, tmp_path / "good.docx").read_bytes()
    p = tmp_path / "truncated.docx"
    p.write_bytes(good[: len(good) // 2])
    assert "truncated or corrupt .docx" in _error(p, settings)
    q = tmp_path / "not-word.docx"
    import zipfile

    with zipfile.ZipFile(q, "w") as z:
        z.writestr("hello.txt", "hi")
    assert "not a .docx" in _error(q, settings)


def test_corrupt_pdf(tmp_path: Path, seed_blocks, settings, pdf_writer):
    good = pdf_writer(seed_blocks[:6], tmp_path / "good.pdf").read_bytes()
    p = tmp_path / "truncated.pdf"
    p.write_bytes(good[: len(good) // 2])
    assert "truncated or corrupt .pdf" in _error(p, settings)
    q = tmp_path / "garbage.pdf"
    q.write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    assert "truncated or corrupt .pdf" in _error(q, settings)


def test_encrypted_pdf(tmp_path: Path, seed_blocks, settings, pdf_writer):
    import pymupdf

    p = pdf_writer(seed_blocks[:6], tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
                   user_pw="secret", owner_pw="owner")
    assert "encrypted .pdf" in _error(p, settings)


def test_pdf_without_text_layer(tmp_path: Path, settings):
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 200), False)
    pix.clear_with(230)
    page.insert_image(pymupdf.Rect(50, 50, 550, 400), pixmap=pix)
    p = tmp_path / "scanned.pdf"
    doc.save(str(p))
    assert "scanned? no text layer" in _error(p, settings)


def test_file_over_the_size_limit(tmp_path: Path, seed_text: str):
    small = load_settings(environ={"JIANBAO_LOAD__MAX_BYTES": "1000"})
    p = tmp_path / "big.txt"
    p.write_text(seed_text, encoding="utf-8")
    msg = _error(p, small)
    assert "over size limit" in msg and "1,000" in msg


def test_missing_file(tmp_path: Path, settings):
    assert "file not found" in _error(tmp_path / "nope.txt", settings)


def test_directory_with_a_broken_file_still_yields_the_good_ones(tmp_path: Path, seed_text, seed_blocks, settings,
                                                                 docx_writer):
    (tmp_path / "a-seed.txt").write_text(seed_text, encoding="utf-8")
    (tmp_path / "b-broken.docx").write_bytes(docx_writer(seed_blocks, tmp_path / "x.docx").read_bytes()[:900])
    (tmp_path / "x.docx").unlink()
    (tmp_path / "c-empty.txt").write_bytes(b"")
    (tmp_path / "d-seed-gb.txt").write_bytes(seed_text.encode("gb18030"))
    (tmp_path / ".hidden").write_bytes(b"\x00\x01")
    results = list(iter_documents(tmp_path, settings))
    names = [p.name for p, _ in results]
    assert names == ["a-seed.txt", "b-broken.docx", "c-empty.txt", "d-seed-gb.txt"]
    good = [r for _, r in results if not isinstance(r, LoadError)]
    bad = [r for _, r in results if isinstance(r, LoadError)]
    assert len(good) == 2 and all(d.title == "江西应急管理简报" for d in good)
    assert [Path(e.path).name for e in bad] == ["b-broken.docx", "c-empty.txt"]
    assert "truncated or corrupt .docx" in str(bad[0]) and "empty file" in str(bad[1])


def test_cli_prints_one_clear_line_for_a_bad_file(tmp_path: Path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n" + b"\x00" * 100)
    result = CliRunner().invoke(app, ["parse", str(p)])
    assert result.exit_code == 1
    out = result.output.strip()
    assert out.startswith("error: ") and str(p) in out and "truncated or corrupt .pdf" in out
    assert "Traceback" not in out and len(out.splitlines()) == 1


def test_every_example_bulletin_loads(settings):
    examples = Path(__file__).resolve().parent.parent / "examples" / "bulletins"
    results = list(iter_documents(examples, settings))
    assert len(results) >= 5
    assert all(not isinstance(r, LoadError) for _, r in results), [str(r) for _, r in results]
    for _, doc in results:
        assert 1500 <= len(doc.raw) <= 3500, (doc.path, len(doc.raw))
        assert doc.paragraphs and doc.date and doc.region
