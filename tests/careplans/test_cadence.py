"""Tests for the pure cadence module: readable tables first, then Hypothesis properties. No database."""

# The staff-facing wording uses a real en dash and multiplication sign, on purpose.

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from careplans.cadence import (
    Cadence,
    CadenceState,
    CadenceStatus,
    CountPerPeriod,
    DueWindow,
    Interval,
    describe,
    due_windows_over,
    next_due,
    validate_cadence,
)

ON_TRACK, DUE, OVERDUE, UNSCHEDULED = (
    CadenceStatus.ON_TRACK,
    CadenceStatus.DUE,
    CadenceStatus.OVERDUE,
    CadenceStatus.UNSCHEDULED,
)
PROPERTY = settings(max_examples=200, deadline=None)


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(count: int) -> timedelta:
    return timedelta(days=count)


def expect(
    earliest: str, ideal: str, latest: str, status: CadenceStatus, covered_by: str | None = None
) -> CadenceState:
    window = DueWindow(d(earliest), d(ideal), d(latest))
    return CadenceState(window, status, d(covered_by) if covered_by else None)


def run(
    cadence: Cadence,
    phase_start: str,
    today: str,
    completed: tuple[str, ...] = (),
    booked: tuple[str, ...] = (),
) -> CadenceState:
    return next_due(
        cadence,
        phase_start=d(phase_start),
        completed=[d(day) for day in completed],
        booked=[d(day) for day in booked],
        today=d(today),
    )


# --- tables a person can read -------------------------------------------------------------------------------

ONE_OR_TWO_A_WEEK = CountPerPeriod(1, 2, 7)
THURSDAY = "2025-01-02"  # the phase starts mid-week: the first period is the short week Thu 2 - Sun 5 January


@pytest.mark.parametrize(
    ("today", "completed", "booked", "expected"),
    [
        pytest.param(
            "2025-01-02",
            (),
            (),
            expect("2025-01-02", "2025-01-04", "2025-01-05", DUE),
            id="the short first week is due from the phase's first day",
        ),
        pytest.param(
            "2025-01-05",
            (),
            (),
            expect("2025-01-02", "2025-01-05", "2025-01-05", DUE),
            id="on the last day of the week the ideal is today",
        ),
        pytest.param(
            "2025-01-02",
            ("2024-12-30",),
            (),
            expect("2025-01-02", "2025-01-04", "2025-01-05", DUE),
            id="a session earlier that calendar week but before the phase does not count",
        ),
        pytest.param(
            "2025-01-03",
            ("2025-01-03",),
            (),
            expect("2025-01-06", "2025-01-09", "2025-01-12", UNSCHEDULED),
            id="once the minimum is met the window moves to next week, unscheduled until booked",
        ),
        pytest.param(
            "2025-01-04",
            ("2025-01-03",),
            ("2025-01-08",),
            expect("2025-01-06", "2025-01-09", "2025-01-12", ON_TRACK, "2025-01-08"),
            id="a booking next week puts the patient on track",
        ),
        pytest.param(
            "2025-01-06",
            (),
            (),
            expect("2025-01-02", "2025-01-04", "2025-01-05", OVERDUE),
            id="a missed first week is overdue on Monday",
        ),
        pytest.param(
            "2025-01-06",
            (),
            ("2025-01-07",),
            expect("2025-01-02", "2025-01-04", "2025-01-05", OVERDUE),
            id="a booking cannot repair a week that is already over",
        ),
        pytest.param(
            "2025-01-07",
            ("2025-01-07",),
            (),
            expect("2025-01-13", "2025-01-16", "2025-01-19", UNSCHEDULED),
            id="a session after the missed week ends the overdue state",
        ),
        pytest.param(
            "2025-01-14",
            ("2025-01-03",),
            (),
            expect("2025-01-06", "2025-01-09", "2025-01-12", OVERDUE),
            id="the missed week is the latest finished one",
        ),
    ],
)
def test_one_or_two_a_week_on_a_phase_starting_thursday(
    today: str, completed: tuple[str, ...], booked: tuple[str, ...], expected: CadenceState
) -> None:
    assert run(ONE_OR_TWO_A_WEEK, THURSDAY, today, completed, booked) == expected


