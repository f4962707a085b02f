"""Raw JSON-like input -> validated answers and configuration, or every problem at once.

Invalid input is not "missing" (rules.md section 4): an unknown question, an unknown code, a
wrong type, a number out of range or not whole, ``none`` combined with another code, a
duplicate code or a wrong shape is an error the caller must see. A missing answer is fine
(R-R14 handles it), and answers to questions that are not enabled are discarded, not errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

from .clinic import DEFAULT_CONFIG, ClinicConfig, Jurisdiction
from .questions import QUESTIONS_BY_ID, AnswerValue, Kind, Question, enabled_answers

_T = TypeVar("_T")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInput(ValueError):
    """Raised with the complete list of problems; nothing was evaluated."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class Answers:
    """Validated answers to enabled questions only, and the IDs of answers discarded."""

    values: Mapping[str, AnswerValue] = field(default_factory=dict)
    discarded: tuple[str, ...] = ()

    def get(self, question_id: str) -> AnswerValue | None:
        return self.values.get(question_id)

    def to_json(self) -> dict[str, str | int | list[str]]:
        return {qid: list(value) if isinstance(value, tuple) else value for qid, value in self.values.items()}


def _whole_number_in(value: object, low: int, high: int) -> int | None:
    """``value`` if it is a whole number within [low, high]; JSON ``true`` is not 1."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


class _Problem(Exception):
    """One answer's problem, in words for the person who sent it."""


def _check_answer(question: Question, value: object) -> AnswerValue:
    """The validated value of one answer; raises ``_Problem`` otherwise."""
    if question.kind is Kind.INTEGER:
        low, high = question.minimum or 0, question.maximum or 0
        number = _whole_number_in(value, low, high)
        if number is None:
            raise _Problem(f"must be a whole number from {low} to {high}")
        return number
    allowed = ", ".join(question.codes)
    if question.kind is Kind.CHOICE:
        if isinstance(value, str) and value in question.codes:
            return value
        raise _Problem(f"must be one of: {allowed}")
    if not isinstance(value, list) or not value:  # Kind.MULTI
        raise _Problem(f"must be a non-empty list of codes from: {allowed}")
    unknown = [repr(code) for code in value if code not in question.codes]
    if unknown:
        raise _Problem(f"{', '.join(unknown)} not allowed; choose from: {allowed}")
    codes = [str(code) for code in value]
    if len(set(codes)) != len(codes):
        raise _Problem("lists a code more than once")
    if "none" in codes and len(codes) > 1:
        raise _Problem('"none" cannot be combined with another code')
    return tuple(sorted(codes, key=question.codes.index))


def _jurisdiction(value: object) -> Jurisdiction:
    if value in ("US", "UK"):
        return Jurisdiction(value)
    raise _Problem("must be one of: US, UK")


def _whole(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        number = _whole_number_in(value, low, high)
        if number is None:
            raise _Problem(f"must be a whole number from {low} to {high}")
        return number

    return check


def _optional_whole(low: int, high: int) -> Callable[[object], int | None]:
    def check(value: object) -> int | None:
        number = _whole_number_in(value, low, high)
        if number is None and value is not None:
            raise _Problem(f"must be a whole number from {low} to {high}, or null for none")
        return number

    return check


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _Problem("must be true or false")


def parse_config(raw: object, base: ClinicConfig = DEFAULT_CONFIG) -> ClinicConfig:
    """Validate the clinic configuration keys of rules.md section 2.

    Each key sent replaces that one setting of ``base`` (the clinic's own configuration; by
    default the rules.md defaults); absent keys, or no ``config`` at all, keep ``base``'s.
    """
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise InvalidInput([FieldError("config", "must be an object")])
    errors: list[FieldError] = []

    def setting(key: str, check: Callable[[object], _T], fallback: _T) -> _T:
        if key not in raw:
            return fallback
        try:
            return check(raw[key])
        except _Problem as problem:
            errors.append(FieldError(f"config.{key}", str(problem)))
            return fallback

    config = replace(
        base,
        jurisdiction=setting("jurisdiction", _jurisdiction, base.jurisdiction),
        phq2_cutoff=setting("phq2_cutoff", _whole(0, 6), base.phq2_cutoff),
        phq9_review_cutoff=setting("phq9_review_cutoff", _whole(0, 27), base.phq9_review_cutoff),
        uk_under18_second_prescriber=setting("uk_under18_second_prescriber", _flag, base.uk_under18_second_prescriber),
        tg_review_threshold_mg_dl=setting(
            "tg_review_threshold_mg_dl", _optional_whole(0, 10000), base.tg_review_threshold_mg_dl
        ),
    )
    known = {field.name for field in fields(ClinicConfig)}
    errors.extend(FieldError(f"config.{key}", "is not a configuration key") for key in raw if key not in known)
    if errors:
        raise InvalidInput(errors)
    return config


def parse_answers(raw: object, config: ClinicConfig) -> Answers:
    """Validate every answer, then discard those whose question is not enabled."""
    if not isinstance(raw, dict):
        raise InvalidInput([FieldError("answers", "must be an object of question IDs and answers")])
    errors: list[FieldError] = []
    checked: dict[str, AnswerValue] = {}
    for qid, value in raw.items():
        question = QUESTIONS_BY_ID.get(qid) if isinstance(qid, str) else None
        if question is None:
            errors.append(FieldError(str(qid), "is not a question in this questionnaire"))
            continue
        try:
            checked[qid] = _check_answer(question, value)
        except _Problem as problem:
            errors.append(FieldError(qid, str(problem)))
    if errors:
        raise InvalidInput(errors)
    kept, discarded = enabled_answers(checked, config)
    return Answers(kept, discarded)


def parse_request(raw: object, base: ClinicConfig = DEFAULT_CONFIG) -> tuple[Answers, ClinicConfig]:
    """``{"answers": {...}, "config": {...}}``; other keys (a case's id, expected...) are ignored.

    The configuration is ``base`` (the clinic's) with each key sent in ``config`` replacing its own.
    """
    if not isinstance(raw, dict):
        raise InvalidInput([FieldError("input", 'must be a JSON object with an "answers" object')])
    errors: list[FieldError] = []
    config = base
    try:
        config = parse_config(raw.get("config"), base)
    except InvalidInput as invalid:
        errors.extend(invalid.errors)
    if "answers" not in raw:
        errors.append(FieldError("answers", "is required: an object of question IDs and answers"))
        raise InvalidInput(errors)
    try:
        answers = parse_answers(raw["answers"], config)
    except InvalidInput as invalid:
        errors.extend(invalid.errors)
    if errors:
        raise InvalidInput(errors)
    return answers, config
