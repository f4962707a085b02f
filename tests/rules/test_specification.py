"""The catalogue says exactly what rules.md says: every warning and note text, severity and source.

``tests/rules/rules.md`` is a copy of the clinical specification (checked against ``../shared``
when it is beside the checkout, like ``cases.json``). Its rule tables are parsed here and
compared with the catalogue word for word, in both jurisdictions, so a typo in a warning, a
changed severity or a missing source fails a test instead of reaching a patient.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screener.rules import (
    CRISIS_CONTACTS,
    RULES,
    RULESET_VERSION,
    Jurisdiction,
    Outcome,
    Panel,
    Rule,
    patient_texts,
)

SPECIFICATION = Path(__file__).with_name("rules.md")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "clinical" / "rules.md"
TEXT = SPECIFICATION.read_text(encoding="utf-8")
RULES_BY_ID = {rule.id: rule for rule in RULES}
US, UK = Jurisdiction.US, Jurisdiction.UK

#: A rule-table row: | R-X01 | condition | effect | warning | severity | sources |
RULE_ROW = re.compile(r"^\| (R-[A-Z]\d+[a-z]?) \|(.*)\|$", re.MULTILINE)
#: A note-table row: | C-ID | R-C01 (US) ... | condition | text | sources |
NOTE_ROW = re.compile(r"^\| (C-[A-Z0-9-]+) \| (R-C\d+)[^|]*\|[^|]*\| ([^|]+) \| ([^|]+) \|$", re.MULTILINE)
WARNING_CELL = re.compile(r"^\*\*(W-[A-Z0-9-]+)\*\*: (.*)$")
BY_JURISDICTION = re.compile(r'^\[US\] "(.*)" \[UK\] "(.*)"$')
SOURCE_IDS = re.compile(r"S\d+|design")


def _text(quoted: str) -> str:
    """A table's text as the result carries it: list items (" · ") on lines of their own (rules.md 7.1)."""
    return quoted.replace(" · ", "\n")


def _rule_rows() -> dict[str, list[str]]:
    rows = {}
    for found in RULE_ROW.finditer(TEXT):
        cells = [cell.strip() for cell in found.group(2).split(" | ")]
        if len(cells) == 5:  # section 7's tables; the changes table has other columns
            rows[found.group(1)] = cells
    return rows


ROWS = _rule_rows()
NOTES = {found.group(2): found for found in NOTE_ROW.finditer(TEXT)}


def test_the_copy_matches_the_shared_specification() -> None:
    if not SHARED.exists():
        pytest.skip(f"no shared specification beside the repository ({SHARED})")
    assert SHARED.read_bytes() == SPECIFICATION.read_bytes()


def test_the_ruleset_version_is_the_specification_version() -> None:
    assert f"Ruleset version of this document: **{RULESET_VERSION}**" in TEXT


def test_every_rule_of_the_specification_is_in_the_catalogue_and_back() -> None:
    assert set(ROWS) | set(NOTES) == set(RULES_BY_ID)


@pytest.mark.parametrize("rule_id", sorted(ROWS))
def test_warning_text_severity_and_sources_are_exact(rule_id: str) -> None:
    rule = RULES_BY_ID[rule_id]
    _condition, _effect, cell, severity, sources = ROWS[rule_id]
    assert set(SOURCE_IDS.findall(sources)) == set(rule.sources)
    found = WARNING_CELL.match(cell)
    if found is None:
        assert cell == "(no patient warning)"
        assert rule.warning is None
        return
    assert rule.warning is not None
    assert rule.warning.id == found.group(1)
    assert rule.warning.severity.value == severity
    texts = found.group(2)
    split = BY_JURISDICTION.match(texts)
    us, uk = (split.group(1), split.group(2)) if split else (texts.strip('"'),) * 2
    assert rule.warning.wording.for_jurisdiction(US) == _text(us)
    assert rule.warning.wording.for_jurisdiction(UK) == _text(uk)


@pytest.mark.parametrize("rule_id", sorted(NOTES))
def test_note_text_and_sources_are_exact(rule_id: str) -> None:
    rule: Rule = RULES_BY_ID[rule_id]
    found = NOTES[rule_id]
    assert rule.note is not None
    assert rule.note.id == found.group(1)
    assert rule.note.text == found.group(3).strip()
    assert set(SOURCE_IDS.findall(found.group(4))) == set(rule.sources)


def _section(start: str, end: str) -> str:
    return TEXT[TEXT.index(start) : TEXT.index(end, TEXT.index(start))]


def _table_lines(section: str) -> list[list[str]]:
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| U")]
    return [[cell.strip() for cell in row] for row in rows]


def test_crisis_contacts_are_the_specification_lines() -> None:
    rows = _table_lines(_section("**Crisis contacts (mental health).**", "**Same-day medical contacts"))
    expected: dict[Jurisdiction, list[tuple[str, str]]] = {US: [], UK: []}
    for jurisdiction, label, number in rows:
        expected[Jurisdiction(jurisdiction)].append((label.split('"')[1], number))
    for jurisdiction, contacts in CRISIS_CONTACTS.items():
        assert [(contact.label, contact.number) for contact in contacts] == expected[jurisdiction]


def test_medical_contacts_are_the_specification_lines() -> None:
    rows = _table_lines(_section("**Same-day medical contacts (new).**", "**Which panel.**"))
    for jurisdiction in Jurisdiction:
        panel = patient_texts.CONTACT_PANELS[Panel.MEDICAL, jurisdiction]
        expected = [(label.strip('"'), number) for where, label, number in rows if where == jurisdiction.value]
        shown = [(c.label, c.number or ("the clinic's phone" if c.clinic_phone else "—")) for c in panel.contacts]
        assert [label for label, _number in shown] == [label for label, _number in expected]
        for (_label, number), (_same, written) in zip(shown, expected, strict=True):
            assert number == written or (number == "the clinic's phone" and written.startswith("the clinic's"))


def test_urgent_explanations_are_exact() -> None:
    section = _section("**What this means (the URGENT_HELP explanation", "## 7. Rule table")
    crisis = re.search(r'^\| R-U01 or R-U02 \| "(.*)" \|$', section, re.MULTILINE)
    medical = re.search(r'^\| R-U03 \| "(.*)" \|$', section, re.MULTILINE)
    assert crisis is not None
    assert medical is not None
    assert {Panel.CRISIS: crisis.group(1), Panel.MEDICAL: medical.group(1)} == patient_texts.URGENT_EXPLANATIONS
    both = patient_texts.explanation(Outcome.URGENT_HELP, (Panel.CRISIS, Panel.MEDICAL), US)
    assert both == (crisis.group(1), medical.group(1))


def test_crisis_warnings_name_exactly_the_numbers_in_the_contact_lists() -> None:
    """A number in a crisis text that is not in the panel (or the reverse) sends a person astray."""
    phone_number = re.compile(r"\b(?:\d{4} \d{3} \d{4}|\d{3} \d{3}|\d{3})\b")
    for jurisdiction in Jurisdiction:
        listed = {contact.number for contact in CRISIS_CONTACTS[jurisdiction]}
        for rule_id in ("R-U01", "R-U02"):
            shown = RULES_BY_ID[rule_id].warning
            assert shown is not None
            named = set(phone_number.findall(shown.wording.for_jurisdiction(jurisdiction)))
            assert named == listed, (rule_id, jurisdiction)