MASSAGE = Interval(7, 14)
MONDAY = "2025-01-06"


@pytest.mark.parametrize(
    ("today", "completed", "booked", "expected"),
    [
        pytest.param(
            "2025-01-06",
            (),
            (),
            expect("2025-01-06", "2025-01-06", "2025-01-20", DUE),
            id="the first massage of a phase is due at once and at the latest 14 days on",
        ),
        pytest.param(
            "2025-01-10",
            ("2025-01-06",),
            (),
            expect("2025-01-13", "2025-01-16", "2025-01-20", UNSCHEDULED),
            id="after a massage the next one is due 7 to 14 days later",
        ),
        pytest.param(
            "2025-01-10",
            ("2025-01-06",),
            ("2025-01-11",),
            expect("2025-01-13", "2025-01-16", "2025-01-20", UNSCHEDULED),
            id="a booking before the window opens is too soon and covers nothing",
        ),
        pytest.param(
            "2025-01-10",
            ("2025-01-06",),
            ("2025-01-22",),
            expect("2025-01-13", "2025-01-16", "2025-01-20", UNSCHEDULED),
            id="a booking after the window closes is too late and covers nothing",
        ),
        pytest.param(
            "2025-01-10",
            ("2025-01-06",),
            ("2025-01-11", "2025-01-15"),
            expect("2025-01-13", "2025-01-16", "2025-01-20", ON_TRACK, "2025-01-15"),
            id="a booking inside the window covers it",
        ),
        pytest.param(
            "2025-01-10",
            ("2025-01-06", "2025-01-15"),
            (),
            expect("2025-01-13", "2025-01-16", "2025-01-20", ON_TRACK, "2025-01-15"),
            id="a completed date in the future is treated as a booking",
        ),
        pytest.param(
            "2025-01-14",
            ("2025-01-06",),
            (),
            expect("2025-01-13", "2025-01-16", "2025-01-20", DUE),
            id="inside the window and not booked is due",
        ),
        pytest.param(
            "2025-01-18",
            ("2025-01-06",),
            (),
            expect("2025-01-13", "2025-01-18", "2025-01-20", DUE),
            id="past the ideal date the ideal becomes today",
        ),
        pytest.param(
            "2025-01-21",
            ("2025-01-06",),
            ("2025-01-22",),
            expect("2025-01-13", "2025-01-16", "2025-01-20", OVERDUE),
            id="fifteen days without a massage is overdue",
        ),
    ],
)
def test_massage_every_seven_to_fourteen_days(
    today: str, completed: tuple[str, ...], booked: tuple[str, ...], expected: CadenceState
) -> None:
    assert run(MASSAGE, MONDAY, today, completed, booked) == expected


def test_a_phase_change_ignores_sessions_from_the_earlier_phase() -> None:
    maintenance = Interval(14, 28)
    initial_phase_visits = ("2025-01-20", "2025-01-27", "2025-02-01")

    assert run(maintenance, "2025-02-03", "2025-02-03", initial_phase_visits) == expect(
        "2025-02-03", "2025-02-03", "2025-03-03", DUE
    )
    assert run(maintenance, "2025-02-03", "2025-02-10", (*initial_phase_visits, "2025-02-05")) == expect(
        "2025-02-19", "2025-02-26", "2025-03-05", UNSCHEDULED
    )


