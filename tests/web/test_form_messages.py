"""Form errors in words: field names and ISO times the domain quotes are written as the
pages write them."""

from __future__ import annotations

from escalate.web.pages import forms


def test_a_field_name_reads_as_words() -> None:
    assert forms.label("affected_users") == "Affected users"
    assert forms.label("contracts[0].monthly_fee") == "Monthly fee"


def test_iso_times_and_quoted_field_names_read_as_words() -> None:
    message = "impact_end 2026-11-30T04:00:00+00:00 is before impact_start 2026-11-30T05:30:00Z"
    assert forms.readable(message, ["impact_end", "impact_start"]) == (
        "Impact end 30 Nov 2026, 04:00 UTC is before impact start 30 Nov 2026, 05:30 UTC."
    )


def test_other_words_are_left_alone() -> None:
    assert forms.readable("no account named 'snake_case Ltd'", ["account"]) == (
        "No account named 'snake_case Ltd'."
    )
