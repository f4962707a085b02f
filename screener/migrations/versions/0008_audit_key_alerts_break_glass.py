"""Audit checkpoints and TRUNCATE refused, alert flood grouping, restricted screenings and break-glass

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Issue 9, items 4 and 5 (security-reliability S-20, S-21):

- ``audit_checkpoint``: signed (count, head hash) statements of the audit trail, append-only like
  the trail itself (UPDATE and DELETE refused by a trigger on both backends).
  The chain's hashes become keyed (HMAC) in the code; rows recorded before are re-keyed by
  ``screener audit rekey``, not here: a migration must not need the audit key.
- ``staff_alert.source_addr`` and ``grouped_into_id``: alerts from one address past its limit are
  grouped under that address's open alert instead of each alerting staff on its own.
- ``screening.restricted`` and ``screening_access``: a clinician may restrict a screening to its care
  team with a reason; anyone else then needs a typed reason (break-glass), kept here for the report.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out rather than imported from screener.models: a migration must not change when the models do.
UTC_DATETIME = sa.DateTime(timezone=True)

CHECKPOINT_APPEND_ONLY_SQLITE = [
    f"""CREATE TRIGGER audit_checkpoint_no_{verb.lower()} BEFORE {verb} ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
APPEND_ONLY_POSTGRESQL = [
    # One function for the new triggers, naming the table it guards.
    """CREATE FUNCTION screener_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION screener_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in APPEND_ONLY_POSTGRESQL if postgresql else CHECKPOINT_APPEND_ONLY_SQLITE:
        op.execute(statement)

    with op.batch_alter_table("staff_alert") as batch:
        batch.add_column(sa.Column("source_addr", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("grouped_into_id", sa.Integer(), nullable=True))
        batch.create_index("ix_staff_alert_source_addr_created_at", ["source_addr", "created_at"], unique=False)
        batch.create_index(batch.f("ix_staff_alert_grouped_into_id"), ["grouped_into_id"], unique=False)

    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        "screening_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screening.id"], name=op.f("fk_screening_access_screening_id_screening")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], name=op.f("fk_screening_access_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_access")),
    )
    with op.batch_alter_table("screening_access") as batch:
        batch.create_index("ix_screening_access_screening_id_user_id", ["screening_id", "user_id"], unique=False)
        batch.create_index("ix_screening_access_kind_id", ["kind", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_access") as batch:
        batch.drop_index("ix_screening_access_kind_id")
        batch.drop_index("ix_screening_access_screening_id_user_id")
    op.drop_table("screening_access")

    with op.batch_alter_table("screening") as batch:
        batch.drop_column("restricted")

    with op.batch_alter_table("staff_alert") as batch:
        batch.drop_index(batch.f("ix_staff_alert_grouped_into_id"))
        batch.drop_index("ix_staff_alert_source_addr_created_at")
        batch.drop_column("grouped_into_id")
        batch.drop_column("source_addr")

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_checkpoint_append_only ON audit_checkpoint")
        op.execute("DROP FUNCTION screener_append_only()")
    op.drop_table("audit_checkpoint")