def test_the_first_weeks_minimum_is_pro_rated_and_rounded_up() -> None:
    two_or_three_a_week = CountPerPeriod(2, 3, 7)
    # From Thursday 4 of 7 days remain: ceil(2 * 4 / 7) = 2 sessions, so one is not enough.
    assert run(two_or_three_a_week, "2025-01-02", "2025-01-02", ("2025-01-02",)) == expect(
        "2025-01-02", "2025-01-05", "2025-01-05", DUE
    )
    # From Saturday 2 days remain: ceil(2 * 2 / 7) = 1, so one session meets it and next week is up.
    assert run(two_or_three_a_week, "2025-01-04", "2025-01-04", ("2025-01-04",)) == expect(
        "2025-01-06", "2025-01-07", "2025-01-12", UNSCHEDULED
    )
    # Rounding up never asks for zero: a weekly item starting on a Sunday wants that Sunday.
    assert run(CountPerPeriod(1, 1, 7), "2025-01-05", "2025-01-05") == expect(
        "2025-01-05", "2025-01-05", "2025-01-05", DUE
    )


def test_a_count_window_needing_two_sessions_is_covered_only_by_the_second_booking() -> None:
    two_a_week = CountPerPeriod(2, 2, 7)
    assert run(two_a_week, MONDAY, "2025-01-08", booked=("2025-01-09",)).status is DUE
    assert run(two_a_week, MONDAY, "2025-01-08", booked=("2025-01-11", "2025-01-09")) == expect(
        "2025-01-06", "2025-01-08", "2025-01-12", ON_TRACK, "2025-01-11"
    )


def test_two_entries_on_the_same_date_count_as_one_session() -> None:
    assert run(CountPerPeriod(2, 2, 7), MONDAY, "2025-01-08", ("2025-01-07", "2025-01-07")) == expect(
        "2025-01-06", "2025-01-11", "2025-01-12", DUE
    )


def test_periods_other_than_a_week_run_from_the_phase_start() -> None:
    # Fortnights from Wednesday 8 January: 8-21 January, then 22 January - 4 February.
    assert run(CountPerPeriod(1, 1, 14), "2025-01-08", "2025-01-20", ("2025-01-09",)) == expect(
        "2025-01-22", "2025-01-29", "2025-02-04", UNSCHEDULED
    )


def test_before_the_phase_starts_its_first_window_is_unscheduled() -> None:
    assert run(MASSAGE, MONDAY, "2025-01-01") == expect("2025-01-06", "2025-01-06", "2025-01-20", UNSCHEDULED)


@pytest.mark.parametrize(
    ("cadence", "wording"),
    [
        (CountPerPeriod(1, 2, 7), "1–2× per week"),
        (CountPerPeriod(2, 2, 7), "2× per week"),
        (CountPerPeriod(1, 1, 14), "1× every 2 weeks"),
        (CountPerPeriod(7, 7, 7), "7× per week"),
        (CountPerPeriod(1, 1, 1), "1× per day"),
        (CountPerPeriod(2, 3, 10), "2–3× every 10 days"),
        (Interval(7, 14), "every 7–14 days"),
        (Interval(14, 28), "every 2–4 weeks"),
        (Interval(14, 14), "every 2 weeks"),
        (Interval(21, 30), "every 21–30 days"),
        (Interval(2, 3), "every 2–3 days"),
        (Interval(1, 1), "every day"),
    ],
)
def test_describe_reads_the_way_staff_talk(cadence: Cadence, wording: str) -> None:
    assert describe(cadence) == wording


@pytest.mark.parametrize(
    ("cadence", "words"),
    [
        (CountPerPeriod(3, 2, 7), ("minimum", "maximum")),
        (CountPerPeriod(1, 2, 0), ("period",)),
        (CountPerPeriod(1, 2, -7), ("period",)),
        (CountPerPeriod(1, 1, 400), ("period", "366")),
        (CountPerPeriod(0, 2, 7), ("minimum",)),
        (CountPerPeriod(1, 8, 7), ("maximum", "once per day")),
        (Interval(14, 7), ("longest", "shortest")),
        (Interval(0, 7), ("shortest",)),
        (Interval(7, 400), ("longest", "366")),
    ],
)
def test_validation_names_the_problem(cadence: Cadence, words: tuple[str, ...]) -> None:
    problems = validate_cadence(cadence)
    assert any(all(word in problem for word in words) for problem in problems), problems


