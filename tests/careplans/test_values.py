"""The cadence module's values and day numbers, which the compiled planner leans on (clinic/native.py)."""

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
    date_of,
    day_number,
    monday_of,
    next_due,
    next_due_days,
    weekday_of,
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
def test_a_day_number_plus_k_is_the_date_k_days_later(day: date, days: int) -> None:
    assert date_of(day_number(day)) == day
    assert date_of(day_number(day) + days) == day + timedelta(days=days)


@PROPERTY
@given(dates, st.integers(-400, 400))
def test_weekdays_and_mondays_on_days_counted_from_any_sunday(day: date, weeks: int) -> None:
    # The planner counts its days from a Sunday shortly before now; the rules must read weeks the same way.
    counted = day_number(day) - 7 * weeks
    assert weekday_of(counted) == day.weekday()
    monday = monday_of(counted)
    assert date_of(monday + 7 * weeks).weekday() == 0
    assert 0 <= counted - monday <= 6


@PROPERTY
@given(
    st.sampled_from(
        [CountPerPeriod(1, 2, 7), CountPerPeriod(2, 3, 7), CountPerPeriod(1, 1, 10), Interval(14, 28)]
    ),
    st.lists(dates, max_size=12),
    dates,
    dates,
    st.integers(-100_000, 100_000),
)
def test_next_due_on_days_counted_from_any_sunday_is_next_due_on_dates(
    rule: CountPerPeriod | Interval, completed: list[date], phase_start: date, today: date, weeks: int
) -> None:
    base = 7 * weeks
    state = next_due_days(
        rule,
        phase_start=day_number(phase_start) - base,
        completed=[day_number(day) - base for day in completed],
        booked=(),
        today=day_number(today) - base,
    )
    expected = next_due(rule, phase_start=phase_start, completed=completed, booked=(), today=today)
    shifted = state.window
    assert (
        date_of(shifted.earliest + base),
        date_of(shifted.ideal + base),
        date_of(shifted.latest + base),
    ) == (
        expected.window.earliest,
        expected.window.ideal,
        expected.window.latest,
    )
    assert state.status == expected.status


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
