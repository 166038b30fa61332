"""The one rule for a number typed as text, used by the portal's forms and the CLI's references."""

import pytest

from models.numbers import number_in_text


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("999999999", 999_999_999),  # nine digits: the most any integer column holds here
        ("1000000000", None),  # ten
        ("１２", None),  # full-width digits are not read as 12
        ("督〔2024〕12号", None),
        ("-3", None),
        ("", None),
        (None, None),
        ("٣", None),  # an Arabic-Indic digit passes str.isdigit, not isascii
    ],
)
def test_a_number_is_at_most_nine_ascii_digits(typed: object, number: int | None) -> None:
    assert number_in_text(typed) == number
