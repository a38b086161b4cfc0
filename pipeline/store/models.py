"""The knowledge store's tables (SQLAlchemy 2 declarative). The schema itself is created and changed only by
the Alembic migrations in pipeline/store/migrations; tests check that the two agree."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# (foreign keys that rows are deleted through are indexed: replacing a document's facts must not scan the table;
# the unique constraints that start with document_id serve as its index)

# integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid) on SQLite
Id = BigInteger().with_variant(Integer(), "sqlite")


# ids of deleted rows are never given again (SQLite would reuse the highest rowid): a fact id, once
# exported, never names another fact
NO_REUSE = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    """One ingest (or other) run: which model, when, what it did."""

    __tablename__ = "runs"
    __table_args__ = (NO_REUSE,)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), default="ingest")
    model_version: Mapped[Optional[str]] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    host: Mapped[Optional[str]] = mapped_column(String(200))
    pid: Mapped[Optional[int]] = mapped_column(Integer)
    n_documents: Mapped[int] = mapped_column(Integer, default=0)
    n_new: Mapped[int] = mapped_column(Integer, default=0)
    n_replaced: Mapped[int] = mapped_column(Integer, default=0)
    n_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    n_failed: Mapped[int] = mapped_column(Integer, default=0)
    n_facts: Mapped[int] = mapped_column(Integer, default=0)


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level: Mapped[str] = mapped_column(String(16))  # country | province | city | county | area
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("regions.id"))


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("name", "region_name", name="uq_organisations_name_region"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32))
    generic: Mapped[bool] = mapped_column(Boolean, default=False)
    region_name: Mapped[str] = mapped_column(String(200), default="")  # '' when it has none (part of the key)
    region_id: Mapped[Optional[int]] = mapped_column(ForeignKey("regions.id"))


class OrganisationAlias(Base):
    __tablename__ = "organisation_aliases"
    __table_args__ = (UniqueConstraint("organisation_id", "alias", name="uq_organisation_aliases_org_alias"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(500), index=True)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (NO_REUSE,)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the file's bytes
    text_sha256: Mapped[Optional[str]] = mapped_column(String(64))  # of the loaded text (Document.sha256)
    source_path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    error: Mapped[Optional[str]] = mapped_column(Text)
    model_version: Mapped[Optional[str]] = mapped_column(String(200))
    title: Mapped[Optional[str]] = mapped_column(Text)
    issue: Mapped[Optional[int]] = mapped_column(Integer)
    total_issue: Mapped[Optional[int]] = mapped_column(Integer)
    special_issue: Mapped[Optional[str]] = mapped_column(Text)
    special_issue_number: Mapped[Optional[int]] = mapped_column(Integer)
    issuer: Mapped[Optional[str]] = mapped_column(Text)
    date: Mapped[Optional[date]] = mapped_column(Date)
    headline: Mapped[Optional[str]] = mapped_column(Text)
    subheadline: Mapped[Optional[str]] = mapped_column(Text)
    region: Mapped[Optional[str]] = mapped_column(String(200))
    region_id: Mapped[Optional[int]] = mapped_column(ForeignKey("regions.id"))
    period_start: Mapped[Optional[date]] = mapped_column(Date)
    period_end: Mapped[Optional[date]] = mapped_column(Date)
    n_chars: Mapped[Optional[int]] = mapped_column(Integer)
    n_paragraphs: Mapped[int] = mapped_column(Integer, default=0)
    n_facts: Mapped[int] = mapped_column(Integer, default=0)
    header: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)  # cc, distribution, print_date …
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DocumentRun(Base):
    """History: every time a run wrote (or failed to write) a document."""

    __tablename__ = "document_runs"
    __table_args__ = (NO_REUSE,)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"), index=True)
    model_version: Mapped[Optional[str]] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))  # new | replaced | failed
    n_facts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Paragraph(Base):
    __tablename__ = "paragraphs"
    __table_args__ = (UniqueConstraint("document_id", "idx", name="uq_paragraphs_document_idx"), NO_REUSE)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    section: Mapped[Optional[str]] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Mention(Base):
    """Every entity the extractor found, at raw-file offsets."""

    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("document_id", "start", "end", "label", name="uq_mentions_span"), NO_REUSE)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    paragraph_id: Mapped[Optional[int]] = mapped_column(ForeignKey("paragraphs.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    norm: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[Optional[float]] = mapped_column(Float)
    model_version: Mapped[Optional[str]] = mapped_column(String(200))


class Fact(Base):
    __tablename__ = "facts"
    __table_args__ = (
        UniqueConstraint("document_id", "start", "end", name="uq_facts_span"),
        Index("ix_facts_item", "item"),
        Index("ix_facts_time", "time_start", "time_end"),
        NO_REUSE,
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    paragraph_id: Mapped[Optional[int]] = mapped_column(ForeignKey("paragraphs.id", ondelete="CASCADE"), index=True)
    mention_id: Mapped[Optional[int]] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    model_version: Mapped[Optional[str]] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(16))
    surface: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    value: Mapped[Optional[float]] = mapped_column(Float(precision=53))
    max_value: Mapped[Optional[float]] = mapped_column(Float(precision=53))
    unit: Mapped[Optional[str]] = mapped_column(String(50), index=True)
    approx: Mapped[Optional[str]] = mapped_column(String(16))
    item: Mapped[Optional[str]] = mapped_column(Text)
    agent: Mapped[Optional[str]] = mapped_column(Text)  # surface, whitespace removed
    organisation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organisations.id"), index=True)
    place: Mapped[Optional[str]] = mapped_column(Text)  # surface (None: inherited from the bulletin)
    place_resolved: Mapped[Optional[str]] = mapped_column(String(200))
    region_id: Mapped[Optional[int]] = mapped_column(ForeignKey("regions.id"), index=True)
    time_text: Mapped[Optional[str]] = mapped_column(Text)
    time_start: Mapped[Optional[date]] = mapped_column(Date)
    time_end: Mapped[Optional[date]] = mapped_column(Date)
    time_source: Mapped[Optional[str]] = mapped_column(String(16))
    change: Mapped[Optional[float]] = mapped_column(Float(precision=53))
    change_unit: Mapped[Optional[str]] = mapped_column(String(16))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("facts.id", ondelete="SET NULL"), index=True)
    score: Mapped[Optional[float]] = mapped_column(Float)

