"""Each screening version keeps the patient details it was recorded with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

An amendment that corrects a name, date of birth or MRN used to overwrite them on the screening;
now the earlier version keeps what it had, as its answers do (design.md section 4).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screening_version") as batch:
        batch.add_column(sa.Column("subject_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("subject_birth_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("subject_mrn", sa.String(length=64), nullable=True))
    # Versions recorded before this change get the details their screening holds now.
    op.execute(
        "UPDATE screening_version SET subject_name = (SELECT subject_name FROM screening"
        " WHERE screening.id = screening_version.screening_id),"
        " subject_birth_date = (SELECT subject_birth_date FROM screening"
        " WHERE screening.id = screening_version.screening_id),"
        " subject_mrn = (SELECT subject_mrn FROM screening WHERE screening.id = screening_version.screening_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("screening_version") as batch:
        batch.drop_column("subject_mrn")
        batch.drop_column("subject_birth_date")
        batch.drop_column("subject_name")
