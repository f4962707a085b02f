"""The source register (clinical/sources.md, S1-S40) as data, so every rule can name its evidence.

Reviewers read a rule's sources by title on the staff rule catalogue and the clinician's
explanation of a result; a test checks that every source ID a rule cites is listed here.
Titles are short (organisation, document, year); confidence is the register's column as
written: A read in the primary source, B in a reliable copy, C in secondary summaries only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    #: The register's confidence as written ("A", "B/C", "B (abstract only)" ...); None for "design".
    confidence: str | None


_REGISTER: Final = (
    Source("S1", "Mayne Pharma / Upsher-Smith, isotretinoin capsules prescribing information (PLR), 2022", "B"),
    Source("S2", "Sun Pharmaceutical Industries, ABSORICA LD Important Safety Information, undated", "B"),
    Source("S3", "Hoffmann-La Roche, Accutane prescribing information (older format), c. 2008–2010", "B/C"),
    Source("S4", "Amneal, isotretinoin capsules label (older format), undated", "B"),
    Source("S5", "openFDA, drug label records for isotretinoin products (ingredient lists), current", "A"),
    Source("S6", "Actavis Pharma, isotretinoin capsules Medication Guide (DailyMed), current", "B"),
    Source("S7", "FDA CDER, update to the iPLEDGE REMS (gender-neutral categories), 2021", "B"),
    Source("S8", "FDA iPLEDGE REMS modifications, as summarised by AARS, Dermatology Times and others, 2023–2026", "B"),
    Source(
        "S9", "American Academy of Dermatology, guidelines of care for acne vulgaris (JAAD), 2024", "B (abstract only)"
    ),
    Source("S10", "NICE, Acne vulgaris: management (NG198), 2021, updated 2023", "B (via S32, S33)"),
    Source("S11", "MHRA, Drug Safety Update: isotretinoin new safety measures, including under-18s, 2023", "A"),
    Source(
        "S12",
        "MHRA, Drug Safety Update: isotretinoin updates to prescribing guidance and survey of services, 2025",
        "A (as summarised by NHS NCL ICB)",
    ),
    Source("S13", "MHRA, Drug Safety Update: isotretinoin changes to prescribing guidance, 2026", "A"),
    Source("S14", "MHRA, Drug Safety Update: isotretinoin reminder of important risks and precautions, 2020", "A"),
    Source("S15", "Roche Products, Roaccutane Summary of Product Characteristics (UK), 2020", "B"),
    Source("S16", "MHRA, Drug Safety Update: oral retinoids pregnancy prevention reminder, 2019", "B"),
    Source("S17", "MHRA, Drug Safety Update: St John's wort and hormonal contraceptives, 2014", "A"),
    Source("S18", "European Dermatology Forum, European evidence-based (S3) acne guideline, 2016", "C"),
    Source("S19", "FDA CDER, Acne vulgaris: establishing effectiveness of drugs (guidance for industry), 2018", "B"),
    Source("S20", "Tan et al., Comprehensive Acne Severity Scale (CASS), J Cutan Med Surg, 2007", "B"),
    Source("S21", "Adityan, Kumari and Thappa, Scoring systems in acne vulgaris (GAGS), IJDVL, 2009", "B"),
    Source("S22", "Cardiff University, Cardiff Acne Disability Index (Motley and Finlay), 1992", "A"),
    Source("S23", "PHQ-9 (Kroenke et al.) and its validation studies (Arroll; Simon; AACN), 2001–2020", "B"),
    Source("S24", "SAMHSA, 988 Suicide & Crisis Lifeline, 2022", "B"),
    Source("S25", "NHS (Aneurin Bevan UHB), NHS 111 mental health option and Samaritans 116 123, current", "B"),
    Source("S26", "Hodgkiss-Harlow et al., isotretinoin patient symptom survey, J Am Acad Dermatol, c. 2011", "C"),
    Source("S27", "Newcastle Skin clinic, Acne patient page (UK), c. 2024", "B"),
    Source("S28", "TGA (Australia), safety alert: isotretinoin (Roaccutane), 2025", "A"),
    Source("S29", "FAA, Guide for Aviation Medical Examiners: Item 40 Skin, current", "A"),
    Source("S30", "Fraunfelder et al., ocular side effects of isotretinoin, Am J Ophthalmol, 2001", "B"),
    Source("S31", "Dermatology Research and Practice (Hindawi), Subject's Global Assessment table, 2012", "B"),
    Source("S32", "Guidelines in Practice, Management of acne vulgaris: what does NICE recommend?, 2021", "B"),
    Source("S33", "GPnotebook, Referral criteria from primary care: acne vulgaris (NG198 1.3), current", "B"),
    Source("S34", "Doncaster CCG, isotretinoin traffic-light entry (MHRA PPP summary), undated", "C"),
    Source("S35", "Sotret (isotretinoin) label, older format (MedLibrary copy), undated", "B"),
    Source("S36", "Children's Hospital New Orleans, isotretinoin patient monograph (MedlinePlus), undated", "B"),
    Source("S37", "Away With Acne, iPLEDGE Program for Isotretinoin (patient education), undated", "C"),
    Source("S38", "Cutis (via The Hospitalist), administrative burden of iPLEDGE: a survey, undated", "B"),
    Source("S39", "Lifeline, Northern Ireland's crisis response helpline (PHA), current", "A"),
    Source("S40", "Derry Journal, NHS 111 mental health number not run in Northern Ireland, 2024", "C"),
    Source("design", "Screener design decision", None),
)

#: Source ID -> source, in register order.
SOURCES: Final[Mapping[str, Source]] = {source.id: source for source in _REGISTER}
