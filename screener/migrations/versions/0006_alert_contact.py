"""Contact details a person in crisis may leave with their urgent alert.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A self-screen collects no name or phone number, so an urgent alert for a person who closes the tab
left staff nothing to act on. The urgent panel now offers, optionally, a name, a phone number and a
best time to call; the alert keeps them, or that the person declined (issue 8).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_alert") as batch:
        batch.add_column(sa.Column("contact_choice", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("contact_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("contact_time", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("contact_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_alert") as batch:
        batch.drop_column("contact_at")
        batch.drop_column("contact_time")
        batch.drop_column("contact_phone")
        batch.drop_column("contact_name")
        batch.drop_column("contact_choice")
