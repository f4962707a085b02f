"""Ruleset impact reports: every stored screening replayed under the current ruleset

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Before a new ruleset is signed off, clinical governance asks which past screenings would now come out
differently, and how. ``ruleset_impact_report`` keeps each report (both rulesets' versions and hashes,
the outcome matrix, the warnings, notes, review flags and priority that change) and
``ruleset_impact_item`` the screenings that change or could not be replayed, for follow-up. Nothing
else is touched: stored versions are never recomputed (issue 12, item 3).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out rather than imported from screener.models: a migration must not change when the models do.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ruleset_impact_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("performed_by", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("to_ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("to_ruleset_hash", sa.String(length=80), nullable=False),
        sa.Column("from_rulesets", sa.JSON(), nullable=False),
        sa.Column("screenings", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["performed_by"], ["staff_user.id"], name=op.f("fk_ruleset_impact_report_performed_by_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_impact_report")),
    )
    op.create_index(op.f("ix_ruleset_impact_report_created_at"), "ruleset_impact_report", ["created_at"], unique=False)
    op.create_table(
        "ruleset_impact_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("reference_code", sa.String(length=16), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stored_ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("from_outcome", sa.String(length=32), nullable=False),
        sa.Column("to_outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["ruleset_impact_report.id"],
            name=op.f("fk_ruleset_impact_item_report_id_ruleset_impact_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_impact_item")),
    )
    op.create_index("ix_ruleset_impact_item_report_id_id", "ruleset_impact_item", ["report_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ruleset_impact_item_report_id_id", table_name="ruleset_impact_item")
    op.drop_table("ruleset_impact_item")
    op.drop_index(op.f("ix_ruleset_impact_report_created_at"), table_name="ruleset_impact_report")
    op.drop_table("ruleset_impact_report")
