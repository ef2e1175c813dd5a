"""The text rule for names and labels in transaction arguments ([EXEC-TEXT.1]).

Human-readable strings that a transaction writes into state (an asset's name,
a contract approval's note, a waiver's reason...) are shown later in tables,
logs and browsers. A name that carries a line feed can forge a row; one that
carries U+202E reverses what the reader sees. So every such field passes
:func:`validate_name` (non-empty) or :func:`validate_label` (may be empty)
when its struct is built or decoded, and the chain refuses the transaction
with ``TX_BAD_NAME`` otherwise.

The rule is consensus-relevant, so it must give the same answer on every
node whatever its Python. ``unicodedata``'s own tables follow the
interpreter's Unicode version (14.0 on Python 3.11, 15.0 on 3.12...), and a
character's category can change or be assigned between versions. The rule
therefore reads only ``unicodedata.ucd_3_2_0``, the Unicode 3.2 database
that every Python 3 ships frozen (it exists for IDNA), plus fixed code-point
ranges written out here. A character that Unicode 3.2 does not assign is
refused rather than guessed at. Error messages use the same frozen database,
so receipts are byte-identical on every node.

A text is accepted when all of these hold:

1. it is not empty (names only) and not blank (only spaces);
2. each character is assigned in Unicode 3.2 and is not of category Cc
   (controls, incl. NUL, CR, LF, TAB), Cf (format: bidi overrides...), Cs,
   Co, Zl or Zp, nor a default-ignorable code point (:data:`IGNORABLE`:
   zero-width characters, bidi marks and isolates, variation selectors,
   fillers, tags);
3. it neither starts nor ends with a space separator (category Zs);
4. it is in Normalization Form C (clients normalise, the chain refuses).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from consortia.execution.errors import BadArguments

__all__ = [
    "IGNORABLE",
    "PINNED_UNICODE_VERSION",
    "InvalidName",
    "display_text",
    "normalise",
    "text_problem",
    "validate_label",
    "validate_name",
]

_UCD: Final = unicodedata.ucd_3_2_0
PINNED_UNICODE_VERSION: Final = _UCD.unidata_version
"""The Unicode version the rule reads (always ``3.2.0``)."""

_REFUSED_CATEGORIES: Final = {
    "Cc": "control character",
    "Cf": "format character",
    "Cs": "surrogate",
    "Co": "private-use character",
    "Cn": "character not assigned in Unicode 3.2",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}

IGNORABLE: Final[tuple[tuple[int, int], ...]] = (
    (0x00AD, 0x00AD),  # soft hyphen (Pd in Unicode 3.2, Cf since 4.0)
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark (bidi, Unicode 6.3)
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero-width space/non-joiner/joiner, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO)
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates (LRI..PDI)
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # reserved specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
"""Default-ignorable code points (invisible when rendered), refused whatever
their category in Unicode 3.2: fixed ranges, so no table lookup decides them."""


class InvalidName(BadArguments):
    """A name or label argument breaks the text rule [EXEC-TEXT.1]."""

    code = "TX_BAD_NAME"


def _ignorable(point: int) -> bool:
    return any(low <= point <= high for low, high in IGNORABLE)


def _describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE`` from the frozen database (deterministic)."""
    name = _UCD.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _char_problem(char: str) -> str | None:
    category = _UCD.category(char)
    if category in _REFUSED_CATEGORIES:
        return _REFUSED_CATEGORIES[category]
    if _ignorable(ord(char)):
        return "invisible (default-ignorable) character"
    return None


def text_problem(value: str, *, allow_empty: bool) -> str | None:
    """Why ``value`` breaks the text rule, or None if it keeps it.

    The answer depends only on ``value`` (never on the interpreter's Unicode
    version), so every node agrees on it.
    """
    if not value:
        return None if allow_empty else "is empty"
    for index, char in enumerate(value):
        problem = _char_problem(char)
        if problem is not None:
            return f"contains {_describe(char)} ({problem}) at index {index}"
    if all(_UCD.category(char) == "Zs" for char in value):
        return "is blank"
    if _UCD.category(value[0]) == "Zs":
        return f"starts with whitespace {_describe(value[0])}"
    if _UCD.category(value[-1]) == "Zs":
        return f"ends with whitespace {_describe(value[-1])}"
    if _UCD.normalize("NFC", value) != value:
        return "is not in Unicode normalization form C (NFC)"
    return None


def validate_name(value: str, field: str) -> None:
    """Refuse a name that is empty or breaks the text rule.

    Raises:
        InvalidName: with the field, the offending character and its index.
    """
    problem = text_problem(value, allow_empty=False)
    if problem is not None:
        raise InvalidName(f"{field} {problem}")


def validate_label(value: str, field: str) -> None:
    """Refuse a label (an optional note: may be empty) that breaks the text rule.

    Raises:
        InvalidName: with the field, the offending character and its index.
    """
    problem = text_problem(value, allow_empty=True)
    if problem is not None:
        raise InvalidName(f"{field} {problem}")


def normalise(value: str) -> str:
    """``value`` in Normalization Form C: what a client sends for user input.

    The chain itself never normalises (a changed string would no longer be the
    signed bytes); it refuses what is not NFC. Surrounding whitespace is not
    stripped here: the chain refuses it, so the user sees the mistake.
    """
    return _UCD.normalize("NFC", value)


def display_text(value: str) -> str:
    """``value`` with every character the rule refuses shown as an escape.

    For terminals and tables showing data written before the rule (or by a
    misbehaving node): ``"a\\nb"`` becomes ``"a\\\\u000Ab"``, so nothing can
    start a line, reorder text or hide itself.
    """
    if all(_char_problem(char) is None for char in value):
        return value
    return "".join(
        char if _char_problem(char) is None else f"\\u{{{ord(char):04X}}}" for char in value
    )
