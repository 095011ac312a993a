"""CSV cells that a spreadsheet opens safely (CSV or formula injection).

Rules (OWASP's "CSV Injection" guidance, made complete):
- A text cell is neutralised by a leading `'` (which spreadsheets read as "this is text")
  when a spreadsheet could read it as a formula: it starts with `=`, `+`, `-`, `@` or `|`
  (a DDE command), in any width (full-width U+FF1D, small U+FE66...: compared after NFKC), or
  starts with a tab, carriage return, line feed or any other control character, or starts
  with blanks (spaces, no-break or ideographic spaces, zero-width marks) before such a sign,
  since spreadsheets skip them.
- Only text people or outside systems typed goes through `text_cell`: names, key comments,
  key ids. Numbers are written as they are and stay numbers: a credit note's `-5.00` is a
  negative amount, not a formula, and `text_cell` refuses anything but a `str`.
- Quotes and separators inside a cell are the csv module's job (it quotes such cells).
"""

import unicodedata

# The signs a spreadsheet starts a formula (or a DDE call) with, after NFKC.
FORMULA_SIGNS = frozenset("=+-@|") | {"\N{MINUS SIGN}"}


def _is_blank(char: str) -> bool:
    # Spaces of every kind and invisible format marks (zero-width space, BOM, ...).
    return char.isspace() or unicodedata.category(char) == "Cf"


def _is_formula_sign(char: str) -> bool:
    return unicodedata.normalize("NFKC", char)[:1] in FORMULA_SIGNS


def needs_neutralising(text: str) -> bool:
    """True when a spreadsheet could run `text` as a formula (see the module's rules)."""
    if not text:
        return False
    if unicodedata.category(text[0]) == "Cc":  # tab, CR, LF, NUL and the other controls
        return True
    first = next((char for char in text if not _is_blank(char)), "")
    return bool(first) and _is_formula_sign(first)


def text_cell(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    if not isinstance(text, str):
        raise TypeError(f"text_cell takes text, not {type(text).__name__}: write numbers as is")
    return f"'{text}" if needs_neutralising(text) else text
