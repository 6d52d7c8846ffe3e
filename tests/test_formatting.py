"""escalate.formatting: the words the CLI and the web pages share."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import formatting


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "0 min"),
        (15, "15 min"),
        (59, "59 min"),
        (60, "1 h"),
        (90, "1 h 30 min"),
        (240, "4 h"),
        (1440, "24 h"),
        (4320, "72 h"),
        (10080, "168 h"),
        (20160, "14 d"),
        (20220, "337 h"),
        (43200, "30 d"),
    ],
)
def test_duration(minutes: int, text: str) -> None:
    assert formatting.duration(minutes) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("5000"), "USD", "5,000.00 USD"),
        (Decimal("15000.5"), "EUR", "15,000.50 EUR"),
        (Decimal("0"), "GBP", "0.00 GBP"),
        (Decimal("-12.5"), "USD", "-12.50 USD"),
        (Decimal("120000"), "JPY", "120,000 JPY"),
        (Decimal("120000.00"), "JPY", "120,000 JPY"),
        (Decimal("1500000"), "KRW", "1,500,000 KRW"),
        (Decimal("1234.5"), "KWD", "1,234.500 KWD"),
        (7, "USD", "7.00 USD"),
    ],
)
def test_money(amount: Decimal | int, currency: str, text: str) -> None:
    assert formatting.money(amount, currency) == text


def test_minor_units() -> None:
    assert formatting.minor_units("USD") == 2
    assert formatting.minor_units("JPY") == formatting.minor_units("jpy") == 0
    assert formatting.minor_units("BHD") == 3


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("99.9000"), 0, "99.9%"),
        (Decimal("100.0000"), 0, "100%"),
        (Decimal("95.0"), 0, "95%"),
        (Decimal("99.95"), 0, "99.95%"),
        (Decimal("0"), 0, "0%"),
        (Decimal("99"), 1, "99.0%"),
        (Decimal("99.9000"), 1, "99.9%"),
        (Decimal("99.95"), 1, "99.95%"),
        (100, 0, "100%"),
    ],
)
def test_percent(value: Decimal | int, places: int, text: str) -> None:
    assert formatting.percent(value, places=places) == text


# --- properties ------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KRW", "KWD", "BHD", "CLP"])
DURATION = re.compile(r"^(\d+ d|\d+ h|\d+ h \d+ min|\d+ min)$")
UNIT_MINUTES = {"d": 1440, "h": 60, "min": 1}


@given(
    currency=CURRENCIES,
    minor=st.integers(min_value=-(10**14), max_value=10**14),
)
def test_money_keeps_every_digit_of_an_amount_in_the_currencys_units(
    currency: str, minor: int
) -> None:
    amount = Decimal(minor).scaleb(-formatting.minor_units(currency))
    text = formatting.money(amount, currency)
    number, _, code = text.partition(" ")
    assert code == currency
    assert Decimal(number.replace(",", "")) == amount
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*(\.\d+)?", number), text
    places = len(number.partition(".")[2])
    assert places == formatting.minor_units(currency)


@given(st.integers(min_value=0, max_value=10**7))
def test_duration_is_never_empty_and_reads_back_to_its_minutes(minutes: int) -> None:
    text = formatting.duration(minutes)
    assert DURATION.match(text), text
    words = text.split()
    read_back = sum(
        int(count) * UNIT_MINUTES[unit] for count, unit in zip(words[::2], words[1::2], strict=True)
    )
    assert read_back == minutes


@given(
    st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=4),
)
def test_percent_reads_back_to_its_value(value: Decimal, places: int) -> None:
    text = formatting.percent(value, places=places)
    assert text.endswith("%")
    number = text.removesuffix("%")
    assert Decimal(number) == value
    assert len(number.partition(".")[2]) >= places


@pytest.mark.parametrize(
    ("text", "minutes"), [("2h", 120), ("90m", 90), ("1h30m", 90), ("1d", 1440), (" 1H ", 60)]
)
def test_durations_read_as_amtool_writes_them(text: str, minutes: int) -> None:
    assert formatting.parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "0m", "1h-5m"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        formatting.parse_duration(text)
