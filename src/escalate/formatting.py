"""How stored values read to a person, the same in the CLI and on the web pages: money with
its currency, minutes as a contract states them, percentages. Pure functions of the value."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

# ISO 4217 currencies whose minor unit is not the cent; every other currency has two places.
MINOR_UNITS = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
            "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}  # fmt: skip

MINUTES_PER_DAY = 24 * 60
# Hours read best up to two weeks (SLA tables say "72 h" and "168 h"); beyond, days.
DAYS_FROM_MINUTES = 14 * MINUTES_PER_DAY


def minor_units(currency: str) -> int:
    """Decimal places of a currency: "USD" -> 2, "JPY" -> 0, "KWD" -> 3."""
    return MINOR_UNITS.get(currency.upper(), 2)


def money(amount: Decimal | int, currency: str) -> str:
    """Decimal("5000"), "USD" -> "5,000.00 USD"; Decimal("120000"), "JPY" -> "120,000 JPY"."""
    return f"{Decimal(amount):,.{minor_units(currency)}f} {currency}"


def duration(minutes: int) -> str:
    """Minutes as a contract states them: "15 min", "4 h", "1 h 30 min", "168 h", "30 d"."""
    if minutes < 60:
        return f"{minutes} min"
    if minutes % MINUTES_PER_DAY == 0 and minutes >= DAYS_FROM_MINUTES:
        return f"{minutes // MINUTES_PER_DAY} d"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if rest == 0 else f"{hours} h {rest} min"


def percent(value: Decimal | int, *, places: int = 0) -> str:
    """Decimal("99.9000") -> "99.9%", Decimal("100.0000") -> "100%"; at least `places`
    decimals, so a column lines up (places=1: 99 -> "99.0%")."""
    text = format(Decimal(value).normalize(), "f")
    if len(text.partition(".")[2]) < places:
        text = f"{Decimal(value):.{places}f}"
    return f"{text}%"


_DURATION_PART = re.compile(r"(\d+)\s*([dhms])")
_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """A span written as amtool and Alertmanager write them: 2h, 90m, 1h30m, 1d."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as 2h, 90m or 1h30m")
    span = timedelta(0)
    for number, unit in parts:
        span += timedelta(**{_DURATION_UNITS[unit]: int(number)})
    if span <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration")
    return span
