"""The schedule form's own notation, as pure functions: restrictions written the way people
write them ("Mon-Fri 09:00-17:00", "Fri-Mon 18:00-08:00") and read back the same."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.errors import ValidationFailed
from escalate.web.pages.schedule_forms import form_field, parse_restriction, restriction_text


@pytest.mark.parametrize(
    ("text", "weekdays", "start", "end"),
    [
        ("Mon-Fri 09:00-17:00", [0, 1, 2, 3, 4], "09:00", "17:00"),
        ("sat,sun 10:00 - 14:00", [5, 6], "10:00", "14:00"),
        ("Fri-Mon 18:00-08:00", [0, 4, 5, 6], "18:00", "08:00"),
        ("Wednesday 9:30-11:00", [2], "9:30", "11:00"),
    ],
)
def test_restrictions_as_people_write_them(
    text: str, weekdays: list[int], start: str, end: str
) -> None:
    assert parse_restriction(text, "r") == {"weekdays": weekdays, "start": start, "end": end}


@pytest.mark.parametrize("text", ["weekdays 9 to 5", "Mon-Fri", "Funday 09:00-10:00", ""])
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_restriction(text, "layers-0-restrictions")
    assert refused.value.field == "layers-0-restrictions"


@given(
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    start=st.times().map(lambda t: time(t.hour, t.minute)),
    end=st.times().map(lambda t: time(t.hour, t.minute)),
)
def test_written_restrictions_read_back_the_same(
    weekdays: set[int], start: time, end: time
) -> None:
    stored = {"weekdays": sorted(weekdays), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    assert parse_restriction(restriction_text(stored), "r") == stored


def test_service_fields_map_to_the_form_slot_that_was_filled() -> None:
    # Slot 0 left blank, so the service's first layer is the form's slot 1.
    assert form_field("layers[0].participants[2]", [1]) == "layers-1-participants"
    assert form_field("layers[0].start_at", [1]) == "layers-1-handoff"
    assert form_field("layers[0].restrictions[1].weekdays", [1]) == "layers-1-restrictions"
    assert form_field("time_zone", [1]) == "time_zone"
    assert form_field(None, []) == "form"
