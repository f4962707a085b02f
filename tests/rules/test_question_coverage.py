"""Every question feeds the rules, and every code the rules read is asked (issue 7, item 5).

What a rule reads is found in its source, not declared by hand:

- a rule's predicate (``rule.when.test``) is parsed with ``ast``; every call ``x.answer("code")``,
  ``x.number("code")`` or ``x.includes("code", ...)`` with a string literal is a read, and so is
  every derived value it uses (``f.signal``, ``f.phq9_total`` ...); helper functions the predicate
  calls by name are followed;
- each derived value of ``screener.rules.derived.Facts`` is traced through ``Facts.__init__`` and
  its properties and methods: the codes it reads through ``answer("code")`` calls and through the
  question-ID tuples of ``derived`` (``PHQ9_ITEMS``, ``UNSURE_HEALTH_QUESTIONS``), directly or
  through the locals and other derived values it is computed from (including the conditions of the
  ``if`` that assigns it);
- every enable condition's ``depends_on`` feeds the question it enables (and is checked against the
  ``answers.get("code")`` calls of its test function).

A question that feeds none of these must be listed in ``questions.INFORMATIONAL`` with the reason.
Presence alone does not count as a read: R-R14 looks at every required question's presence, but
a required question whose answer no rule reads is still informational.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import Any

import pytest

from screener.rules import ERROR_RULE, RULES, derived
from screener.rules import questions as question_catalogue
from screener.rules.questions import ENABLE_CONDITIONS, QUESTIONS, QUESTIONS_BY_ID

#: The methods of ``Facts`` (and of the answers mapping) through which a rule reads an answer.
READ_METHODS = frozenset({"answer", "number", "includes"})
#: The module-level tuples of ``derived`` that hold question IDs (every member is read by ``Facts``).
QUESTION_ID_CONSTANTS = ("PHQ9_ITEMS", "UNSURE_HEALTH_QUESTIONS")


# --- Reading the source ------------------------------------------------------------------------


def _parse(function: Callable[..., Any]) -> ast.FunctionDef:
    """A function's definition, without its decorators (``@condition("...")`` reads nothing)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef), function
    definition.decorator_list = []
    return definition


def _helpers(function: Callable[..., Any]) -> list[FunctionType]:
    """The functions of the rules package that ``function`` refers to by name (globals or closure)."""
    names = inspect.getclosurevars(function)
    return [
        helper
        for helper in (*names.globals.values(), *names.nonlocals.values())
        if isinstance(helper, FunctionType) and helper.__module__.startswith("screener.rules")
    ]


def _literal_reads(node: ast.AST, methods: Iterable[str] = READ_METHODS) -> set[str]:
    """String literals passed first to ``x.answer(...)``, ``answer(...)`` and the like under ``node``."""
    wanted = frozenset(methods)
    found: set[str] = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or not call.args:
            continue
        name = (
            call.func.attr
            if isinstance(call.func, ast.Attribute)
            else call.func.id
            if isinstance(call.func, ast.Name)
            else None
        )
        first = call.args[0]
        if name in wanted and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _self_attributes(node: ast.AST, owner: str) -> set[str]:
    """``owner.attr`` accesses under ``node`` (``self.signal``, ``f.cap``)."""
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == owner
    }


def _constant_reads(names: Iterable[str]) -> set[str]:
    return {code for name in names if name in QUESTION_ID_CONSTANTS for code in getattr(derived, name)}


