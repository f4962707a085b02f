"""staff accounts, sessions, audit trail, reviews, re-evaluations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Adds staff accounts and server-side sessions, the append-only audit trail (hash chain; UPDATE and
DELETE refused by a trigger on both backends), clinician reviews, re-evaluations, and the queue's
review status and keyset-pagination indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Written out rather than imported from screener.models: a migration must not change when the models do.
UTC_DATETIME = sa.DateTime(timezone=True)

APPEND_ONLY_SQLITE = [
    f"""CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
APPEND_ONLY_POSTGRESQL = [
    """CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("last_login_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["staff_user.id"], name=op.f("fk_audit_event_actor_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False)

    for statement in APPEND_ONLY_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else APPEND_ONLY_SQLITE:
        op.execute(statement)

    op.create_table(
        "reevaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("performed_by", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("underlying_outcome", sa.String(length=32), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("clinician_notes", sa.JSON(), nullable=False),
        sa.Column("fired_rules", sa.JSON(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("ruleset_hash", sa.String(length=80), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["performed_by"], ["staff_user.id"], name=op.f("fk_reevaluation_performed_by_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screening.id"], name=op.f("fk_reevaluation_screening_id_screening")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reevaluation")),
    )
    with op.batch_alter_table("reevaluation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reevaluation_screening_id"), ["screening_id"], unique=False)

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("ruleset_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["staff_user.id"], name=op.f("fk_review_reviewer_id_staff_user")),
        sa.ForeignKeyConstraint(["screening_id"], ["screening.id"], name=op.f("fk_review_screening_id_screening")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_screening_id"), ["screening_id"], unique=False)

    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], name=op.f("fk_staff_session_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_session_token_hash")),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review_status", sa.String(length=16), server_default="unreviewed", nullable=False)
        )
        batch_op.drop_index(batch_op.f("ix_screening_urgent_created_at"))
        batch_op.create_index("ix_screening_queue", ["urgent", "created_at", "id"], unique=False)
        batch_op.create_index("ix_screening_queue_outcome", ["outcome", "urgent", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_screening_queue_review", ["review_status", "urgent", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_queue_review")
        batch_op.drop_index("ix_screening_queue_outcome")
        batch_op.drop_index("ix_screening_queue")
        batch_op.create_index(batch_op.f("ix_screening_urgent_created_at"), ["urgent", "created_at"], unique=False)
        batch_op.drop_column("review_status")

    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_user_id"))

    op.drop_table("staff_session")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_screening_id"))

    op.drop_table("review")
    with op.batch_alter_table("reevaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reevaluation_screening_id"))

    op.drop_table("reevaluation")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    op.drop_table("audit_event")
    op.drop_table("staff_user")