def test_next_due_refuses_an_invalid_cadence() -> None:
    with pytest.raises(ValueError, match="minimum"):
        run(CountPerPeriod(3, 2, 7), MONDAY, MONDAY)


# --- strategies and an independent restatement of the period rule -------------------------------------------

phase_starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


@st.composite
def count_cadences(draw: st.DrawFn) -> CountPerPeriod:
    period = draw(st.one_of(st.sampled_from([7, 1, 14, 10, 28]), st.integers(1, 45)))
    high = draw(st.integers(1, min(period, 4)))
    return CountPerPeriod(draw(st.integers(1, high)), high, period)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    low = draw(st.integers(1, 35))
    return Interval(low, draw(st.integers(low, 42)))


cadences = st.one_of(count_cadences(), intervals())


@dataclass(frozen=True)
class Scenario:
    cadence: Cadence
    phase_start: date
    completed: list[date]
    booked: list[date]
    today: date

    def state(
        self,
        *,
        completed: list[date] | None = None,
        booked: list[date] | None = None,
        today: date | None = None,
    ) -> CadenceState:
        """next_due for this scenario, with any of its history or today swapped out."""
        return next_due(
            self.cadence,
            phase_start=self.phase_start,
            completed=self.completed if completed is None else completed,
            booked=self.booked if booked is None else booked,
            today=self.today if today is None else today,
        )


@st.composite
def scenarios(draw: st.DrawFn, cadence_strategy: st.SearchStrategy[Cadence] = cadences) -> Scenario:
    phase_start = draw(phase_starts)
    # Offsets from the phase start; negative ones are visits from an earlier phase.
    around_the_phase = st.lists(
        st.integers(-20, 120).map(lambda offset: phase_start + days(offset)), max_size=12
    )
    return Scenario(
        cadence=draw(cadence_strategy),
        phase_start=phase_start,
        completed=draw(around_the_phase),
        booked=draw(around_the_phase.map(lambda dates: dates[:4])),
        today=phase_start + days(draw(st.integers(-10, 110))),
    )


def periods(cadence: CountPerPeriod, phase_start: date, until: date) -> list[tuple[date, date, int]]:
    """The phase's periods up to `until` with their minimum, restated here, not read from the module."""
    result = []
    start = phase_start
    while start <= until:
        end = start + days(6 - start.weekday() if cadence.period_days == 7 else cadence.period_days - 1)
        length = (end - start).days + 1
        result.append((start, end, math.ceil(cadence.min_sessions * length / cadence.period_days)))
        start = end + days(1)
    return result


# --- properties ---------------------------------------------------------------------------------------------


@PROPERTY
@given(cadence=count_cadences(), phase_start=phase_starts, elapsed=st.integers(0, 100), data=st.data())
def test_a_count_history_that_meets_every_minimum_is_never_overdue(
    cadence: CountPerPeriod, phase_start: date, elapsed: int, data: st.DataObject
) -> None:
    today = phase_start + days(elapsed)
    completed: list[date] = []
    for start, end, required in periods(cadence, phase_start, today):
        length = (end - start).days + 1
        if end < today:  # finished periods meet their minimum
            fewest, most = required, min(length, max(required, cadence.max_sessions))
        else:  # the period under way may have anything so far
            length = (today - start).days + 1
            fewest, most = 0, min(length, cadence.max_sessions)
        offsets = data.draw(st.lists(st.integers(0, length - 1), unique=True, min_size=fewest, max_size=most))
        completed += [start + days(offset) for offset in offsets]

    state = next_due(cadence, phase_start=phase_start, completed=completed, booked=[], today=today)
    assert state.status is not OVERDUE


