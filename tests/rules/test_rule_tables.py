"""A table per rule: the baseline varied one step to each side of the rule's boundary.

Each row says whether the rule fires. When a rule fires its warning (or note) is present and
its outcome is reached; when it does not, neither is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from screener.rules import ERROR_RULE, RULES, Outcome
from screener.rules.catalogue import OUTCOME_RANK

from .answersets import CAN_GET_PREGNANT, DROP, MILD_UNTREATED, run


@dataclass(frozen=True)
class Row:
    what: str
    answers: dict[str, Any]
    fires: bool
    config: dict[str, Any] = field(default_factory=dict)


def row(what: str, fires: bool, config: dict[str, Any] | None = None, /, **answers: Any) -> Row:
    return Row(what, answers, fires, config or {})


CAP = CAN_GET_PREGNANT
UK = {"jurisdiction": "UK"}
PHQ_HIGH = {"phq9_q1": 2, "phq9_q2": 1} | {f"phq9_q{n}": 1 for n in range(3, 9)}  # total 9 with q9 = 0
PHQ9_TOTAL_20 = {"phq9_q1": 3, "phq9_q2": 3, "phq9_q3": 3, "phq9_q4": 3} | {f"phq9_q{n}": 2 for n in range(5, 9)}

TABLES: dict[str, list[Row]] = {
    **{
        rule_id: [row("adult baseline", True), row("under 12", True, age_years=11), row("UK", True, UK)]
        for rule_id in ("R-G01", "R-G02", "R-G03", "R-G04", "R-G05", "R-G06", "R-G07", "R-G08")
    },
    "R-U01": [
        row("item 9 = 1, thoughts now", True, phq9_q9=1, suicide_now="yes"),
        row("item 9 = 3, thoughts now", True, phq9_q9=3, suicide_now="yes"),
        row("item 9 = 1, not now", False, phq9_q9=1, suicide_now="no"),
        row("item 9 = 0: suicide_now is not asked, so discarded", False, phq9_q9=0, suicide_now="yes"),
        row("under 12: item 9 and thoughts now kept (BT7)", True, age_years=10, phq9_q9=1, suicide_now="yes"),
    ],
    "R-U02": [
        row("item 9 = 1, not now", True, phq9_q9=1, suicide_now="no"),
        row("item 9 = 1, acuity unanswered", True, phq9_q9=1),
        row("item 9 = 1, thoughts now (R-U01 instead)", False, phq9_q9=1, suicide_now="yes"),
        row("item 9 = 0", False, phq9_q9=0),
        row("under 12: item 9 kept (BT7)", True, age_years=11, phq9_q9=2),
        row("under 12, item 9 = 0: thoughts now discarded", False, age_years=11, phq9_q9=0, suicide_now="yes"),
    ],
    "R-U03": [
        row("fulminans signs", True, fulminans_flags="yes"),
        row("no fulminans signs", False, fulminans_flags="no"),
        row("not answered", False, fulminans_flags=DROP),
        row("under 12: kept (BT7)", True, age_years=10, fulminans_flags="yes"),
    ],
    "R-N01": [
        row("age 11", True, age_years=11),
        row("age 0", True, age_years=0),
        row("age 12", False, age_years=12),
        row("age not answered", False, age_years=DROP),
    ],
    "R-N02": [
        row("could get pregnant, pregnant", True, **(CAP | {"pregnant_now": "yes"})),
        row("not sure if could, pregnant", True, **(CAP | {"can_get_pregnant": "not_sure", "pregnant_now": "yes"})),
        row("could get pregnant, not pregnant", False, **CAP),
        row("cannot get pregnant: pregnant_now discarded", False, pregnant_now="yes"),
        row("positive test today", True, preg_test_result="positive"),
        row("negative test today", False, preg_test_result="negative"),
    ],
    "R-N03": [
        row("planning within 6 months", True, **(CAP | {"planning_pregnancy_6mo": "yes"})),
        row("not planning", False, **CAP),
        row("cannot get pregnant: plan discarded", False, planning_pregnancy_6mo="yes"),
    ],
    "R-N04": [
        row("breastfeeding", True, breastfeeding="yes"),
        row("not breastfeeding", False, breastfeeding="no"),
        row("under 12: discarded", False, age_years=11, breastfeeding="yes"),
    ],
    "R-N05": [
        row("unwilling", True, **(CAP | {"willing_pregnancy_prevention": "no"})),
        row("willing", False, **CAP),
        row("not sure (R-R03 instead)", False, **(CAP | {"willing_pregnancy_prevention": "not_sure"})),
        row("cannot get pregnant: discarded", False, willing_pregnancy_prevention="no"),
    ],
    "R-N06": [
        row("retinoid allergy", True, allergies=["retinoid"]),
        row("vitamin A allergy", True, allergies=["vitamin_a", "other"]),
        row("soy allergy only", False, allergies=["soy"]),
        row("no allergies", False, allergies=["none"]),
    ],
    "R-O01": [
        row("mild, nothing tried", True, **MILD_UNTREATED),
        row("mild, nothing tried, a lot of impact", False, **(MILD_UNTREATED | {"impact": "a_lot"})),
        row("mild, one oral antibiotic failed", False, **(MILD_UNTREATED | {"oral_abx": "finished_not_helped"})),
        row("mild, one course failed (not enough)", True, **(MILD_UNTREATED | {"completed_courses": "one"})),
        row("mild, two courses failed", False, **(MILD_UNTREATED | {"completed_courses": "two_or_more"})),
        row(
            "almost clear with scars (R-O02 instead)",
            False,
            self_severity="almost_clear",
            nodules="none",
            scarring="some",
        ),
        row("severe nodular", False),
        row("under 12 (age gate closed)", False, age_years=11, **MILD_UNTREATED),
    ],
    "R-O02": [
        row("almost clear with some scars", True, self_severity="almost_clear", nodules="none", scarring="some"),
        row("clear with many scars", True, self_severity="clear", nodules="none", scarring="many"),
        row("mild with scars is a signal", False, **(MILD_UNTREATED | {"scarring": "some"})),
        row("almost clear, scars not sure", False, self_severity="almost_clear", nodules="none", scarring="not_sure"),
        row(
            "examination finds no scars",
            False,
            self_severity="almost_clear",
            nodules="none",
            scarring="many",
            nurse_scarring="none",
        ),
    ],
    "R-R01": [
        row("not sure if pregnant", True, **(CAP | {"pregnant_now": "not_sure"})),
        row("not pregnant", False, **CAP),
        row("not sure, test not done", True, **(CAP | {"pregnant_now": "not_sure", "preg_test_result": "not_done"})),
        row(
            "not sure, negative test (R-R01b)",
            False,
            **(CAP | {"pregnant_now": "not_sure", "preg_test_result": "negative"}),
        ),
    ],
    "R-R01b": [
        row(
            "not sure, negative test today",
            True,
            **(CAP | {"pregnant_now": "not_sure", "preg_test_result": "negative"}),
        ),
        row("not sure, no test", False, **(CAP | {"pregnant_now": "not_sure"})),
        row("not sure, test not done", False, **(CAP | {"pregnant_now": "not_sure", "preg_test_result": "not_done"})),
        row("not pregnant, negative test", False, **(CAP | {"preg_test_result": "negative"})),
    ],
    "R-R02": [
        row("not sure if could get pregnant", True, **(CAP | {"can_get_pregnant": "not_sure"})),
        row("could get pregnant", False, **CAP),
        row("cannot", False),
    ],
    "R-R03": [
        row("not sure about pregnancy prevention", True, **(CAP | {"willing_pregnancy_prevention": "not_sure"})),
        row("willing", False, **CAP),
    ],
    "R-R04": [
        row("PHQ-9 total 10", True, **(PHQ_HIGH | {"phq9_q8": 2})),
        row("PHQ-9 total 9", False, **PHQ_HIGH),
        row("total 10, clinic cutoff 11", False, {"phq9_review_cutoff": 11}, **(PHQ_HIGH | {"phq9_q8": 2})),
        row("total 9, clinic cutoff 9", True, {"phq9_review_cutoff": 9}, **PHQ_HIGH),
        row(
            "PHQ-2 below cutoff: items 3-8 discarded, no total",
            False,
            **(PHQ_HIGH | {"phq9_q1": 1, "phq9_q2": 1, "phq9_q3": 3, "phq9_q4": 3, "phq9_q5": 3}),
        ),
        row("items 3-8 asked but one missing: no total", False, **(PHQ_HIGH | {"phq9_q8": DROP, "phq9_q7": 3})),
    ],
    "R-R05": [
        row("anxiety", True, mh_history=["anxiety"]),
        row("self-harm and other", True, mh_history=["self_harm", "other"]),
        row("none", False, mh_history=["none"]),
        row("not answered", False, mh_history=DROP),
    ],
    "R-R06": [
        row("liver disease", True, liver_disease="yes"),
        row("not sure (R-F14 instead)", False, liver_disease="not_sure"),
    ],
    "R-R07": [
        row("high blood fats", True, high_lipids="yes"),
        row("past pancreatitis", True, pancreatitis_history="yes"),
        row("triglycerides at the clinic threshold", True, {"tg_review_threshold_mg_dl": 500}, tg_mg_dl=500),
        row("triglycerides just below it", False, {"tg_review_threshold_mg_dl": 500}, tg_mg_dl=499),
        row("triglycerides high but no threshold set", False, tg_mg_dl=2000),
        row("not sure about blood fats", False, high_lipids="not_sure"),
    ],
    "R-R08": [row("Crohn's or colitis", True, ibd="yes"), row("no", False, ibd="no")],
    "R-R09": [row("past IIH", True, iih_history="yes"), row("no", False, iih_history="no")],
    "R-R10": [
        row("soy", True, allergies=["soy"]),
        row("peanut", True, allergies=["peanut", "parabens"]),
        row("parabens only", False, allergies=["parabens"]),
    ],
    "R-R11": [row("parabens", True, allergies=["parabens"]), row("other", False, allergies=["other"])],
    "R-R12": [row("another retinoid", True, other_oral_retinoid="yes"), row("no", False, other_oral_retinoid="no")],
    "R-R13": [
        row("finished under 8 weeks ago", True, prior_isotretinoin="finished_under_8_weeks"),
        row("taking now", True, prior_isotretinoin="taking_now"),
        row("finished 8 weeks or more ago", False, prior_isotretinoin="finished_8_weeks_or_more"),
    ],
    "R-R14": [
        row("severity not answered", True, self_severity=DROP),
        row("age not answered", True, age_years=DROP),
        row("could get pregnant, pregnancy not answered", True, **(CAP | {"pregnant_now": DROP})),
        row("item 9 positive, acuity not answered", True, phq9_q9=1),
        row("PHQ-2 positive, item 5 not answered", True, **(PHQ_HIGH | {"phq9_q5": DROP})),
        row("optional questions not answered", False, sites=DROP, impact=DROP, allergies=DROP),
        row("cannot get pregnant: follow-ups not asked", False),
        row("under 12: only section A is asked", False, age_years=11, self_severity=DROP, phq9_q1=DROP),
        row("under 12: item 9 kept, acuity not required", False, age_years=11, phq9_q9=1),
    ],
    "R-R16": [
        row("PHQ-9 total 20, item 9 = 0", True, **PHQ9_TOTAL_20),
        row("PHQ-9 total 19, item 9 = 0", False, **(PHQ9_TOTAL_20 | {"phq9_q3": 2})),
        row(
            "PHQ-9 total 21 with item 9 = 1 (urgent instead)",
            False,
            **(PHQ9_TOTAL_20 | {"phq9_q9": 1, "suicide_now": "no"}),
        ),
        row("PHQ-2 negative: total undefined", False, phq9_q1=1, phq9_q2=1),
    ],
    "R-R15": [
        row("not sure about plans", True, **(CAP | {"planning_pregnancy_6mo": "not_sure"})),
        row("no plans", False, **CAP),
    ],
    "R-F01": [
        row("age 12", True, age_years=12),
        row("age 17", True, age_years=17),
        row("age 18", False, age_years=18),
        row("age 11", False, age_years=11),
    ],
    "R-F02": [
        row("could get pregnant, willing", True, **CAP),
        row("not sure if pregnant still needs the programme", True, **(CAP | {"pregnant_now": "not_sure"})),
        row("cannot get pregnant", False),
        row("pregnant", False, **(CAP | {"pregnant_now": "yes"})),
        row("planning pregnancy", False, **(CAP | {"planning_pregnancy_6mo": "yes"})),
        row("unwilling", False, **(CAP | {"willing_pregnancy_prevention": "no"})),
        row("positive test", False, preg_test_result="positive", **CAP),
    ],
    "R-F03": [
        row("mini-pill", True, **(CAP | {"contraception_methods": ["progestin_only_pill"]})),
        row("combined pill", False, **(CAP | {"contraception_methods": ["combined_hormonal"]})),
        row("cannot get pregnant: discarded", False, contraception_methods=["progestin_only_pill"]),
    ],
    "R-F04a": [
        row("with implant", True, st_johns_wort="yes", **(CAP | {"contraception_methods": ["implant"]})),
        row("with condoms only", False, st_johns_wort="yes", **CAP),
        row("hormonal, no St John's wort", False, **(CAP | {"contraception_methods": ["injection"]})),
    ],
    "R-F04b": [
        row("cannot get pregnant", True, st_johns_wort="yes"),
        row("could get pregnant, non-hormonal", True, st_johns_wort="yes", **CAP),
        row(
            "with combined pill (R-F04a instead)",
            False,
            st_johns_wort="yes",
            **(CAP | {"contraception_methods": ["combined_hormonal"]}),
        ),
        row("no", False, st_johns_wort="no"),
    ],
    "R-F05": [
        row("on a tetracycline", True, tetracycline_current="yes"),
        row("not sure", False, tetracycline_current="not_sure"),
    ],
    "R-F06": [
        row("vitamin A supplement", True, vitamin_a_supplement="yes"),
        row("no", False, vitamin_a_supplement="no"),
    ],
    "R-F07": [
        row("long-term steroids", True, systemic_steroid_long_term="yes"),
        row("phenytoin", True, anti_seizure_phenytoin="yes"),
        row("neither", False),
    ],
    "R-F08": [row("diabetes", True, diabetes="yes"), row("no", False, diabetes="no")],
    "R-F09": [row("weak bones", True, bone_condition="yes"), row("no", False, bone_condition="no")],
    "R-F10": [row("hearing", True, hearing_problem="yes"), row("no", False, hearing_problem="no")],
    "R-F11": [
        row("night vision or contacts", True, vision_night_or_contacts="yes"),
        row("no", False, vision_night_or_contacts="no"),
    ],
    "R-F12": [row("plans to give blood", True, blood_donation_plan="yes"), row("no", False)],
    "R-F13": [
        row("family history", True, mh_family_history="yes"),
        row("not sure", False, mh_family_history="not_sure"),
    ],
    "R-F14": [
        row("not sure about liver", True, liver_disease="not_sure"),
        row("not sure about blood fats", True, high_lipids="not_sure"),
        row("not sure about antibiotics", True, tetracycline_current="not_sure"),
        row("not sure about vitamin A", True, vitamin_a_supplement="not_sure"),
        row("not sure about family history only", False, mh_family_history="not_sure"),
        row("all answered", False),
    ],
    "R-C01": [
        row("US: nodular, antibiotics failed", True),
        row("UK: US notes not shown", False, UK),
        row("US: never had antibiotics", False, oral_abx="never"),
        row("US: two nodules", False, nodules="one_or_two"),
    ],
    "R-C02": [
        row("US: moderate with a lot of impact", True, self_severity="moderate", nodules="none", impact="a_lot"),
        row("US: fits the label (R-C01 instead)", False),
        row("US: no signal", False, **MILD_UNTREATED),
    ],
    "R-C03": [
        row("US: nodular, never had antibiotics", True, oral_abx="never"),
        row("US: antibiotics failed", False),
        row("US: never, but under 3 nodules", False, oral_abx="never", nodules="one_or_two", impact="a_lot"),
    ],
    "R-C04": [
        row("UK: signal", True, UK),
        row("UK: no signal, lasting dark marks", True, UK, **(MILD_UNTREATED | {"dark_marks_persistent": "yes"})),
        row("UK: no signal, no dark marks", False, UK, **MILD_UNTREATED),
        row("US", False),
    ],
    "R-C05": [
        row("UK: signal, never had antibiotics", True, UK, oral_abx="never"),
        row("UK: antibiotics failed", False, UK),
        row("US", False, oral_abx="never"),
    ],
    "R-C06": [
        row("UK, 15, clinic keeps the check", True, {**UK, "uk_under18_second_prescriber": True}, age_years=15),
        row("UK, 18, clinic keeps the check", False, {**UK, "uk_under18_second_prescriber": True}, age_years=18),
        row("UK, 15, default configuration", False, UK, age_years=15),
        row("US, 15, setting on", False, {"uk_under18_second_prescriber": True}, age_years=15),
    ],
    "R-C07": [
        row("UK adult", True, UK),
        row("UK under 12", True, UK, age_years=11),
        row("US", False),
    ],
    "R-C08": [
        row("UK: moderate, no nodules, no scars", True, UK, self_severity="moderate", nodules="none"),
        row(
            "UK: 35 or more spots only", True, UK, self_severity="mild", nodules="none", inflammatory_count="35_or_more"
        ),
        row("UK: severity not answered", True, UK, self_severity=DROP, nodules="none"),
        row("UK: severe", False, UK, self_severity="severe", nodules="none"),
        row("UK: 1 or 2 nodules", False, UK, self_severity="moderate", nodules="one_or_two"),
        row("UK: some scars", False, UK, self_severity="moderate", nodules="none", scarring="some"),
        row("UK: examination IGA 4 supersedes", False, UK, self_severity="moderate", nodules="none", nurse_iga=4),
        row("UK: examination finds no nodules", True, UK, self_severity="moderate", nurse_nodule_count=0),
        row("UK: under 12", False, UK, age_years=11, self_severity="moderate", nodules="none"),
        row("US: moderate, no nodules", False, self_severity="moderate", nodules="none"),
    ],
}

ROWS = [(rule_id, r) for rule_id, rows in TABLES.items() for r in rows]
RULES_BY_ID = {rule.id: rule for rule in RULES}


@pytest.mark.parametrize(("rule_id", "case"), ROWS, ids=[f"{rule_id}: {r.what}" for rule_id, r in ROWS])
def test_rule_boundary(rule_id: str, case: Row) -> None:
    from .answersets import answers_with

    decision = run(answers_with(**case.answers), case.config)
    rule = RULES_BY_ID[rule_id]
    assert (rule_id in decision.fired_rules) is case.fires
    if rule.warning is not None:
        assert (rule.warning.id in {w.id for w in decision.warnings}) is case.fires
    if rule.note is not None:
        assert (rule.note.id in {n.id for n in decision.clinician_notes}) is case.fires
    if case.fires and rule.outcome is not None:
        reached = decision.underlying_outcome if rule.outcome is not Outcome.URGENT_HELP else decision.outcome
        assert OUTCOME_RANK[reached] >= OUTCOME_RANK[rule.outcome]


def test_every_rule_has_a_table_that_fires_it() -> None:
    """Every rule ID fires in at least one test (R-E01 fires in the fail-closed tests)."""
    assert set(TABLES) == set(RULES_BY_ID)
    for rule_id, rows in TABLES.items():
        assert any(r.fires for r in rows), rule_id
        if RULES_BY_ID[rule_id].when.name != "always" or RULES_BY_ID[rule_id].jurisdiction:
            assert any(not r.fires for r in rows), f"{rule_id} has no row on the other side of its boundary"
    assert ERROR_RULE.id not in RULES_BY_ID


def test_rule_ids_and_warning_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    warnings = [rule.warning.id for rule in RULES if rule.warning]
    notes = [rule.note.id for rule in RULES if rule.note]
    assert len(ids) == len(set(ids))
    assert len(warnings) == len(set(warnings))
    assert len(notes) == len(set(notes))
