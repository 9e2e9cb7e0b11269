"""Cadence: a care-plan item's rule plus a patient's visit history -> the next due window.

Pure: no Django, no clock. "Today" is a parameter and every date is the patient's local calendar date (the
caller converts from UTC). Immutable values in, immutable values out. The planner asks for every window it
walks, and this module is compiled with it (``clinic/native.py``): that is why its results are ``Value``
classes rather than frozen dataclasses, and why the rules are worked out on day numbers (``next_due_days``),
which ``next_due`` converts to and from dates.

Two shapes of rule cover the clinic's modalities:

* ``CountPerPeriod(min, max, period_days)``: "1-2 per week" is ``CountPerPeriod(1, 2, 7)``.
* ``Interval(min_days, max_days)`` between consecutive sessions: "every 2-4 weeks" is ``Interval(14, 28)``.

History
    * Only dates on or after ``phase_start`` count: a phase change restarts the cadence.
    * ``completed`` dates after ``today`` are treated as booked; ``booked`` dates before ``today`` are
      ignored (a past booking that was not recorded as completed did not happen). A booking for today counts
      as booked.
    * Sessions are counted once per calendar date: within one cadence item one session a day is the norm, so
      a second entry on the same date is a duplicate record, not a second session (pacing argues against it
      too).

The window
    ``next_due`` returns the window for the *next requirement that completed history has not yet met*. Its
    dates depend only on completed history, so for a fixed history the window never moves backwards as today
    advances.

Status (the same four definitions for both shapes, checked in this order)
    * ON_TRACK: bookings inside the window meet the requirement; ``covered_by`` is the booking that does so.
    * UNSCHEDULED: today is before ``window.earliest`` and nothing booked covers it (the desk should book).
    * DUE: ``earliest <= today <= latest`` and not covered.
    * OVERDUE: today is after ``window.latest`` (a past window can never be covered by a booking).
    While a window is open (``earliest <= today <= latest``) its ``ideal`` is never before today.

CountPerPeriod
    * Periods: for ``period_days == 7`` calendar weeks, Monday first; otherwise consecutive runs of
      ``period_days`` starting at ``phase_start``. A week already under way when the phase starts (phase
      starts Thursday) is a short first period [phase_start, Sunday] whose minimum is pro-rated:
      ceil(min * days_in_it / 7). That is never 0, so a phase starting on a Sunday asks for a session that
      Sunday.
    * The current period is the one containing today (the first period while today is before the phase).
    * OVERDUE: the period just before the current one missed its minimum and no session has been completed
      since it ended. The window is that missed period, whole.
    * Otherwise, if the current period's minimum is not yet met, the window is the current period, whole; if
      it is met, the window is the next period (UNSCHEDULED until enough is booked in it).
    * Covered when the window's bookings make up what is still missing; ``covered_by`` is the booking that
      completes the minimum (the 2nd booking when 2 sessions are still needed).
    * ``ideal`` spreads the period's required sessions evenly: the k-th session (from 0) aims at the middle of
      the k-th of ``required`` equal slots of the period.
    * ``max_sessions`` is a ceiling for the planner; it never changes the status.

Interval
    * ``last`` = the latest completed session in the phase (on or before today). Window =
      [last + min_days, last + max_days], ideal = last + (min_days + max_days) // 2.
    * The first session of a phase is due from ``phase_start`` to ``phase_start + max_days``, ideally at once
      (ideal = phase_start): a new plan or phase should start promptly, and no gap rule applies yet.
    * Covered by the first booking inside the window. A booking before the window opens is too soon: it does
      not cover the window (and windows are not chained from bookings; the planner should flag it instead).

Validation
    A usable cadence has 1 <= min_sessions <= max_sessions <= period_days <= 366 (counted once per day), or
    1 <= min_days <= max_days <= 366. ``next_due`` and ``due_windows_over`` raise ValueError otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar, Final, TypeAlias

MAX_PERIOD_DAYS: Final = 366


# --- day numbers --------------------------------------------------------------------------------------------
# The rules are worked out on day numbers (``date.toordinal()``: day 1 is Monday 1 January of year 1), and the
# date API below converts at its edge. The planner walks tens of thousands of windows a plan on day numbers:
# compiled, adding to or comparing an int is a machine instruction, where a date costs an object and a call.


def day_number(day: date) -> int:
    return day.toordinal()


# Dates by day number, for the few thousand days a plan's results name.
_DATES: Final[dict[int, date]] = {}


def date_of(day: int) -> date:
    found = _DATES.get(day)
    if found is None:
        if len(_DATES) >= 1 << 16:
            _DATES.clear()
        found = _DATES[day] = date.fromordinal(day)
    return found


def weekday_of(day: int) -> int:
    """0 for Monday, as ``date.weekday``: day 1 was a Monday."""
    return (day + 6) % 7


def monday_of(day: int) -> int:
    """The day number of the Monday of that day's calendar week."""
    return day - (day + 6) % 7


