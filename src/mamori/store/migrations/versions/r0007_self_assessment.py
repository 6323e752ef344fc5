"""Self-assessment: assessments per organisation and year, answer revisions, evidence by content hash, remediation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("organisation_en", sa.String(length=200), nullable=False),
        sa.Column("organisation_ja", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("framework_version", sa.String(length=64), nullable=False),
        sa.Column("framework_digest", sa.String(length=64), nullable=False),
        sa.Column("framework_document", sa.LargeBinary(), nullable=False),
        sa.Column("target_document", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("locked_us", sa.BigInteger(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("lock_digest", sa.String(length=64), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("organisation", "year", name=op.f("uq_assessments_organisation")),
    )
    op.create_table(
        "evidence_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_evidence_blobs")),
    )
    op.create_table(
        "assessment_answers",
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=True),
        sa.Column("documentation", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("machine_state", sa.LargeBinary(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("answered_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name=op.f("fk_assessment_answers_assessment_id_assessments")
        ),
        sa.PrimaryKeyConstraint("assessment_id", "question_id", "revision", name=op.f("pk_assessment_answers")),
    )
    op.create_table(
        "assessment_evidence",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.String(length=10), nullable=False),
        sa.Column("expires_on", sa.String(length=10), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name=op.f("fk_assessment_evidence_assessment_id_assessments")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["evidence_blobs.sha256"], name=op.f("fk_assessment_evidence_sha256_evidence_blobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_evidence")),
    )
    with op.batch_alter_table("assessment_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_evidence_assessment_id"), ["assessment_id"], unique=False)

    op.create_table(
        "remediation_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("closed_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name=op.f("fk_remediation_items_assessment_id_assessments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_items")),
    )
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remediation_items_assessment_id"), ["assessment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediation_items_assessment_id"))

    op.drop_table("remediation_items")
    with op.batch_alter_table("assessment_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_evidence_assessment_id"))

    op.drop_table("assessment_evidence")
    op.drop_table("assessment_answers")
    op.drop_table("evidence_blobs")
    op.drop_table("assessments")
