"""The queries and commands the views use: functions taking a Session (from ``Database.write()``
or ``read()``) and, where time matters, an explicit ``now``.

Plain JSON-able data in and out; nothing here knows the rules. One module per part of the
product; the patient side's names are re-exported here (``store.find_draft``), the staff side's
modules are imported by name (``from screener.store import audit``).
"""

from screener.models import Draft, Screening, ScreeningVersion, StaffAlert

from .screenings import (
    CODE_ALPHABET,
    CodeKind,
    VersionRecord,
    code_kind,
    complete_draft,
    create_draft,
    current_version,
    decline_contact,
    delete_draft,
    find_draft,
    find_screening_by_reference,
    find_screening_for_token,
    get_screening,
    issue_resume_code,
    leave_contact,
    lock_draft,
    mark_urgent_shown,
    normalise_code,
    purge_expired_drafts,
    record_urgent_alert,
    resume_draft,
    save_answers,
    urgent_alert_for,
)

__all__ = [
    "CODE_ALPHABET",
    "CodeKind",
    "Draft",
    "Screening",
    "ScreeningVersion",
    "StaffAlert",
    "VersionRecord",
    "code_kind",
    "complete_draft",
    "create_draft",
    "current_version",
    "decline_contact",
    "delete_draft",
    "find_draft",
    "find_screening_by_reference",
    "find_screening_for_token",
    "get_screening",
    "issue_resume_code",
    "leave_contact",
    "lock_draft",
    "mark_urgent_shown",
    "normalise_code",
    "purge_expired_drafts",
    "record_urgent_alert",
    "resume_draft",
    "save_answers",
    "urgent_alert_for",
]
