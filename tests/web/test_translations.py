"""Every patient-facing string has a Spanish translation, and the compiled catalogue is current."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from screener.rules import OUTCOME_LABELS, QUESTIONS, RULES, SECTIONS, patient_texts

ROOT = Path(__file__).resolve().parents[2]
SPANISH = ROOT / "screener" / "translations" / "es" / "LC_MESSAGES"


def _key(message_id: str | Sequence[str]) -> str:
    """A message's key: its singular text (a plural message's id is its singular and plural)."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _text(string: str | Sequence[str] | None) -> str:
    """A translation as one string (a plural message's forms joined; none: empty)."""
    if string is None or isinstance(string, str):
        return string or ""
    return " | ".join(string)


def spanish() -> dict[str, str]:
    with (SPANISH / "messages.po").open("rb") as po:
        catalog = read_po(po)
    return {_key(message.id): _text(message.string) for message in catalog if message.id}


def test_the_spanish_catalogue_is_complete_and_not_fuzzy() -> None:
    with (SPANISH / "messages.po").open("rb") as po:
        catalog = read_po(po)
    untranslated = [m.id for m in catalog if m.id and not all(_text(m.string).split(" | "))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_the_compiled_catalogue_matches_the_source() -> None:
    with (SPANISH / "messages.mo").open("rb") as mo:
        compiled = {_key(m.id): _text(m.string) for m in read_mo(mo) if m.id}
    assert compiled == spanish()


def test_every_catalogue_string_is_translated() -> None:
    texts = {section.title for section in SECTIONS} | set(OUTCOME_LABELS.values())
    for question in QUESTIONS:
        texts |= {question.text, *(o.label for o in question.options), *(o.hint for o in question.options if o.hint)}
        if question.hint:
            texts.add(question.hint)
    for rule in RULES:
        if rule.warning:
            texts |= {rule.warning.wording.us, rule.warning.wording.uk}
    texts |= set(patient_texts.every_text())
    translations = spanish()
    missing = sorted(text for text in texts if not translations.get(text))
    assert missing == []


def _not_hidden(path: str) -> bool:
    """Templates live in folders such as `_macros`: skip only dot folders (.venv, .git)."""
    return not Path(path).name.startswith(".")


def test_every_string_in_the_code_and_templates_is_in_the_catalogue() -> None:
    """`make translations` was run after the last wording change."""
    method_map = [("screener/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=keywords, directory_filter=_not_hidden
        )
    }
    assert sorted(found - set(spanish())) == []