class CadenceStatus(StrEnum):
    ON_TRACK = "on_track"
    DUE = "due"
    OVERDUE = "overdue"
    UNSCHEDULED = "unscheduled"


@dataclass(frozen=True)
class CountPerPeriod:
    """At least ``min_sessions`` and at most ``max_sessions`` sessions in each period of ``period_days``."""

    min_sessions: int
    max_sessions: int
    period_days: int


@dataclass(frozen=True)
class Interval:
    """Between ``min_days`` and ``max_days`` days from one session to the next."""

    min_days: int
    max_days: int


Cadence: TypeAlias = CountPerPeriod | Interval


class Value:
    """An immutable value compared, hashed and shown by its fields, like a frozen dataclass.

    For the values the planner builds by the ten thousand: compiled (``clinic/native.py``), a frozen
    dataclass takes fifteen times as long to build as a class with its own ``__init__``, whose ``Final``
    attributes are read-only at run time.
    """

    FIELDS: ClassVar[tuple[str, ...]] = ()  # the attributes that make the value, in constructor order

    def values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Value)
        return self.values() == other.values()

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self.FIELDS, self.values(), strict=True))
        return f"{type(self).__name__}({shown})"


class DueWindow(Value):
    FIELDS = ("earliest", "ideal", "latest")

    def __init__(self, earliest: date, ideal: date, latest: date) -> None:
        self.earliest: Final = earliest
        self.ideal: Final = ideal
        self.latest: Final = latest


class DayWindow(Value):
    """A due window on day numbers (``day_number``), as the planner walks them."""

    FIELDS = ("earliest", "ideal", "latest")

    def __init__(self, earliest: int, ideal: int, latest: int) -> None:
        self.earliest: Final = earliest
        self.ideal: Final = ideal
        self.latest: Final = latest

    def as_dates(self) -> DueWindow:
        return DueWindow(date_of(self.earliest), date_of(self.ideal), date_of(self.latest))


class CadenceState(Value):
    FIELDS = ("window", "status", "covered_by")

    def __init__(self, window: DueWindow, status: CadenceStatus, covered_by: date | None) -> None:
        self.window: Final = window
        self.status: Final = status
        self.covered_by: Final = covered_by  # the booked date that covers the window, if any


class DayState(Value):
    """A ``CadenceState`` on day numbers."""

    FIELDS = ("window", "status", "covered_by")

    def __init__(self, window: DayWindow, status: CadenceStatus, covered_by: int | None) -> None:
        self.window: Final = window
        self.status: Final = status
        self.covered_by: Final = covered_by


def validate_cadence(cadence: Cadence) -> list[str]:
    """Plain-English problems with a cadence; an empty list when it is usable."""
    problems: list[str] = []
    if isinstance(cadence, CountPerPeriod):
        low, high, period = cadence.min_sessions, cadence.max_sessions, cadence.period_days
        if period < 1:
            problems.append(f"the period must be at least 1 day, not {period}")
        elif period > MAX_PERIOD_DAYS:
            problems.append(f"the period must be at most {MAX_PERIOD_DAYS} days, not {period}")
        if low < 1:
            # A minimum of 0 would never fall due; an optional add-on should simply have no cadence.
            problems.append(f"the minimum must be at least 1 session per period, not {low}")
        if high < low:
            problems.append(f"the minimum ({low} sessions) is more than the maximum ({high})")
        elif period >= 1 and high > period:
            problems.append(
                f"the maximum ({high} sessions) is more than the {period} days in the period; "
                "sessions are counted once per day"
            )
    else:
        low, high = cadence.min_days, cadence.max_days
        if low < 1:
            problems.append(f"the shortest interval must be at least 1 day, not {low}")
        if high < low:
            problems.append(f"the longest interval ({high} days) is shorter than the shortest ({low} days)")
        elif high > MAX_PERIOD_DAYS:
            problems.append(f"the longest interval must be at most {MAX_PERIOD_DAYS} days, not {high}")
    return problems


