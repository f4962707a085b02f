"""Per-clinic configuration that the rules read (rules.md section 2). Never per patient."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Jurisdiction(StrEnum):
    """Selects warning wording, crisis contacts and clinician notes; never an outcome."""

    US = "US"
    UK = "UK"


@dataclass(frozen=True)
class ClinicConfig:
    jurisdiction: Jurisdiction = Jurisdiction.US
    #: PHQ-2 score (items 1 + 2) at which PHQ-9 items 3-8 are asked.
    phq2_cutoff: int = 3
    #: PHQ-9 total (all nine items) that triggers clinician review (R-R04).
    phq9_review_cutoff: int = 10
    #: Keep the withdrawn MHRA second-prescriber check for 12-17-year-olds (note C-UK-U18-2P).
    uk_under18_second_prescriber: bool = False
    #: Staff-entered triglycerides at or above which R-R07 fires; no source gives a number.
    tg_review_threshold_mg_dl: int | None = None


DEFAULT_CONFIG = ClinicConfig()
