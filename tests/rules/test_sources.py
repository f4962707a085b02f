"""The source register: every source a rule cites exists, with a title and the register's confidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screener.rules import ERROR_RULE, RULES, Rule
from screener.rules.sources import SOURCES

REGISTER = Path(__file__).resolve().parents[3] / "shared" / "clinical" / "sources.md"
#: A register row: ``| S12 | title ... | url | used for | confidence |``.
REGISTER_ROW = re.compile(r"^\| (S\d+) \|.*\| ([^|]+) \|$")


@pytest.mark.parametrize("rule", [*RULES, ERROR_RULE], ids=lambda rule: rule.id)
def test_every_source_a_rule_cites_is_in_the_register(rule: Rule) -> None:
    assert rule.sources, "every rule names at least one source"
    assert set(rule.sources) <= set(SOURCES), set(rule.sources) - set(SOURCES)


def test_the_register_is_s1_to_s40_plus_design() -> None:
    assert list(SOURCES) == [f"S{number}" for number in range(1, 41)] + ["design"]
    assert SOURCES["design"].title == "Screener design decision"
    for source_id, source in SOURCES.items():
        assert source.id == source_id
        assert source.title.strip() == source.title
        assert 10 <= len(source.title) <= 120


def test_confidence_is_as_written_in_the_register() -> None:
    if not REGISTER.is_file():
        pytest.skip(f"the clinical register is not beside this checkout: {REGISTER}")
    written = {
        found.group(1): found.group(2).strip()
        for line in REGISTER.read_text(encoding="utf-8").splitlines()
        if (found := REGISTER_ROW.match(line))
    }
    assert len(written) == 40
    assert {source_id: SOURCES[source_id].confidence for source_id in written} == written
    assert SOURCES["design"].confidence is None
