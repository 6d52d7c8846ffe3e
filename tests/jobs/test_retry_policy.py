"""RetryPolicy is a pure function of the attempt number."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from escalate.jobs.registry import RetryPolicy


def test_delays_double_from_the_base_until_the_cap() -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), factor=2.0, cap=timedelta(minutes=1))
    delays = [policy.delay_after(attempt).total_seconds() for attempt in range(1, 7)]
    assert delays == [10, 20, 40, 60, 60, 60]


def test_attempt_zero_waits_the_base() -> None:
    assert RetryPolicy().delay_after(0) == timedelta(seconds=10)


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 5
    assert policy.delay_after(1) == timedelta(seconds=10)
    assert policy.delay_after(100) == timedelta(hours=1)


@given(
    base=st.integers(min_value=1, max_value=3600),
    factor=st.floats(min_value=1.0, max_value=10.0),
    cap=st.integers(min_value=1, max_value=86_400),
    attempt=st.integers(min_value=1, max_value=60),
)
def test_delays_never_shrink_and_never_pass_the_cap(
    base: int, factor: float, cap: int, attempt: int
) -> None:
    policy = RetryPolicy(base=timedelta(seconds=base), factor=factor, cap=timedelta(seconds=cap))
    assert policy.delay_after(attempt) <= policy.delay_after(attempt + 1)
    assert policy.delay_after(attempt + 1) <= timedelta(seconds=cap)
