"""CSV cells that a spreadsheet opens safely."""

# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (names and key comments
    are typed by people)."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