def next_due(
    cadence: Cadence, *, phase_start: date, completed: Iterable[date], booked: Iterable[date], today: date
) -> CadenceState:
    """The next window this item falls due in, and whether bookings cover it. See the module docstring."""
    state = next_due_days(
        cadence,
        phase_start=day_number(phase_start),
        completed=[day_number(day) for day in completed],
        booked=[day_number(day) for day in booked],
        today=day_number(today),
    )
    covered_by = date_of(state.covered_by) if state.covered_by is not None else None
    return CadenceState(state.window.as_dates(), state.status, covered_by)


def next_due_days(
    cadence: Cadence, *, phase_start: int, completed: Iterable[int], booked: Iterable[int], today: int
) -> DayState:
    """``next_due`` on day numbers (``day_number``): the rules themselves, which ``next_due`` converts to and
    from dates. The window does not depend on ``booked``; only the status and ``covered_by`` do."""
    _check(cadence)
    # The planner asks this for every window it walks, with its sessions as a set and nothing booked, so
    # that case is one pass over the sessions and builds nothing.
    distinct = completed if isinstance(completed, set) else set(completed)
    if isinstance(cadence, CountPerPeriod):
        return _next_due_count(cadence, phase_start, distinct, booked, today)
    return _next_due_interval(cadence, phase_start, distinct, booked, today)


def _ahead(
    later: list[int], booked: Iterable[int], done: set[int], phase_start: int, today: int
) -> list[int]:
    """Sessions from today on, sorted: completed dates after today (treated as booked) and bookings from today
    on, in the phase; a booking on a date already completed does not count twice."""
    first = max(phase_start, today)
    ahead = set(later)
    for day in booked:
        if day >= first and not (day <= today and day in done):
            ahead.add(day)
    return sorted(ahead)


def due_windows_over(cadence: Cadence, *, phase_start: date, until: date) -> list[DueWindow]:
    """The windows in turn if every session happened on its ideal date, from phase_start to ``until``.

    One window per session: a count rule gives each period's window once per required session, with the ideal
    moving through the period. Windows that open after ``until`` are left out.
    """
    _check(cadence)
    start, last_day = day_number(phase_start), day_number(until)
    windows: list[DayWindow] = []
    if isinstance(cadence, CountPerPeriod):
        period = _period_containing(cadence, start, start)
        while period.start <= last_day:
            windows += [
                DayWindow(period.start, _spread_ideal(period, k), period.end) for k in range(period.required)
            ]
            period = _period_containing(cadence, start, period.end + 1)
    else:
        window = _interval_window(cadence, start, last=None)
        while window.earliest <= last_day:
            windows.append(window)
            window = _interval_window(cadence, start, last=window.ideal)
    return [window.as_dates() for window in windows]


def describe(cadence: Cadence) -> str:
    """Staff-facing wording: "1–2× per week", "1× every 2 weeks", "every 7–14 days", "every 2–4 weeks"."""
    if isinstance(cadence, CountPerPeriod):
        low, high, period = cadence.min_sessions, cadence.max_sessions, cadence.period_days
        count = f"{low}×" if low == high else f"{low}–{high}×"
        if period == 1:
            return f"{count} per day"
        if period == 7:
            return f"{count} per week"
        if period % 7 == 0:
            return f"{count} every {period // 7} weeks"
        return f"{count} every {period} days"
    low, high, unit = cadence.min_days, cadence.max_days, "days"
    # Weeks only from two weeks up: "every 7–14 days" reads more plainly than "every 1–2 weeks".
    if low >= 14 and low % 7 == 0 and high % 7 == 0:
        low, high, unit = low // 7, high // 7, "weeks"
    if low == high == 1:
        return "every day"
    return f"every {low} {unit}" if low == high else f"every {low}–{high} {unit}"


# --- count per period ---------------------------------------------------------------------------------------


class _Period:
    # A plain class rather than a frozen dataclass: built several times per next_due, and a compiled frozen
    # dataclass takes fifteen times as long to build.
    __slots__ = ("end", "required", "start")

    def __init__(self, start: int, end: int, required: int) -> None:
        self.start = start
        self.end = end  # inclusive
        self.required = required  # the minimum, pro-rated when the period is cut short by the phase start


