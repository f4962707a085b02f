"""The clinical rules: pure, typed, standard library only (no Flask, database, I/O or clock).

answers, config = parse_request({"answers": {...}, "config": {...}})
decision = evaluate(answers, config)
"""

from .answers import Answers, FieldError, InvalidInput, parse_answers, parse_config, parse_request
from .catalogue import (
    ERROR_RULE,
    OUTCOME_LABELS,
    OUTCOME_OF_WARNING,
    PANEL_OF_WARNING,
    RULES,
    RULESET_VERSION,
    URGENT_RULE_IDS,
    Family,
    NoteDef,
    Outcome,
    Panel,
    Rule,
    Severity,
    WarningDef,
    clinical_outcome,
    urgent_panels,
)
from .catalogue import texts as patient_texts
from .catalogue.texts import CRISIS_CONTACTS, Contact, ContactPanel
from .clinic import DEFAULT_CONFIG, ClinicConfig, Jurisdiction
from .derived import UNSURE_HEALTH_QUESTIONS
from .engine import CURRENT_RULESET, Decision, FiredNote, FiredWarning, Ruleset, evaluate
from .questions import (
    QUESTIONS,
    QUESTIONS_BY_ID,
    SECTIONS,
    AnswerValue,
    EnableWhen,
    Kind,
    Option,
    Question,
    Section,
    age_gate_open,
    asked_questions,
    enabled_answers,
    enabled_questions,
    questions_in,
)
from .sources import SOURCES, Source

__all__ = [
    "CRISIS_CONTACTS",
    "CURRENT_RULESET",
    "DEFAULT_CONFIG",
    "ERROR_RULE",
    "OUTCOME_LABELS",
    "OUTCOME_OF_WARNING",
    "PANEL_OF_WARNING",
    "QUESTIONS",
    "QUESTIONS_BY_ID",
    "RULES",
    "RULESET_VERSION",
    "SECTIONS",
    "SOURCES",
    "UNSURE_HEALTH_QUESTIONS",
    "URGENT_RULE_IDS",
    "AnswerValue",
    "Answers",
    "ClinicConfig",
    "Contact",
    "ContactPanel",
    "Decision",
    "EnableWhen",
    "Family",
    "FieldError",
    "FiredNote",
    "FiredWarning",
    "InvalidInput",
    "Jurisdiction",
    "Kind",
    "NoteDef",
    "Option",
    "Outcome",
    "Panel",
    "Question",
    "Rule",
    "Ruleset",
    "Section",
    "Severity",
    "Source",
    "WarningDef",
    "age_gate_open",
    "asked_questions",
    "clinical_outcome",
    "enabled_answers",
    "enabled_questions",
    "evaluate",
    "parse_answers",
    "parse_config",
    "parse_request",
    "patient_texts",
    "questions_in",
    "urgent_panels",
]
