"""JSON documents in and out of the command line and the API, shared so both behave alike."""

from __future__ import annotations

import json
from typing import NoReturn

from screener.rules import ClinicConfig, Decision, FieldError, InvalidInput, evaluate, parse_request


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed in JSON")


def load_document(text: str | bytes) -> object:
    """Parse strict JSON (no NaN or Infinity); raise ``InvalidInput`` naming the problem."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        message = f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
    except UnicodeDecodeError:
        message = "is not valid JSON (it must be UTF-8 text)"
    except (ValueError, RecursionError) as error:
        message = f"is not valid JSON ({error})" if isinstance(error, ValueError) else "is nested too deeply"
    raise InvalidInput([FieldError("input", message)])


def evaluate_document(document: object, clinic: ClinicConfig) -> Decision:
    """``{"answers": {...}, "config": {...}}`` -> Decision; other keys are ignored.

    ``clinic`` is this clinic's configuration (the ``SCREENER_*`` settings); each key the document
    sends in ``config`` overrides that one setting, and without ``config`` the clinic's apply.
    """
    answers, config = parse_request(document, clinic)
    return evaluate(answers, config)


def errors_json(errors: tuple[FieldError, ...]) -> dict[str, list[dict[str, str]]]:
    return {"errors": [{"field": error.field, "message": error.message} for error in errors]}
