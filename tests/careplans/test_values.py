"""The cadence module's values and date helpers, which the compiled planner leans on (clinic/native.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import careplans.cadence
from careplans.cadence import (
    CadenceState,
    CadenceStatus,
    CountPerPeriod,
    DueWindow,
    Interval,
    monday_of,
    next_due,
    shift,
)
from clinic import native

PROPERTY = settings(max_examples=300, deadline=None)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
COMPILED = native.is_compiled(careplans.cadence)


def window(earliest: str, ideal: str, latest: str) -> DueWindow:
    return DueWindow(date.fromisoformat(earliest), date.fromisoformat(ideal), date.fromisoformat(latest))


def test_windows_with_the_same_dates_are_equal_hash_alike_and_read_like_their_constructor() -> None:
    first, same = (
        window("2026-12-07", "2026-12-09", "2026-12-13"),
        window("2026-12-07", "2026-12-09", "2026-12-13"),
    )
    assert first == same
    assert len({first, same}) == 1
    assert first != window("2026-12-07", "2026-12-10", "2026-12-13")
    assert repr(first) == (
        "DueWindow(earliest=datetime.date(2026, 12, 7), ideal=datetime.date(2026, 12, 9), "
        "latest=datetime.date(2026, 12, 13))"
    )


def test_a_window_is_never_equal_to_a_different_kind_of_value_with_the_same_fields() -> None:
    days = window("2026-12-07", "2026-12-09", "2026-12-13")
    assert days != (days.earliest, days.ideal, days.latest)
    state = CadenceState(days, CadenceStatus.DUE, None)
    assert state == CadenceState(days, CadenceStatus.DUE, None)
    assert state != CadenceState(days, CadenceStatus.OVERDUE, None)


@pytest.mark.skipif(not COMPILED, reason="Final attributes are read-only at run time once compiled")
def test_a_compiled_window_cannot_be_changed_after_it_is_made() -> None:
    days = window("2026-12-07", "2026-12-09", "2026-12-13")
    with pytest.raises(AttributeError):
        days.ideal = date(2026, 12, 8)  # type: ignore[misc]
    assert days.ideal == date(2026, 12, 9)


@PROPERTY
@given(dates, st.integers(-3000, 3000))
def test_shifting_a_date_is_adding_that_many_days(day: date, days: int) -> None:
    assert shift(day, days) == day + timedelta(days=days)


@PROPERTY
@given(dates)
def test_the_monday_of_a_date_is_a_monday_in_the_six_days_up_to_it(day: date) -> None:
    monday = monday_of(day)
    assert monday.weekday() == 0
    assert 0 <= (day - monday).days <= 6
    assert monday_of(day) == monday  # the remembered answer is the same


@PROPERTY
@given(
    st.sampled_from(
        [CountPerPeriod(1, 2, 7), CountPerPeriod(2, 3, 7), CountPerPeriod(1, 1, 14), Interval(14, 28)]
    ),
    st.lists(dates, max_size=12),
    st.lists(dates, max_size=4),
    dates,
    dates,
)
def test_a_history_given_as_a_set_or_a_generator_gives_the_same_window_as_a_list(
    rule: CountPerPeriod | Interval, completed: list[date], booked: list[date], phase_start: date, today: date
) -> None:
    as_list = next_due(rule, phase_start=phase_start, completed=completed, booked=booked, today=today)
    as_set = next_due(
        rule, phase_start=phase_start, completed=set(completed), booked=iter(booked), today=today
    )
    assert as_set == as_list
