"""Review flags and priority on every stored decision, and the queue ordered by them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Ruleset 2026.12-draft.2 (rules.md section 9) adds ``review_flags`` (every fired clinician-review
rule, whatever the outcome) and ``priority`` (R-R16) to the result. Versions and re-evaluations
store both; the screening copies whether its current version has review flags and its priority,
for the queue (urgent first, then priority, then newest) and its two new filters.

Rows stored before this change get their flags from the rules they fired: every ``R-R*`` rule
is a clinician-review rule, and priority is R-R16 (never fired before draft.2). The backfill
reads and writes in id order, a batch at a time, in Python: JSON functions differ between
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000
REVIEW_RULE_PREFIX = "R-R"
PRIORITY_RULE = "R-R16"

#: (name, columns) of each queue index before and after: ORDER BY urgent, priority, created_at, id.
OLD_QUEUE_INDEXES = (
    ("ix_screening_queue", ["urgent", "created_at", "id"]),
    ("ix_screening_queue_outcome", ["outcome", "urgent", "created_at", "id"]),
    ("ix_screening_queue_review", ["review_status", "urgent", "created_at", "id"]),
    ("ix_screening_queue_outcome_review", ["outcome", "review_status", "urgent", "created_at", "id"]),
)
NEW_QUEUE_INDEXES = (
    ("ix_screening_queue", ["urgent", "priority", "created_at", "id"]),
    ("ix_screening_queue_outcome", ["outcome", "urgent", "priority", "created_at", "id"]),
    ("ix_screening_queue_review", ["review_status", "urgent", "priority", "created_at", "id"]),
    ("ix_screening_queue_outcome_review", ["outcome", "review_status", "urgent", "priority", "created_at", "id"]),
    ("ix_screening_queue_flagged", ["has_review_flags", "urgent", "priority", "created_at", "id"]),
    (
        "ix_screening_queue_flagged_outcome",
        ["has_review_flags", "outcome", "urgent", "priority", "created_at", "id"],
    ),
    (
        "ix_screening_queue_flagged_outcome_review",
        ["has_review_flags", "outcome", "review_status", "urgent", "priority", "created_at", "id"],
    ),
    (
        "ix_screening_queue_flagged_review",
        ["has_review_flags", "review_status", "urgent", "priority", "created_at", "id"],
    ),
    # The priority filter fixes priority: its pages are ordered by urgent, created_at, id.
    ("ix_screening_queue_priority", ["priority", "urgent", "created_at", "id"]),
)

# Written out rather than imported from screener.models: a migration must not change when the models do.
screening = sa.table(
    "screening",
    sa.column("id", sa.Integer()),
    sa.column("current_version", sa.Integer()),
    sa.column("has_review_flags", sa.Boolean()),
    sa.column("priority", sa.Boolean()),
)
screening_version = sa.table(
    "screening_version",
    sa.column("id", sa.Integer()),
    sa.column("screening_id", sa.Integer()),
    sa.column("number", sa.Integer()),
    sa.column("fired_rules", sa.JSON()),
    sa.column("review_flags", sa.JSON()),
    sa.column("priority", sa.Boolean()),
)
reevaluation = sa.table(
    "reevaluation",
    sa.column("id", sa.Integer()),
    sa.column("fired_rules", sa.JSON()),
    sa.column("review_flags", sa.JSON()),
    sa.column("priority", sa.Boolean()),
)


def review_flags(fired_rules: Any) -> list[str]:
    """The clinician-review rules among ``fired_rules``, ascending, as the rules engine lists them."""
    if not isinstance(fired_rules, list):
        return []
    return sorted({rule for rule in fired_rules if isinstance(rule, str) and rule.startswith(REVIEW_RULE_PREFIX)})


def _flagged_rows(connection: sa.Connection, table: sa.TableClause) -> Iterator[list[dict[str, Any]]]:
    """Batches of {"row_id", "flags", "priority"} for the rows of ``table`` that fired a review rule."""
    last = 0
    while True:
        query = sa.select(table.c.id, table.c.fired_rules).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        rows = connection.execute(query).all()
        if not rows:
            return
        last = rows[-1].id
        batch = []
        for row in rows:
            flags = review_flags(row.fired_rules)
            if flags:
                batch.append({"row_id": row.id, "flags": flags, "new_priority": PRIORITY_RULE in flags})
        if batch:
            yield batch


def _backfill(connection: sa.Connection) -> None:
    for table in (screening_version, reevaluation):
        update = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values(review_flags=sa.bindparam("flags", type_=sa.JSON()), priority=sa.bindparam("new_priority"))
        )
        for batch in _flagged_rows(connection, table):
            connection.execute(update, batch)
    # The screening copies its current version's flags, as the store does for new ones.
    update_screening = (
        sa.update(screening)
        .where(screening.c.id == sa.bindparam("row_id"))
        .values(has_review_flags=True, priority=sa.bindparam("new_priority"))
    )
    last = 0
    while True:
        query = (
            sa.select(screening.c.id, screening_version.c.review_flags, screening_version.c.priority)
            .join(
                screening_version,
                sa.and_(
                    screening_version.c.screening_id == screening.c.id,
                    screening_version.c.number == screening.c.current_version,
                ),
            )
            .where(screening.c.id > last)
            .order_by(screening.c.id)
            .limit(BATCH)
        )
        rows = connection.execute(query).all()
        if not rows:
            return
        last = rows[-1].id
        batch = [{"row_id": row.id, "new_priority": bool(row.priority)} for row in rows if row.review_flags]
        if batch:
            connection.execute(update_screening, batch)


def upgrade() -> None:
    with op.batch_alter_table("screening_version") as batch:
        batch.add_column(sa.Column("review_flags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("priority", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("reevaluation") as batch:
        batch.add_column(sa.Column("review_flags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("priority", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("has_review_flags", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("priority", sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill(op.get_bind())
    for name, _columns in OLD_QUEUE_INDEXES:
        op.drop_index(name, table_name="screening")
    for name, columns in NEW_QUEUE_INDEXES:
        op.create_index(name, "screening", columns)


def downgrade() -> None:
    for name, _columns in reversed(NEW_QUEUE_INDEXES):
        op.drop_index(name, table_name="screening")
    for name, columns in OLD_QUEUE_INDEXES:
        op.create_index(name, "screening", columns)
    with op.batch_alter_table("screening") as batch:
        batch.drop_column("priority")
        batch.drop_column("has_review_flags")
    with op.batch_alter_table("reevaluation") as batch:
        batch.drop_column("priority")
        batch.drop_column("review_flags")
    with op.batch_alter_table("screening_version") as batch:
        batch.drop_column("priority")
        batch.drop_column("review_flags")