def _period_containing(cadence: CountPerPeriod, phase_start: int, day: int) -> _Period:
    length = cadence.period_days
    if length == 7:
        monday = monday_of(day)
        if phase_start <= monday:  # a whole week, the usual case: nothing to pro-rate
            return _Period(monday, monday + 6, cadence.min_sessions)
        start, end = phase_start, monday + 6
    else:
        start = phase_start + (day - phase_start) // length * length
        end = start + length - 1
    days = end - start + 1
    required = -(-cadence.min_sessions * days // length)  # ceil without floats
    return _Period(start, end, required)


def _spread_ideal(period: _Period, sessions_done: int) -> int:
    # The middle of slot k of `required` equal slots. Since required <= days in the period, the ideals of
    # consecutive sessions are at least a day apart and the last one still falls inside the period.
    days = period.end - period.start + 1
    return period.start + (2 * sessions_done + 1) * days // (2 * period.required)


def _next_due_count(
    cadence: CountPerPeriod, phase_start: int, completed: set[int], booked: Iterable[int], today: int
) -> DayState:
    current = _period_containing(cadence, phase_start, max(today, phase_start))
    # Only the current period and the one before it matter; sessions done in the current one all lie on
    # or before today, because the current period is the one holding today.
    previous = (
        _period_containing(cadence, phase_start, current.start - 1)
        if today >= phase_start and current.start > phase_start
        else None
    )
    done_now = done_before = 0
    later: list[int] = []
    for day in completed:
        if day > today:
            if day >= phase_start:
                later.append(day)
        elif day >= current.start:
            done_now += 1  # on or after the phase start too: the current period starts on or after it
        elif previous is not None and day >= previous.start:
            done_before += 1
    if previous is not None and done_before < previous.required and done_now == 0:
        # The last period missed its minimum and nothing has been done since it ended.
        ideal = _spread_ideal(previous, done_before)
        return _state(DayWindow(previous.start, ideal, previous.end), covered_by=None, today=today)

    if done_now >= current.required:
        target, done_in_target = _period_containing(cadence, phase_start, current.end + 1), 0
    else:
        target, done_in_target = current, done_now
    still_needed = target.required - done_in_target
    covered_by = None
    if later or booked:
        ahead = _ahead(later, booked, completed, phase_start, today)
        bookings = [day for day in ahead if target.start <= day <= target.end]
        if len(bookings) >= still_needed:
            covered_by = bookings[still_needed - 1]
    window = DayWindow(target.start, _spread_ideal(target, done_in_target), target.end)
    return _state(window, covered_by=covered_by, today=today)


# --- interval -----------------------------------------------------------------------------------------------


def _interval_window(cadence: Interval, phase_start: int, last: int | None) -> DayWindow:
    if last is None:
        return DayWindow(phase_start, phase_start, phase_start + cadence.max_days)
    return DayWindow(
        last + cadence.min_days,
        last + (cadence.min_days + cadence.max_days) // 2,
        last + cadence.max_days,
    )


def _next_due_interval(
    cadence: Interval, phase_start: int, completed: set[int], booked: Iterable[int], today: int
) -> DayState:
    last: int | None = None  # the latest session done in the phase
    later: list[int] = []
    for day in completed:
        if day > today:
            if day >= phase_start:
                later.append(day)
        elif day >= phase_start and (last is None or day > last):
            last = day
    window = _interval_window(cadence, phase_start, last=last)
    covered_by = None
    if later or booked:
        ahead = _ahead(later, booked, completed, phase_start, today)
        covered_by = next((day for day in ahead if window.earliest <= day <= window.latest), None)
    return _state(window, covered_by=covered_by, today=today)


# --- shared -------------------------------------------------------------------------------------------------


def _state(window: DayWindow, *, covered_by: int | None, today: int) -> DayState:
    if window.earliest <= today <= window.latest:
        # An ideal date already behind us is no use to the planner: aim for the first date still open.
        window = DayWindow(window.earliest, max(window.ideal, today), window.latest)
    if covered_by is not None:
        return DayState(window, CadenceStatus.ON_TRACK, covered_by)
    if today < window.earliest:
        return DayState(window, CadenceStatus.UNSCHEDULED, None)
    if today <= window.latest:
        return DayState(window, CadenceStatus.DUE, None)
    return DayState(window, CadenceStatus.OVERDUE, None)


def _check(cadence: Cadence) -> None:
    problems = validate_cadence(cadence)
    if problems:
        raise ValueError(f"invalid cadence {cadence!r}: " + "; ".join(problems))
