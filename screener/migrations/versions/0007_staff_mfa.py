"""Staff MFA: TOTP secrets, single-use recovery codes, half-signed-in sessions, reset notices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Every staff role now signs in with a password and a second factor (TOTP, or a recovery code).
``staff_user`` gains the TOTP secret, when enrolment was confirmed and the last time step used (a
code cannot be used twice), and when and by whom an admin last reset the account (the person is
told at their next sign-in). ``staff_session`` gains ``mfa_verified_at``: a session is only fully
signed in once the second factor is verified, so every session open before this migration must pass
the second factor (or enrol) before it reaches anything again. Recovery codes are stored hashed
(Argon2id), one row each, and marked when used (issue 9, item 3).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Written out rather than imported from screener.models: a migration must not change when the models do.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mfa_enrolled_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("reset_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("reset_by_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("staff_session") as batch:
        batch.add_column(sa.Column("mfa_verified_at", UTC_DATETIME, nullable=True))
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], name=op.f("fk_staff_recovery_code_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_code")),
    )
    with op.batch_alter_table("staff_recovery_code") as batch:
        batch.create_index(batch.f("ix_staff_recovery_code_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_recovery_code") as batch:
        batch.drop_index(batch.f("ix_staff_recovery_code_user_id"))
    op.drop_table("staff_recovery_code")
    with op.batch_alter_table("staff_session") as batch:
        batch.drop_column("mfa_verified_at")
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("reset_by_id")
        batch.drop_column("reset_at")
        batch.drop_column("totp_last_step")
        batch.drop_column("mfa_enrolled_at")
        batch.drop_column("totp_secret")