@PROPERTY
@given(cadence=intervals(), phase_start=phase_starts, data=st.data())
def test_an_interval_history_with_every_gap_in_range_is_never_overdue(
    cadence: Interval, phase_start: date, data: st.DataObject
) -> None:
    sessions: list[date] = []
    for _ in range(data.draw(st.integers(0, 8))):
        gap = (
            st.integers(0, cadence.max_days)
            if not sessions
            else st.integers(cadence.min_days, cadence.max_days)
        )
        sessions.append((sessions[-1] if sessions else phase_start) + days(data.draw(gap)))
    today = (sessions[-1] if sessions else phase_start) + days(data.draw(st.integers(0, cadence.max_days)))

    state = next_due(cadence, phase_start=phase_start, completed=sessions, booked=[], today=today)
    assert state.status is not OVERDUE


@PROPERTY
@given(scenario=scenarios(intervals()), extra=st.integers(1, 60))
def test_a_gap_longer_than_max_days_is_overdue(scenario: Scenario, extra: int) -> None:
    assert isinstance(scenario.cadence, Interval)
    last = max(
        (day for day in scenario.completed if day >= scenario.phase_start), default=scenario.phase_start
    )
    today = last + days(scenario.cadence.max_days + extra)

    state = scenario.state(booked=[], today=today)
    assert state.status is OVERDUE
    assert state.window.latest == last + days(scenario.cadence.max_days)


@PROPERTY
@given(cadence=count_cadences(), phase_start=phase_starts, elapsed=st.integers(0, 100), data=st.data())
def test_a_missed_minimum_with_no_session_since_is_overdue(
    cadence: CountPerPeriod, phase_start: date, elapsed: int, data: st.DataObject
) -> None:
    today = phase_start + days(elapsed)
    phase_periods = periods(cadence, phase_start, today)
    assume(len(phase_periods) >= 2)
    missed_start, missed_end, required = phase_periods[-2]
    # Earlier periods: anything; the missed one: short of its minimum; the current one: nothing yet.
    completed: list[date] = []
    if missed_start > phase_start:
        completed += data.draw(st.lists(st.dates(phase_start, missed_start - days(1)), max_size=10))
    completed += data.draw(st.lists(st.dates(missed_start, missed_end), unique=True, max_size=required - 1))

    state = next_due(cadence, phase_start=phase_start, completed=completed, booked=[], today=today)
    assert state.status is OVERDUE
    assert (state.window.earliest, state.window.latest) == (missed_start, missed_end)


@PROPERTY
@given(scenario=scenarios())
def test_windows_never_run_backwards_as_today_advances(scenario: Scenario) -> None:
    previous: DueWindow | None = None
    for offset in range(-5, 100):
        window = scenario.state(today=scenario.phase_start + days(offset)).window
        if previous is not None:
            assert window.earliest >= previous.earliest
            assert window.latest >= previous.latest
        previous = window


@PROPERTY
@given(scenario=scenarios())
def test_every_state_is_well_formed_and_its_status_follows_the_four_definitions(scenario: Scenario) -> None:
    state, today = scenario.state(), scenario.today
    window = state.window
    assert window.earliest <= window.ideal <= window.latest
    assert (state.status is ON_TRACK) == (state.covered_by is not None)
    if state.covered_by is not None:
        assert window.earliest <= state.covered_by <= window.latest
        assert state.covered_by >= max(today, scenario.phase_start)
        assert state.covered_by in scenario.booked or state.covered_by in scenario.completed
    elif today < window.earliest:
        assert state.status is UNSCHEDULED
    elif today <= window.latest:
        assert state.status is DUE
    else:
        assert state.status is OVERDUE
    if window.earliest <= today <= window.latest:
        assert window.ideal >= today


