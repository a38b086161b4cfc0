"""Shared fixtures. Other areas may append their own fixtures below (keep each one's section marked)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "bulletins"
SEED = EXAMPLES / "jiangxi-2021-117.txt"


# --------------------------------------------------------------------------- foundation (issue 2)

@pytest.fixture(scope="session")
def settings():
    from pipeline.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    assert SEED.is_file(), f"{SEED} missing"
    return SEED


@pytest.fixture(scope="session")
def seed_text(seed_path: Path) -> str:
    return seed_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_doc(seed_text: str, seed_path: Path):
    from pipeline.structure import parse_document

    return parse_document(seed_text, path=str(seed_path))


@pytest.fixture(scope="session")
def seed_blocks(seed_text: str) -> list[str]:
    """The seed's non-empty blocks (what a word processor would hold as paragraphs)."""
    return [b.strip() for b in re.split(r"\n\s*\n", seed_text) if b.strip()]


@pytest.fixture(scope="session")
def nlp(settings):
    """The configured spaCy pipeline; fetches the pkuseg model first if it is not cached (as `make setup` does)."""
    from pipeline.segment import get_nlp, setup_pkuseg

    if settings.segment.backend == "pkuseg":
        setup_pkuseg(settings)
    return get_nlp(settings)


def write_docx(paragraphs: list[str], path: Path) -> Path:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def write_pdf(blocks: list[str], path: Path, page_break_before: set[int] | None = None, **save_kw) -> Path:
    """One text box per block (PyMuPDF's built-in CJK font), a new page when full or when asked, page numbers."""
    import pymupdf

    page_break_before = page_break_before or set()
    doc = pymupdf.open()
    width, height = pymupdf.paper_size("a4")
    margin, size = 60, 11
    page = None
    y = 0.0

    def new_page():
        nonlocal page, y
        page = doc.new_page(width=width, height=height)
        page.insert_text((width / 2 - 15, height - 40), f"- {doc.page_count} -", fontname="china-s", fontsize=9)
        y = margin

    new_page()
    for k, block in enumerate(blocks):
        lines = 1 + int(len(block) * size / (width - 2 * margin - size))
        h = lines * size * 1.6 + size
        if k in page_break_before or y + h > height - 80:
            new_page()
        rect = pymupdf.Rect(margin, y, width - margin, y + h + 2 * size)
        rc = page.insert_textbox(rect, block, fontname="china-s", fontsize=size, lineheight=1.4)
        assert rc >= 0, "test PDF: text box too small"
        y = rect.y1 - rc + size
    doc.save(str(path), **save_kw)
    doc.close()
    return path


@pytest.fixture
def docx_writer():
    return write_docx


@pytest.fixture
def pdf_writer():
    return write_pdf


# ---------------------------------------------------------------------------------------- stores
PG_SERVER = os.environ.get("JIANBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def pg_database():
    from pipeline.store.db import create_scratch_database, drop_database, postgres_unreachable

    why = postgres_unreachable(PG_SERVER)
    if why:
        pytest.skip(why)
    url = create_scratch_database(PG_SERVER, "jianbao_test")
    yield url
    drop_database(url, PG_SERVER)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A fresh, empty store: a SQLite file, or a new schema in this session's PostgreSQL scratch database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    from pipeline.store.db import create_scratch_schema

    return create_scratch_schema(request.getfixturevalue("pg_database"))


@pytest.fixture
def store(store_url):
    from pipeline.ingest import open_store

    s = open_store(store_url)
    yield s
    s.close()