def derived_reads() -> dict[str, frozenset[str]]:
    """Each attribute, property and method of ``Facts``: the question codes it reads, transitively."""
    facts = ast.parse(inspect.getsource(derived.Facts)).body[0]
    assert isinstance(facts, ast.ClassDef)
    attributes: dict[str, set[str]] = {}
    local: dict[str, set[str]] = {}

    def reads(node: ast.AST) -> set[str]:
        names = _names(node)
        codes = _literal_reads(node) | _constant_reads(names)
        codes |= {code for name in names for code in local.get(name, ())}
        codes |= {code for attr in _self_attributes(node, "self") for code in attributes.get(attr, ())}
        for name in names:  # functions of the rules package it calls, such as could_get_pregnant(values, ...)
            helper = vars(derived).get(name)
            if isinstance(helper, FunctionType) and helper.__module__.startswith("screener.rules"):
                codes |= function_reads(helper)
        return codes

    def assign(target: ast.expr, value: ast.expr, control: set[str]) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for one_target, one_value in zip(target.elts, value.elts, strict=True):  # a, b = x, y
                assign(one_target, one_value, control)
            return
        codes = reads(value) | control
        for element in target.elts if isinstance(target, ast.Tuple) else [target]:
            if isinstance(element, ast.Name):
                local.setdefault(element.id, set()).update(codes)
            elif (
                isinstance(element, ast.Attribute)
                and isinstance(element.value, ast.Name)
                and element.value.id == "self"
            ):
                attributes.setdefault(element.attr, set()).update(codes)
            else:
                raise AssertionError(f"derived.Facts.__init__: cannot trace an assignment to {ast.dump(element)}")

    def run(statements: list[ast.stmt], control: set[str]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    assign(target, statement.value, control)
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                assign(statement.target, statement.value, control)
            elif isinstance(statement, ast.If):
                inner = control | reads(statement.test)
                run(statement.body, inner)
                run(statement.orelse, inner)
            elif isinstance(statement, ast.Expr | ast.Pass | ast.Return):
                continue
            else:  # a new kind of statement in Facts.__init__: teach this tracer about it
                raise AssertionError(f"derived.Facts.__init__: cannot trace {ast.dump(statement)[:80]}")

    methods = [node for node in facts.body if isinstance(node, ast.FunctionDef)]
    for method in methods:
        if method.name == "__init__":
            run(method.body, set())
    for method in methods:  # properties and methods read through the attributes set above
        if method.name != "__init__":
            attributes.setdefault(method.name, set()).update(reads(method))
    return {name: frozenset(codes) for name, codes in attributes.items()}


def predicate_reads(test: Callable[..., Any], facts: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The question codes a rule predicate reads: literal reads, derived values, helpers it calls."""
    seen: set[Callable[..., Any]] = set()

    def walk(function: Callable[..., Any]) -> set[str]:
        if function in seen:
            return set()
        seen.add(function)
        definition = _parse(function)
        parameter = definition.args.args[0].arg if definition.args.args else ""
        codes = _literal_reads(definition)
        codes |= {code for attr in _self_attributes(definition, parameter) for code in facts.get(attr, ())}
        for helper in _helpers(function):
            codes |= walk(helper)
        return codes

    return frozenset(walk(test))


def function_reads(function: Callable[..., Any]) -> frozenset[str]:
    """The codes a plain function reads (``answers.get("code")``, ``answer("code")`` ...), helpers followed.

    Enable tests and the helpers ``Facts`` calls (``could_get_pregnant``) read answers this way.
    """
    seen: set[Callable[..., Any]] = set()

    def walk(one: Callable[..., Any]) -> set[str]:
        if one in seen:
            return set()
        seen.add(one)
        codes = _literal_reads(_parse(one), {"get", *READ_METHODS})
        for helper in _helpers(one):
            codes |= walk(helper)
        return codes

    return frozenset(walk(function))


# --- What the catalogue reads -----------------------------------------------------------------


def reads_by_reader() -> dict[str, frozenset[str]]:
    """Every reader (a rule, or an enable condition) and the question codes it reads."""
    facts = derived_reads()
    readers = {rule.id: predicate_reads(rule.when.test, facts) for rule in (*RULES, ERROR_RULE)}
    for condition in ENABLE_CONDITIONS:
        readers[f"enable:{condition.name}"] = frozenset(condition.depends_on)
    return readers


def coverage_problems(
    asked: Iterable[str], readers: Mapping[str, frozenset[str]], informational: Mapping[str, str]
) -> list[str]:
    """Unfed questions (not informational), codes read but never asked, and stale informational entries."""
    asked = set(asked)
    fed = {code for codes in readers.values() for code in codes}
    problems = [
        f"{code}: no rule, derived value or enable condition reads it; add it to questions.INFORMATIONAL "
        "with the reason, or to the rule that should use it"
        for code in sorted(asked - fed - set(informational))
    ]
    for reader, codes in sorted(readers.items()):
        problems += [
            f"{reader} reads {code!r}, which no question or staff field asks" for code in sorted(codes - asked)
        ]
    problems += [
        f"questions.INFORMATIONAL lists {code!r}, which is not a question"
        for code in sorted(set(informational) - asked)
    ]
    for code in sorted(set(informational) & fed):
        by = ", ".join(sorted(reader for reader, codes in readers.items() if code in codes))
        problems.append(f"questions.INFORMATIONAL lists {code!r}, but it is read (by {by}): remove it")
    problems += [
        f"questions.INFORMATIONAL[{code!r}] gives no reason" for code, why in informational.items() if not why.strip()
    ]
    return problems


# --- The checks --------------------------------------------------------------------------------


def test_every_question_feeds_a_rule_or_is_informational_and_every_read_code_is_asked() -> None:
    problems = coverage_problems(QUESTIONS_BY_ID, reads_by_reader(), question_catalogue.INFORMATIONAL)
    assert problems == [], "\n".join(problems)


def test_every_enable_condition_declares_what_its_test_reads() -> None:
    for condition in ENABLE_CONDITIONS:
        undeclared = function_reads(condition.test) - set(condition.depends_on)
        assert not undeclared, f"enable condition {condition.name} reads {sorted(undeclared)} without depends_on"
    used = {question.enable_when for question in QUESTIONS}
    assert used <= set(ENABLE_CONDITIONS), "a question uses an enable condition missing from ENABLE_CONDITIONS"


def test_derived_question_id_tuples_are_all_known_and_none_is_missed() -> None:
    for name in QUESTION_ID_CONSTANTS:
        assert set(getattr(derived, name)) <= set(QUESTIONS_BY_ID), name
    for name, value in vars(derived).items():  # a new tuple of question IDs must be traced too
        strings = isinstance(value, tuple | frozenset | set) and all(isinstance(v, str) for v in value)
        if strings and set(value) & set(QUESTIONS_BY_ID):
            assert name in QUESTION_ID_CONSTANTS, f"derived.{name} holds question IDs: add it to QUESTION_ID_CONSTANTS"


# --- The extractor itself is checked ------------------------------------------------------------


def _rule(rule_id: str) -> Callable[..., Any]:
    return next(rule.when.test for rule in RULES if rule.id == rule_id)


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        ("R-R06", {"liver_disease"}),  # f.answer("liver_disease")
        ("R-R07", {"high_lipids", "pancreatitis_history", "tg_mg_dl"}),  # answer and number
        ("R-R10", {"allergies"}),  # f.includes("allergies", ...)
        ("R-U01", {"phq9_q9", "suicide_now"}),
        ("R-F14", {"liver_disease", "high_lipids", "tetracycline_current", "vitamin_a_supplement"}),  # a tuple
        ("R-R04", {f"phq9_q{n}" for n in range(1, 10)}),  # phq9_total: map(answer, PHQ9_ITEMS)
        ("R-G01", set()),  # always
    ],
)
def test_the_extractor_finds_known_reads(rule_id: str, expected: set[str]) -> None:
    assert predicate_reads(_rule(rule_id), derived_reads()) == expected


def test_the_extractor_traces_derived_values_through_locals_and_other_derived_values() -> None:
    facts = derived_reads()
    assert facts["sev"] == {"nurse_iga", "self_severity"}  # examination supersedes self-report, via locals
    assert facts["scar"] == {"nurse_scarring", "scarring"}  # the condition of the if counts
    assert {"oral_abx", "completed_courses", "impact", "inflammatory_count", "nodules"} <= facts["signal"]
    assert facts["cap"] == {"age_years", "can_get_pregnant"}  # through could_get_pregnant(values, config)
    assert facts["missing_required"] <= {"age_years"}  # presence only (and the age gate, through is_asked)
    # R-C04 reads dark_marks_persistent itself and the whole indication signal through f.signal.
    assert {"dark_marks_persistent", "self_severity", "nurse_nodule_count"} <= predicate_reads(_rule("R-C04"), facts)


def test_the_extractor_follows_helpers_and_sees_every_kind_of_call() -> None:
    def helper(facts: Any) -> bool:
        return bool(facts.number("tg_mg_dl"))

    def fake(f: Any) -> bool:
        return f.answer("liver_disease") == "yes" and f.includes("allergies", "soy") and helper(f) and f.signal

    helper.__module__ = fake.__module__ = "screener.rules.fake"  # helpers are followed inside the rules only
    reads = predicate_reads(fake, {"signal": frozenset({"impact"})})
    assert reads == {"liver_disease", "allergies", "tg_mg_dl", "impact"}


def test_the_check_reports_unfed_unknown_and_stale_codes() -> None:
    readers = {"R-X01": frozenset({"asked_and_read", "never_asked"}), "enable:x": frozenset({"gate"})}
    informational = {"shown_only": "shown to clinicians", "asked_and_read": "stale", "gone": "no longer asked"}
    problems = coverage_problems({"asked_and_read", "gate", "shown_only", "unfed"}, readers, informational)
    assert len(problems) == 4, problems
    assert problems[0].startswith("unfed: no rule")
    assert "R-X01 reads 'never_asked'" in problems[1]
    assert "lists 'gone', which is not a question" in problems[2]
    assert "lists 'asked_and_read', but it is read (by R-X01)" in problems[3]
    assert coverage_problems({"a"}, {"R": frozenset({"a"})}, {}) == []
    assert coverage_problems({"a", "b"}, {"R": frozenset({"a"})}, {"b": " "}) == [
        "questions.INFORMATIONAL['b'] gives no reason"
    ]


def test_the_real_catalogue_would_fail_without_a_reader_or_with_a_typo() -> None:
    readers = reads_by_reader()
    del readers["R-R13"]  # the only reader of prior_isotretinoin
    readers["R-R06"] = readers["R-R06"] | {"liver_diseases"}  # a typo in a rule
    problems = coverage_problems(QUESTIONS_BY_ID, readers, question_catalogue.INFORMATIONAL)
    assert len(problems) == 2, problems
    assert problems[0].startswith("prior_isotretinoin: no rule, derived value or enable condition reads it")
    assert problems[1] == "R-R06 reads 'liver_diseases', which no question or staff field asks"