@PROPERTY
@given(
    scenario=scenarios(st.one_of(intervals(), count_cadences().filter(lambda c: c.min_sessions == 1))),
    data=st.data(),
)
def test_booking_a_date_inside_an_open_or_upcoming_window_puts_the_patient_on_track(
    scenario: Scenario, data: st.DataObject
) -> None:
    # One session still needed (any interval, or a count rule with a minimum of 1): one booking is enough.
    before = scenario.state()
    assume(before.status in (DUE, UNSCHEDULED))
    day = data.draw(st.dates(max(before.window.earliest, scenario.today), before.window.latest))

    after = scenario.state(booked=[*scenario.booked, day])
    assert after == CadenceState(before.window, ON_TRACK, day)


@PROPERTY
@given(cadence=count_cadences(), phase_start=phase_starts, elapsed=st.integers(0, 100), data=st.data())
def test_meeting_this_periods_minimum_moves_the_window_on_and_booking_it_puts_the_patient_on_track(
    cadence: CountPerPeriod, phase_start: date, elapsed: int, data: st.DataObject
) -> None:
    today = phase_start + days(elapsed)
    start, end, required = periods(cadence, phase_start, today)[-1]
    assume((today - start).days + 1 >= required)
    completed = data.draw(st.lists(st.dates(start, today), unique=True, min_size=required, max_size=required))

    before = next_due(cadence, phase_start=phase_start, completed=completed, booked=[], today=today)
    assert before.status is UNSCHEDULED
    assert before.window.earliest == end + days(1)

    window = before.window
    every_day = [window.earliest + days(n) for n in range((window.latest - window.earliest).days + 1)]
    after = next_due(cadence, phase_start=phase_start, completed=completed, booked=every_day, today=today)
    # A full period needs min_sessions; the booking that makes up the minimum is the one that covers it.
    assert after == CadenceState(window, ON_TRACK, window.earliest + days(cadence.min_sessions - 1))


@PROPERTY
@given(scenario=scenarios(), data=st.data())
def test_the_order_and_duplicates_of_the_history_do_not_matter(
    scenario: Scenario, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(scenario.completed * 2))
    assert scenario.state(completed=shuffled, booked=scenario.booked[::-1]) == scenario.state()


@PROPERTY
@given(cadence=cadences, phase_start=phase_starts, horizon=st.integers(0, 90))
def test_sessions_on_their_ideal_dates_walk_through_due_windows_over(
    cadence: Cadence, phase_start: date, horizon: int
) -> None:
    windows = due_windows_over(cadence, phase_start=phase_start, until=phase_start + days(horizon))
    assert windows
    assert windows[0].earliest == phase_start
    assert all(w.earliest <= phase_start + days(horizon) for w in windows)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.ideal < later.ideal
        assert earlier.earliest <= later.earliest
        assert earlier.latest <= later.latest

    # Replaying those ideal dates as completed sessions, next_due names each window in turn.
    completed: list[date] = []
    for window in windows:
        today = completed[-1] if completed else phase_start
        assert (
            next_due(cadence, phase_start=phase_start, completed=completed, booked=[], today=today).window
            == window
        )
        completed.append(window.ideal)


@PROPERTY
@given(cadence=cadences)
def test_the_cadences_the_clinic_uses_are_valid(cadence: Cadence) -> None:
    assert validate_cadence(cadence) == []


@PROPERTY
@given(high=st.integers(1, 7), excess=st.integers(1, 5), period=st.integers(7, 60))
def test_validation_rejects_a_minimum_above_the_maximum(high: int, excess: int, period: int) -> None:
    problems = validate_cadence(CountPerPeriod(high + excess, high, period))
    assert any("minimum" in p and "maximum" in p for p in problems), problems


@PROPERTY
@given(period=st.integers(-30, 0))
def test_validation_rejects_a_zero_or_negative_period(period: int) -> None:
    assert any("period" in p for p in validate_cadence(CountPerPeriod(1, 1, period)))


@PROPERTY
@given(high=st.integers(1, 60), shortfall=st.integers(1, 30))
def test_validation_rejects_a_longest_interval_below_the_shortest(high: int, shortfall: int) -> None:
    problems = validate_cadence(Interval(high + shortfall, high))
    assert any("longest" in p and "shortest" in p for p in problems), problems
