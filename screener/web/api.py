"""The JSON API for other systems: evaluate answers and read the questionnaire. Stores nothing."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from screener.documents import errors_json, evaluate_document, load_document
from screener.rules import QUESTIONS, SECTIONS, ClinicConfig, FieldError, InvalidInput, Kind, Question

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/evaluate")
def evaluate() -> ResponseReturnValue:
    if not request.is_json:
        return jsonify(errors=[{"field": "request", "message": "send the answers as application/json"}]), 415
    # Without "config" the request gets this clinic's settings; each key it sends overrides one.
    clinic: ClinicConfig = current_app.config["CLINIC_CONFIG"]
    body = request.get_data(cache=False)
    try:
        _refuse_duplicate_keys(body)
        decision = evaluate_document(load_document(body), clinic)
    except InvalidInput as invalid:
        return jsonify(errors_json(invalid.errors)), 400
    return jsonify(decision.to_json())


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _refuse_duplicate_keys(body: bytes) -> None:
    """A key given twice in one object is refused, naming it: JSON parsers disagree on which one wins,
    so the answer another system meant could silently differ from the one evaluated.

    Anything else wrong with the body is left to ``load_document`` to name.
    """
    try:
        json.loads(body, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as duplicate:
        shown = json.dumps(duplicate.key, ensure_ascii=False)[:80]
        raise InvalidInput(
            [FieldError("input", f"has the key {shown} twice in one object: send each key once")]
        ) from None
    except (ValueError, RecursionError):
        return


@bp.get("/questionnaire")
def questionnaire() -> ResponseReturnValue:
    return jsonify(
        sections=[
            {
                "id": section.id,
                "title": section.title,
                "staff_only": section.staff_only,
                "questions": [_question_json(q) for q in QUESTIONS if q.section == section.id],
            }
            for section in SECTIONS
        ]
    )


def _question_json(question: Question) -> dict[str, object]:
    enable = question.enable_when
    return {
        "id": question.id,
        "text": question.text,
        "hint": question.hint,
        "kind": question.kind.value,
        "required": question.required,
        # Scored options (PHQ-9, IGA) are answered with their number, so the API shows numbers.
        "options": [
            {"code": int(o.code) if question.kind is Kind.INTEGER else o.code, "label": o.label, "hint": o.hint}
            for o in question.options
        ],
        "minimum": question.minimum,
        "maximum": question.maximum,
        "enable_when": {"name": enable.name, "description": enable.description, "depends_on": list(enable.depends_on)},
    }
