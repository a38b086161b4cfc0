"""Initial schema: runs, regions, organisations and aliases, documents and their history, paragraphs, mentions, facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "regions", _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["regions.id"], name="fk_regions_parent_id_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_regions"),
        sa.UniqueConstraint("name", name="uq_regions_name"),
    )
    op.create_table(
        "runs", _id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(200), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False)
          for c in ("n_documents", "n_new", "n_replaced", "n_unchanged", "n_failed", "n_facts")],
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "documents", _id(),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("issue", sa.Integer(), nullable=True),
        sa.Column("total_issue", sa.Integer(), nullable=True),
        sa.Column("special_issue", sa.Text(), nullable=True),
        sa.Column("special_issue_number", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("subheadline", sa.Text(), nullable=True),
        sa.Column("region", sa.String(200), nullable=True),
        sa.Column("region_id", ID, nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("n_chars", sa.Integer(), nullable=True),
        sa.Column("n_paragraphs", sa.Integer(), nullable=False),
        sa.Column("n_facts", sa.Integer(), nullable=False),
        sa.Column("header", sa.JSON(), nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_documents_region_id_regions"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_documents_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("sha256", name="uq_documents_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "organisations", _id(),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("generic", sa.Boolean(), nullable=False),
        sa.Column("region_name", sa.String(200), nullable=False),
        sa.Column("region_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_organisations_region_id_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("name", "region_name", name="uq_organisations_name_region"),
    )
    op.create_table(
        "document_runs", _id(),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("n_facts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_document_runs_document_id_documents",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_document_runs_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_document_runs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_document_runs_document_id", "document_runs", ["document_id"])
    op.create_index("ix_document_runs_run_id", "document_runs", ["run_id"])
    op.create_table(
        "organisation_aliases", _id(),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("alias", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name="fk_organisation_aliases_organisation_id_organisations", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_organisation_aliases"),
        sa.UniqueConstraint("organisation_id", "alias", name="uq_organisation_aliases_org_alias"),
    )
    op.create_index("ix_organisation_aliases_alias", "organisation_aliases", ["alias"])
    op.create_table(
        "paragraphs", _id(),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_paragraphs_document_id_documents",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_paragraphs"),
        sa.UniqueConstraint("document_id", "idx", name="uq_paragraphs_document_idx"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "mentions", _id(),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("paragraph_id", ID, nullable=True),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("norm", sa.JSON(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_mentions_document_id_documents",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paragraph_id"], ["paragraphs.id"], name="fk_mentions_paragraph_id_paragraphs",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_mentions"),
        sa.UniqueConstraint("document_id", "start", "end", "label", name="uq_mentions_span"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mentions_paragraph_id", "mentions", ["paragraph_id"])
    op.create_table(
        "facts", _id(),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("paragraph_id", ID, nullable=True),
        sa.Column("mention_id", ID, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("surface", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("max_value", sa.Float(precision=53), nullable=True),
        sa.Column("unit", sa.String(50), nullable=True),
        sa.Column("approx", sa.String(16), nullable=True),
        sa.Column("item", sa.Text(), nullable=True),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("organisation_id", ID, nullable=True),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("place_resolved", sa.String(200), nullable=True),
        sa.Column("region_id", ID, nullable=True),
        sa.Column("time_text", sa.Text(), nullable=True),
        sa.Column("time_start", sa.Date(), nullable=True),
        sa.Column("time_end", sa.Date(), nullable=True),
        sa.Column("time_source", sa.String(16), nullable=True),
        sa.Column("change", sa.Float(precision=53), nullable=True),
        sa.Column("change_unit", sa.String(16), nullable=True),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_facts_document_id_documents",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], name="fk_facts_mention_id_mentions", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name="fk_facts_organisation_id_organisations"),
        sa.ForeignKeyConstraint(["paragraph_id"], ["paragraphs.id"], name="fk_facts_paragraph_id_paragraphs",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["facts.id"], name="fk_facts_parent_id_facts", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_facts_region_id_regions"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_facts_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_facts"),
        sa.UniqueConstraint("document_id", "start", "end", name="uq_facts_span"),
        sqlite_autoincrement=True,
    )
    for name, cols in (("ix_facts_item", ["item"]), ("ix_facts_time", ["time_start", "time_end"]),
                       ("ix_facts_unit", ["unit"]), ("ix_facts_organisation_id", ["organisation_id"]),
                       ("ix_facts_region_id", ["region_id"]), ("ix_facts_paragraph_id", ["paragraph_id"]),
                       ("ix_facts_mention_id", ["mention_id"]), ("ix_facts_parent_id", ["parent_id"])):
        op.create_index(name, "facts", cols)


def downgrade() -> None:
    for t in ("facts", "mentions", "paragraphs", "organisation_aliases", "document_runs", "organisations",
              "documents", "runs", "regions"):
        op.drop_table(t)
