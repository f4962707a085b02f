"""Drafts, screenings with their versions, staff alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out rather than imported from screener.models: a migration must not change when the models do.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "screening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("subject_name", sa.Text(), nullable=True),
        sa.Column("subject_birth_date", sa.Date(), nullable=True),
        sa.Column("subject_mrn", sa.String(length=64), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening")),
        sa.UniqueConstraint("reference_code", name=op.f("uq_screening_reference_code")),
    )
    op.create_index(op.f("ix_screening_created_at"), "screening", ["created_at"])
    op.create_index("ix_screening_urgent_created_at", "screening", ["urgent", "created_at"])

    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("urgent_shown", sa.JSON(), nullable=False),
        sa.Column("resume_code_hash", sa.String(length=64), nullable=True),
        sa.Column("resume_expires_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["screening_id"], ["screening.id"], name=op.f("fk_draft_screening_id_screening")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
        sa.UniqueConstraint("resume_code_hash", name=op.f("uq_draft_resume_code_hash")),
        sa.UniqueConstraint("screening_id", name=op.f("uq_draft_screening_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_draft_token_hash")),
    )
    op.create_index(op.f("ix_draft_expires_at"), "draft", ["expires_at"])

    op.create_table(
        "screening_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("discarded", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("underlying_outcome", sa.String(length=32), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("clinician_notes", sa.JSON(), nullable=False),
        sa.Column("fired_rules", sa.JSON(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("ruleset_hash", sa.String(length=80), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screening.id"], name=op.f("fk_screening_version_screening_id_screening")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_version")),
        sa.UniqueConstraint("screening_id", "number", name=op.f("uq_screening_version_screening_id_number")),
    )

    op.create_table(
        "staff_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("screening_id", sa.Integer(), nullable=True),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("acknowledged_at", UTC_DATETIME, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["draft.id"], name=op.f("fk_staff_alert_draft_id_draft"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["screening_id"], ["screening.id"], name=op.f("fk_staff_alert_screening_id_screening")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert")),
    )
    op.create_index(op.f("ix_staff_alert_acknowledged_at"), "staff_alert", ["acknowledged_at"])
    op.create_index(op.f("ix_staff_alert_created_at"), "staff_alert", ["created_at"])
    op.create_index(op.f("ix_staff_alert_draft_id"), "staff_alert", ["draft_id"])
    op.create_index(op.f("ix_staff_alert_screening_id"), "staff_alert", ["screening_id"])
    op.create_index(
        "uq_staff_alert_open_draft_kind",
        "staff_alert",
        ["draft_id", "kind"],
        unique=True,
        sqlite_where=sa.text("acknowledged_at IS NULL"),
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes with it, on both backends.
    op.drop_table("staff_alert")
    op.drop_table("screening_version")
    op.drop_table("draft")
    op.drop_table("screening")
