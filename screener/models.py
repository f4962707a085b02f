"""Tables. A screening is a FHIR-style QuestionnaireResponse whose answers are never overwritten:
an amendment adds a ScreeningVersion, and each version keeps the decision exactly as it was shown.

Timestamps are aware UTC datetimes on every backend. JSON columns hold plain data only; the
store copies it in, so nothing here knows about the rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names are stable across backends, so later migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The largest id a row can have: every id column is an INTEGER, which PostgreSQL holds in 32 bits
#: (SQLite in 64). An id typed into a URL, a cursor or a form beyond it names nothing: it is refused
#: before it reaches the database, on both backends alike.
MAX_ID = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out; SQLite stores it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (screener.clock.utcnow())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Draft(Base):
    """A questionnaire in progress in one browser; found by the sha256 of its session token."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: question_id -> answer (a list for "pick all"), as the person gave it.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    #: Rule IDs whose crisis panel this person has already seen.
    urgent_shown: Mapped[list[str]] = mapped_column(JSON)
    resume_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    resume_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: After this the draft may be purged, completed or not.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: Set on completion; unique, so one draft yields at most one screening.
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screening.id"), unique=True)


class Screening(Base):
    """One completed questionnaire response; its content lives in numbered versions."""

    __tablename__ = "screening"
    # The staff queue: urgent first, then priority, then newest, read in keyset pages; each filter
    # has its index (the priority filter fixes priority, so its index leaves it out of the order).
    __table_args__ = (
        Index("ix_screening_queue", "urgent", "priority", "created_at", "id"),
        Index("ix_screening_queue_outcome", "outcome", "urgent", "priority", "created_at", "id"),
        Index("ix_screening_queue_review", "review_status", "urgent", "priority", "created_at", "id"),
        # Both filters at once: without it SQLite walks one filter's index past every row of the other.
        Index(
            "ix_screening_queue_outcome_review", "outcome", "review_status", "urgent", "priority", "created_at", "id"
        ),
        Index("ix_screening_queue_flagged", "has_review_flags", "urgent", "priority", "created_at", "id"),
        # "Needs a clinician" within one outcome (e.g. OTHER_TREATMENTS_FIRST, which outranks review):
        # without it, an outcome with no flagged screenings is walked to its end to find none.
        Index(
            "ix_screening_queue_flagged_outcome",
            "has_review_flags",
            "outcome",
            "urgent",
            "priority",
            "created_at",
            "id",
        ),
        # All three: else an empty combination (DISCUSSION_APPROPRIATE has no review flags) walks the worklist.
        Index(
            "ix_screening_queue_flagged_outcome_review",
            "has_review_flags",
            "outcome",
            "review_status",
            "urgent",
            "priority",
            "created_at",
            "id",
        ),
        # "Needs a clinician, not reviewed yet": the clinicians' worklist.
        Index(
            "ix_screening_queue_flagged_review",
            "has_review_flags",
            "review_status",
            "urgent",
            "priority",
            "created_at",
            "id",
        ),
        # Priority with another filter walks this index: as long as there are priority screenings (few).
        Index("ix_screening_queue_priority", "priority", "urgent", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code the patient brings to the visit, stored as shown ("XXXX-XXXX").
    reference_code: Mapped[str] = mapped_column(String(16), unique=True)
    #: completed, amended, entered-in-error.
    status: Mapped[str] = mapped_column(String(24))
    subject_name: Mapped[str | None] = mapped_column(Text)
    subject_birth_date: Mapped[date | None] = mapped_column(Date)
    subject_mrn: Mapped[str | None] = mapped_column(String(64))
    current_version: Mapped[int]
    #: Copied from the current version, for the staff queue.
    outcome: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean)
    #: The current version fired a clinician-review rule (non-empty ``review_flags``), whatever its outcome.
    has_review_flags: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: The current version's ``priority`` (R-R16): listed before the other non-urgent screenings.
    priority: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: unreviewed, agreed, disagreed: the latest clinician sign-off, for the queue.
    review_status: Mapped[str] = mapped_column(String(16), server_default="unreviewed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Restricted to its care team (S-21): anyone else opens it only with a typed reason (break-glass).
    #: Who set it, when and why: the newest "restrict" row of ``screening_access``.
    restricted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class ScreeningVersion(Base):
    """The answers and the decision exactly as made and shown; never updated, never recomputed."""

    __tablename__ = "screening_version"
    __table_args__ = (UniqueConstraint("screening_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id"))
    number: Mapped[int]
    #: Who recorded it: patient, nurse, clinician.
    author_role: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None]
    #: Who answered: the ``completed_by`` code (self, parent_guardian, nurse ...), if given.
    source: Mapped[str | None] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Question IDs whose answers were dropped because the question was not asked.
    discarded: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))
    underlying_outcome: Mapped[str] = mapped_column(String(32))
    #: [{"id", "severity", "text", "sources"}] with the text exactly as shown, in ``language``.
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    clinician_notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    fired_rules: Mapped[list[str]] = mapped_column(JSON)
    #: Every fired clinician-review rule (R-R*), ascending, whatever the outcome (rules.md section 9).
    review_flags: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    #: R-R16 fired: PHQ-9 total of 20 or more with item 9 = 0 (a staff priority, not an outcome).
    priority: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    ruleset_hash: Mapped[str] = mapped_column(String(80))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Who the version is about, as recorded with it (staff enter these; a correction is a new version).
    subject_name: Mapped[str | None] = mapped_column(Text)
    subject_birth_date: Mapped[date | None] = mapped_column(Date)
    subject_mrn: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffAlert(Base):
    """Staff must act (same-day contact); outlives a purged draft through its screening, if any."""

    __tablename__ = "staff_alert"
    __table_args__ = (
        # At most one open alert of a kind per draft, even if two requests race.
        Index(
            "uq_staff_alert_open_draft_kind",
            "draft_id",
            "kind",
            unique=True,
            sqlite_where=text("acknowledged_at IS NULL"),
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
        # Throttling alert creation per address: the alerts one address raised lately.
        Index("ix_staff_alert_source_addr_created_at", "source_addr", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("draft.id", ondelete="SET NULL"), index=True)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screening.id"), index=True)
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    acknowledged_by: Mapped[int | None]
    action_taken: Mapped[str | None] = mapped_column(Text)
    #: What the person chose when the urgent panel offered contact: "given", "declined", or not yet.
    contact_choice: Mapped[str | None] = mapped_column(String(16))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    #: Best time to call: one of the offered codes (morning, afternoon, evening, any).
    contact_time: Mapped[str | None] = mapped_column(String(16))
    contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The client address whose answers raised it (for throttling a flood of alerts from one address).
    source_addr: Mapped[str | None] = mapped_column(String(64))
    #: Raised while its address was over the alert limit: shown, counted and acknowledged with this
    #: earlier open alert from the same address instead of on its own (it keeps its own contact details).
    grouped_into_id: Mapped[int | None] = mapped_column(index=True)


class StaffUser(Base):
    """A nurse, clinician or admin. No self-registration: admins and the command create them."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lowercased; the sign-in name.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    #: nurse, clinician, admin.
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    #: Set by an admin's reset: a new password is required at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The TOTP secret (base32): proposed at enrolment, in force once ``mfa_enrolled_at`` is set.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: When the person confirmed enrolment with a code; None: they must enrol at their next sign-in.
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last TOTP time step accepted: a code (or an older one) is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: When and by which admin the account was last reset (shown to the person at their next sign-in).
    reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reset_by_id: Mapped[int | None]


class StaffSession(Base):
    """A signed-in staff session, held on the server so that sign-out and timeouts really end it."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the random token in the browser's session cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the second factor was verified in this session; until then it reaches the sign-in steps only.
    mfa_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffRecoveryCode(Base):
    """A single-use recovery code (instead of a TOTP code), stored as an Argon2id hash only."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Append-only, hash-chained record of who saw or changed what, when and from where.

    ``detail`` holds identifiers and codes only, never patient data. Each row's ``hash`` covers its
    content and the previous row's hash, so an edited or deleted row breaks the chain.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    #: The username at the time, or "anonymous" / "system".
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: success, failure, denied.
    outcome: Mapped[str] = mapped_column(String(16))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """A signed statement of the audit trail at one moment: how many events, and the newest one's hash.

    Append-only like the trail. Exported off the machine (``screener audit checkpoint``), it shows later
    whether events were deleted from the end of the trail, or the trail was rewritten with the key.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Events in the trail up to and including ``head_id`` (0 and None for an empty trail).
    event_count: Mapped[int]
    head_id: Mapped[int | None]
    head_hash: Mapped[str] = mapped_column(String(64))
    #: Which audit key signed it (a fingerprint, never the key).
    key_id: Mapped[str] = mapped_column(String(16))
    #: HMAC-SHA256 of the fields above under the audit key.
    signature: Mapped[str] = mapped_column(String(64))
    #: Who wrote it: "system:cli", "system:app" (the audit page), or a username.
    actor: Mapped[str] = mapped_column(String(64))


class ScreeningAccess(Base):
    """Restricting a screening to its care team, lifting that, and break-glass access, each with a reason.

    ``reason`` is typed by staff and may name people, so it stays here (shown to admins on the
    break-glass report) and never in the audit trail, which refers to the row by id.
    """

    __tablename__ = "screening_access"
    __table_args__ = (
        Index("ix_screening_access_screening_id_user_id", "screening_id", "user_id"),
        Index("ix_screening_access_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    #: restrict, unrestrict, break_glass.
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class Review(Base):
    """A clinician's sign-off of one version: agree, or disagree with another outcome and a reason."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id"), index=True)
    version_number: Mapped[int]
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    #: agree, disagree.
    decision: Mapped[str] = mapped_column(String(16))
    #: The outcome the clinician chose instead (disagree only).
    outcome: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    #: The ruleset version of the decision that was reviewed.
    ruleset_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reevaluation(Base):
    """An old version evaluated again under a newer ruleset: kept beside the original, never over it."""

    __tablename__ = "reevaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id"), index=True)
    version_number: Mapped[int]
    performed_by: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    outcome: Mapped[str] = mapped_column(String(32))
    underlying_outcome: Mapped[str] = mapped_column(String(32))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    clinician_notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    fired_rules: Mapped[list[str]] = mapped_column(JSON)
    #: As on a version: every fired clinician-review rule, and whether R-R16 set priority.
    review_flags: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    priority: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    ruleset_version: Mapped[str] = mapped_column(String(32))
    ruleset_hash: Mapped[str] = mapped_column(String(80))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RulesetImpactReport(Base):
    """A ruleset impact report: every stored screening's latest version replayed under the current
    ruleset and compared with its stored decision. Nothing stored is changed; the report is kept."""

    __tablename__ = "ruleset_impact_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: running, complete, failed.
    status: Mapped[str] = mapped_column(String(16))
    #: The clinician who ran it from the staff page (None: the ``screener`` command).
    performed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: Who ran it, as the audit trail names them (a username, or "system:cli").
    actor: Mapped[str] = mapped_column(String(64))
    #: The screenings' creation dates covered (inclusive; None: unbounded).
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    #: The ruleset replayed under (the current one when the report ran).
    to_ruleset_version: Mapped[str] = mapped_column(String(32))
    to_ruleset_hash: Mapped[str] = mapped_column(String(80))
    #: The stored versions' rulesets: [{"version", "hash", "count"}], most screenings first.
    from_rulesets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    screenings: Mapped[int]
    replayed: Mapped[int]
    affected: Mapped[int]
    failed: Mapped[int]
    #: The tallies: outcome matrix, warnings/notes/review flags added and removed, priority changes.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class RulesetImpactItem(Base):
    """One screening of a report that comes out differently ("changed") or could not be replayed."""

    __tablename__ = "ruleset_impact_item"
    __table_args__ = (Index("ix_ruleset_impact_item_report_id_id", "report_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ruleset_impact_report.id", ondelete="CASCADE"))
    screening_id: Mapped[int]
    reference_code: Mapped[str] = mapped_column(String(16))
    version_number: Mapped[int]
    #: changed, failed.
    kind: Mapped[str] = mapped_column(String(16))
    stored_ruleset_version: Mapped[str] = mapped_column(String(32))
    from_outcome: Mapped[str] = mapped_column(String(32))
    to_outcome: Mapped[str | None] = mapped_column(String(32))
    #: IDs added/removed per kind ("warnings_added" ...), priority before/after, or the failed fields.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
