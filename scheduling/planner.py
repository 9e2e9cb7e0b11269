"""Planner: cadence windows + therapists' hours + patients' pacing -> proposed appointments.

Pure: no Django, no ORM, no clock (``PlanningInput.now`` is the clock). Frozen dataclasses in, immutable
values out, and the same input always gives the same output, whatever the order of its tuples.

Compiled
    ``make`` compiles this module and ``careplans.cadence`` with mypyc (``clinic/native.py``); the source is
    the same either way and the tests run on both. Written for the compiled form, where an int, a bool or a
    fixed-length tuple of ints in a local or an attribute is a machine value, but every object built or
    looked up by key costs calls and memory:
    * dates are small day numbers counted from a Sunday shortly before now (``_Clock``), so a date is an
      int, and as a key one of the ints CPython has ready made;
    * what is built by the ten thousand (windows, slots, proposals) is a plain class, not a dataclass
      (fifteen times as quick to build); a slot's score is ten unboxed ints compared in place (``_below``);
    * a therapist's date is one object (``_WorkDay``) that the search holds instead of looking it up,
      pacing counts are lists indexed by day, the queue holds one int per window, and free starts are
      bisected by a compiled loop;
    * hot loops are plain loops rather than generators, constants are ``Final``, and the cyclic collector
      is paused while a plan runs.
    Each of these measured as fewer instructions (callgrind) with the same plan.

What it does
    For every care-plan item it walks the item's cadence windows (``careplans.cadence.next_due``) from today
    to the horizon and proposes one appointment per window that is not already met by a booking, inside the
    window, in a qualified therapist's free hours, without breaking the patient's pacing limits. A window
    that cannot be met, even after shifting another patient's proposal along its therapist's free time,
    becomes a ``Miss`` with its reasons in plain words and up to three later alternatives.

Hard constraints (never broken by a proposal)
    * The appointment lies inside one ``WeeklyHours`` row of the therapist on that location-local date (its
      effective dates respected) and starts on the row's ``step_minutes`` grid, counted from the row's start.
    * It does not touch a ``Blocked`` range that applies: ``therapist_id`` set -> that therapist's time off
      (only at ``location_id`` when both are set); only ``location_id`` set -> the location is closed; neither
      set -> the whole clinic is closed.
    * It overlaps no booking or other proposal of the same therapist or of the same patient. Back-to-back
      is fine.
    * Pacing, on patient-local dates, counting bookings, earlier proposals and held sessions (a held date is
      not counted twice when a booking of the same item exists on that date): at most ``max_per_day``
      sessions a day; at most ``max_per_week`` in a calendar week, Monday first; between two demanding
      sessions at least ``min_rest_days_between_demanding`` full days, so 1 means never on consecutive days
      (and 0 means no rest rule).
    * One session of an item per patient-local date: the cadence counts sessions once per date.
    * It never starts before ``now``.

Time
    All arithmetic is in whole UTC minutes. Slots are built in the location's zone from wall-clock times
    and converted with ``zoneinfo`` date by date, so a 10:00 slot stays at 10:00 local across a DST change.
    A nonexistent local time (spring forward: 02:30 on 2026-03-08 in America/New_York) gets no slot. An
    ambiguous one (fall back) means its first occurrence, fold=0: 01:30 on 2026-11-01 in New York is
    05:30 UTC (UTC-4), and the repeated hour adds no starts of its own (the grid is a grid of wall-clock
    times, each converted once). Windows, pacing, preferred weekdays and earliest/latest times use the patient's
    zone, which may differ from the location's; the usual start time is read in the location's zone.
    Bookings and blocked ranges are widened to whole minutes; ``now`` is rounded up.

The cadence chain of an item
    * Sessions so far: held dates, then every booking, proposal or assumed session the chain uses. Each
      window comes from ``next_due`` with ``today`` = the later of the real today and the last session, so
      that every session so far counts as completed.
    * A window that opened before today starts today. An OVERDUE window (latest before today) is due from
      today: it becomes [today, today + its old length], ideally today.
    * An existing booking of the item inside the window meets it (one booking per window, so a window that
      needs two sessions a week is met by two bookings, one step at a time). Bookings before today are
      ignored, as cadence ignores them.
    * A missed window: the chain goes on as if the session happened on the window's last date (for a count
      rule, the last date of the window without a session of this item, so every step adds a new date and
      the chain always moves on). Never on an alternative's date: alternatives are suggestions, not reserved
      and not counted for pacing, and assuming one would let an unbooked session fill the next period.
    * The chain stops at the first window that opens on or after the horizon (the patient-local date of
      ``now + horizon_days``). A window that opens before it is searched over all of its dates, even those
      past the horizon, so the caller should supply hours, bookings and blocked time beyond the horizon by
      the longest window plus two weeks for alternatives.
    * ``windows_total`` counts every window the chain reaches; ``windows_met`` those met by a booking or a
      proposal, so ``windows_total == windows_met + len(misses)``.

Score (lexicographic, smaller is better; a slot outside the window is never proposed, only offered as an
alternative)
    0. room for the rest of the period: when the window is one of several sessions a count rule's period
       still needs, a date after which the others can no longer all fit is only used when no date of the
       window leaves room (then the usual order below decides among the dates nearest the ideal). The
       others fit when, with this date taken, enough other dates of the window are free of this item's
       sessions, allowed by pacing (per day, per week and rest days, counting this date and each other
       one picked, earliest first) and have a free start of the right length for a qualified therapist;
    1. days from the window's ideal date;
    2. continuity: the usual therapist first, then the distance in minutes from the usual start time;
    3. the patient's preferences: a preferred weekday (any day when none are given), then minutes outside
       [earliest, latest] (the session should start at or after ``earliest`` and end by ``latest``);
    4. spreading load: fewer minutes already booked for the therapist that local day;
    5. the earliest start;
    6. the therapist's place in ``therapist_ids`` (preferred first), then the lowest therapist and location
       ids.
    A window met by the repair pass (step 9) takes the first slot that pass makes room for instead.

The algorithm
    1. Check the input and convert every time to UTC minutes.
    2. Index what is fixed: per therapist the hours rows by (zone, weekday), busy intervals (bookings) in
       day buckets, booked minutes per local date; blocked ranges by therapist, location and clinic; per
       patient busy intervals and session counts per date, per week and for demanding sessions.
    3. Start each item's chain (see above) and push its first open window into a priority queue ordered by
       window.latest, then by how few dates of the window are open to it when pushed (no session of the
       item there and pacing allows it), then by how few qualified therapists work in the window, then by
       item id: when capacity is short, the window closest to its edge goes first, and of the windows that
       close together the one with the fewest choices goes before the others take its dates.
    4. Pop the first window. Count how many more sessions its period needs after this one (count rules
       only: the chain is walked on with assumed sessions while it stays in the same period). Visit its
       dates from the ideal outwards (ideal, ideal-1, ideal+1, ...). Skip a date the item already has a
       session on or that pacing forbids.
    5. For a date, skip at once a (qualified therapists, zone, date, duration) already found to have no free
       start at all; the qualified therapists count as a set here, so patients who rank the same therapists
       differently share what is known. Otherwise take each qualified therapist, the usual one first, and
       stop after it when it has a slot (nobody else can beat it on continuity). For each therapist and
       local date, take the sorted free starts for this duration (cached per therapist, date and duration;
       built from the hours grid minus blocked and busy time, and trimmed when a proposal lands on that
       therapist-day). Once a slot at the target time and inside the patient's hours is found, a therapist
       with more booked minutes that day cannot win and is skipped. Bisect around the target time (the
       usual start time, or the patient's earliest-latest range) for the best start that does not clash
       with the patient's other sessions, and score it.
    6. Stop at the first distance from the ideal that has a feasible slot leaving room for the period's
       other sessions (score term 0); the best score there wins. When no date leaves room, the best slot at
       the first distance with any feasible slot wins.
    7. Found: record the proposal, mark the therapist and the patient busy, update pacing counts and
       therapist load, and add its date to the chain. Not found: record a Miss with the reasons seen while
       searching, and continue the chain as described above.
    8. Advance the chain to its next window that still needs a session (bookings may meet some on the way)
       and push it while it opens before the horizon. Repeat from 4 until the queue is empty.
    9. Repair, for each Miss in the order they were recorded (skipping one whose chain stopped). Dates: any
       date of the window for a count rule whose window is not overdue (the period's count is all its chain
       depends on), else only the date the chain assumed; nearest the ideal first. On each date, first
       look for a proposal of another patient that is the only thing in the way of a slot for the missed
       session, and shift it along its therapist's run of free time (same therapist, same patient-local
       date, grid, closures, its patient's other sessions and ``now`` respected; the nearest start to its
       old one) so that both fit: therapists usual-then-preferred, then rooms by the distance from the
       usual start time, minutes outside the patient's preferred times and the earliest start. Failing
       that, pack: in a run of free time between what cannot move (bookings, closures) whose gaps add up
       to the session, slide its proposals to the run's start in order (same rules as a shift), put the
       missed session in the time left after them (the same room order), then slide each proposal back
       towards its old start as far as the others allow. Failing that, move one proposal of another
       patient whose window is a count rule's period (not overdue) to another date of that window, where
       it takes the best slot the search (4-6, without the room rule) finds with its own session taken out
       of its patient's pacing, and put the missed session in the run of free time it leaves. Staying
       inside a window comes before the date and time of day of other proposals, so moving them is worth
       a met window. The first that works is proposed and the Miss is dropped. A shift or a packing never
       changes a date, and a move stays inside its period, so no chain moves.
    10. A repair frees time, so every remaining Miss is searched again as in 4-6 (without the room rule)
       with the date its chain assumed released; one that now has a slot is proposed there. Proposals only
       take time, so what is still missed after this has no feasible slot in its window.
    11. For each Miss still left, up to three alternatives: the best slot on each of the first three dates,
       within two weeks after the window, that has one, searched in the finished plan, so that none of them
       is taken by a proposal or breaks pacing with one.
    12. Return proposals ordered by start, therapist and item, misses by window end and item.
"""

from __future__ import annotations

import gc
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careplans.cadence import (
    MAX_PERIOD_DAYS,
    Cadence,
    CountPerPeriod,
    DayWindow,
    DueWindow,
    Value,
    date_of,
    day_number,
    monday_of,
    next_due_days,
    weekday_of,
)

DAY_MINUTES: Final = 24 * 60
MAX_ALTERNATIVES: Final = 3
ALTERNATIVE_SEARCH_DAYS: Final = 14
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Beyond any minute the planner meets; stands in for an open end of a preferred time range.
_FAR: Final = 10**12


# --- input --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyHours:
    """A therapist's recurring hours at a location, in the location's local wall-clock time."""

    therapist_id: int
    location_id: int
    zone: str  # IANA zone of the location
    weekday: int  # 0 = Monday
    starts: time
    ends: time
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class Blocked:
    """Time off (therapist) or a closure (location; whole local days given as a UTC range). Aware UTC."""

    therapist_id: int | None
    location_id: int | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Booking:
    """An existing active appointment, aware UTC."""

    patient_id: int
    therapist_id: int
    start: datetime
    end: datetime
    demanding: bool
    item_id: int | None


@dataclass(frozen=True)
class Pacing:
    max_per_day: int
    min_rest_days_between_demanding: int
    max_per_week: int


@dataclass(frozen=True)
class PatientInfo:
    patient_id: int
    zone: str
    pacing: Pacing
    preferred_weekdays: frozenset[int]  # empty: no preference
    earliest: time | None
    latest: time | None


@dataclass(frozen=True)
class ItemRequest:
    """One care-plan item to keep on cadence."""

    item_id: int
    patient_id: int
    rule: Cadence
    phase_start: date
    held: tuple[date, ...]  # completed sessions, patient-local dates
    minutes: int
    demanding: bool
    therapist_ids: tuple[int, ...]  # qualified therapists, preferred first
    usual_therapist_id: int | None = None
    usual_local_time: time | None = None


@dataclass(frozen=True, kw_only=True)
class PlanningInput:
    now: datetime  # aware
    horizon_days: int = 84
    hours: tuple[WeeklyHours, ...]
    blocked: tuple[Blocked, ...]
    bookings: tuple[Booking, ...]
    patients: tuple[PatientInfo, ...]
    requests: tuple[ItemRequest, ...]
    step_minutes: int = 15


# --- output -------------------------------------------------------------------------------------------------


class Proposal(Value):
    FIELDS = ("item_id", "patient_id", "therapist_id", "location_id", "start", "end", "window")

    def __init__(
        self,
        item_id: int,
        patient_id: int,
        therapist_id: int,
        location_id: int,
        start: datetime,
        end: datetime,
        window: DueWindow,
    ) -> None:
        self.item_id: Final = item_id
        self.patient_id: Final = patient_id
        self.therapist_id: Final = therapist_id
        self.location_id: Final = location_id
        self.start: Final = start  # aware UTC
        self.end: Final = end  # aware UTC
        self.window: Final = window  # the window as planned (see "The cadence chain" above)

    def moved(self, therapist_id: int, location_id: int, start: datetime, end: datetime) -> Proposal:
        return Proposal(self.item_id, self.patient_id, therapist_id, location_id, start, end, self.window)


@dataclass(frozen=True)
class Miss:
    item_id: int
    patient_id: int
    window: DueWindow
    reason: str
    alternatives: tuple[Proposal, ...]  # up to 3 feasible slots after the window, soonest first


@dataclass(frozen=True)
class PlanResult:
    proposals: tuple[Proposal, ...]
    misses: tuple[Miss, ...]
    windows_total: int
    windows_met: int


def plan(inp: PlanningInput) -> PlanResult:
    """Propose appointments that keep every request on cadence. See the module docstring."""
    _check(inp)
    # A plan allocates hundreds of thousands of small tuples and rows, all reachable until it returns, so
    # the cyclic collector's passes over them free nothing: a tenth of the run, measured. Paused, not off.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Planner(inp).run()
    finally:
        if collecting:
            gc.enable()


# --- time ---------------------------------------------------------------------------------------------------


# Zones and UTC datetimes are remembered across plans in plain dicts, emptied when they grow past a limit:
# compiled, a dict look-up costs a fraction of both the conversion and of an lru_cache call. What depends on
# a plan's day numbers is remembered by its _Clock.
_CACHE_LIMIT: Final = 1 << 16
_ZONES: Final[dict[str, ZoneInfo]] = {}
_UTC_TIMES: Final[dict[int, datetime]] = {}

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def _remember(cache: dict[_Key, _Value], key: _Key, value: _Value) -> _Value:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _zone(name: str) -> ZoneInfo:
    found = _ZONES.get(name)
    return found if found is not None else _remember(_ZONES, name, ZoneInfo(name))


def _floor_minutes(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY_MINUTES + delta.seconds // 60


def _ceil_minutes(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY_MINUTES - (-(delta.seconds * 1_000_000 + delta.microseconds) // 60_000_000)


def _utc(minutes: int) -> datetime:
    found = _UTC_TIMES.get(minutes)
    if found is None:
        found = _remember(_UTC_TIMES, minutes, datetime.fromtimestamp(minutes * 60, UTC))
    return found


class _Clock:
    """The dates of one plan as small day numbers, and their conversions to and from UTC minutes.

    Day 0 is the Sunday four or five weeks before ``now``, so the dates a plan works on are numbers from 0
    to a few hundred: compiled code keeps an int unboxed, but as a dict key or set member it becomes an
    object, and CPython has the ints up to 256 ready made, where a bigger one is a new object each time.
    Because day 0 is a Sunday, ``careplans.cadence`` works on these numbers as they are (weeks, Mondays).
    Conversions are remembered for the plan.
    """

    def __init__(self, now: int) -> None:
        today = _EPOCH_DAY + now // DAY_MINUTES
        self.base = (today - 28) // 7 * 7  # an ordinal divisible by 7 is a Sunday
        self.first_utc_day = self.base - _EPOCH_DAY  # day 0 in UTC days since 1970
        self._first_hour = self.first_utc_day * 24
        # zone -> UTC offset in seconds by UTC hour from day 0's UTC midnight (_UNKNOWN until asked)
        self._offsets: dict[str, list[int]] = {}
        self._wall: dict[str, dict[time, dict[int, int]]] = {}  # zone -> clock time -> day -> minute
        self._dates: dict[int, date] = {}
        self._bounds: dict[str, dict[int, tuple[int, int]]] = {}  # zone -> day -> bounds

    def day(self, value: date) -> int:
        return day_number(value) - self.base

    def date(self, day: int) -> date:
        found = self._dates.get(day)
        if found is None:
            found = self._dates[day] = date_of(day + self.base)
        return found

    def window_dates(self, window: DayWindow) -> DueWindow:
        return DueWindow(self.date(window.earliest), self.date(window.ideal), self.date(window.latest))

    def wall_minutes(self, zone: str, day: int, clock: time) -> int:
        """The UTC minute of a local wall-clock time; fold=0, so an ambiguous time is its first occurrence."""
        # Nested dicts rather than one keyed by (zone, day, clock): a look-up then builds no tuple.
        in_zone = self._wall.get(zone)
        if in_zone is None:
            in_zone = self._wall[zone] = {}
        by_day = in_zone.get(clock)
        if by_day is None:
            by_day = in_zone[clock] = {}
        found = by_day.get(day)
        if found is None:
            moment = datetime.combine(self.date(day), clock, tzinfo=_zone(zone))
            found = by_day[day] = _floor_minutes(moment)
        return found

    def local_day(self, zone: str, minutes: int) -> int:
        """The local date of a UTC minute. Worked out from the zone's offset over that UTC hour, or, in an
        hour with a clock change, by zoneinfo itself."""
        by_hour = self._offsets.get(zone)
        if by_hour is None:
            by_hour = self._offsets[zone] = []
        hour = minutes // 60 - self._first_hour
        offset = by_hour[hour] if 0 <= hour < len(by_hour) else _UNKNOWN
        if offset == _UNKNOWN:
            offset = _offset_over(zone, hour + self._first_hour)
            if hour >= 0:
                if hour >= len(by_hour):  # grown by weeks at a time
                    by_hour.extend([_UNKNOWN] * (hour + 1 - len(by_hour) + 7 * 24))
                by_hour[hour] = offset
        if offset == _CHANGING:
            return self.day(datetime.fromtimestamp(minutes * 60, _zone(zone)).date())
        return (minutes * 60 + offset) // 86_400 + _EPOCH_DAY - self.base

    def day_bounds(self, zone: str, day: int) -> tuple[int, int]:
        """[start, end) of a local date in UTC minutes."""
        by_day = self._bounds.get(zone)
        if by_day is None:
            by_day = self._bounds[zone] = {}
        found = by_day.get(day)
        if found is None:
            midnight = time()
            found = by_day[day] = (
                self.wall_minutes(zone, day, midnight),
                self.wall_minutes(zone, day + 1, midnight),
            )
        return found

    def local_days_over(self, zone: str, start: int, end: int) -> tuple[int, ...]:
        """The local dates in ``zone`` that the UTC range [start, end) touches."""
        first, last = self.local_day(zone, start), self.local_day(zone, end - 1)
        return (first,) if first == last else tuple(range(first, last + 1))


_EPOCH_DAY: Final = day_number(date(1970, 1, 1))
_CHANGING: Final = 1 << 40  # stands for the offset of an hour with a clock change in it
_UNKNOWN: Final = 1 << 41  # an hour whose offset is not worked out yet


def _offset_over(zone: str, hour: int) -> int:
    """The zone's UTC offset in seconds throughout a UTC hour, or _CHANGING when it changes inside it."""
    first = datetime.fromtimestamp(hour * 3600, _zone(zone)).utcoffset()
    last = datetime.fromtimestamp(hour * 3600 + 3599, _zone(zone)).utcoffset()  # zoneinfo changes on a second
    if first is None or first != last:
        return _CHANGING
    return int(first.total_seconds())


# --- indexes ------------------------------------------------------------------------------------------------


class _Intervals:
    """Intervals [start, end) in UTC minutes, bucketed by UTC day for quick overlap queries.

    The buckets are counted from the plan's day 0 (``origin``, in UTC days since 1970), so their numbers
    are small ints, which CPython has ready made (see _Clock)."""

    __slots__ = ("_by_day", "_origin")

    def __init__(self, origin: int) -> None:
        self._origin = origin
        self._by_day: dict[int, list[tuple[int, int]]] = {}

    def add(self, start: int, end: int) -> None:
        origin = self._origin
        interval = (start, end)
        for bucket in range(start // DAY_MINUTES - origin, (end - 1) // DAY_MINUTES - origin + 1):
            found = self._by_day.get(bucket)
            if found is None:  # not setdefault(bucket, []), which builds a list every time
                self._by_day[bucket] = [interval]
            else:
                found.append(interval)

    def remove(self, start: int, end: int) -> None:
        origin = self._origin
        for bucket in range(start // DAY_MINUTES - origin, (end - 1) // DAY_MINUTES - origin + 1):
            self._by_day[bucket].remove((start, end))

    def overlapping(self, start: int, end: int) -> list[tuple[int, int]]:
        origin = self._origin
        return [
            (low, high)
            for bucket in range(start // DAY_MINUTES - origin, (end - 1) // DAY_MINUTES - origin + 1)
            for low, high in self._by_day.get(bucket, ())
            if low < end and high > start
        ]

    def clashes(self, start: int, end: int) -> bool:
        origin = self._origin
        for bucket in range(start // DAY_MINUTES - origin, (end - 1) // DAY_MINUTES - origin + 1):
            for low, high in self._by_day.get(bucket, ()):
                if low < end and high > start:
                    return True
        return False


class _Closures:
    """Blocked ranges, found by the therapist and location a slot would use."""

    def __init__(self, blocked: tuple[Blocked, ...], origin: int) -> None:
        self._therapist: dict[int, _Intervals] = {}
        self._therapist_at: dict[tuple[int, int], _Intervals] = {}
        self._location: dict[int, _Intervals] = {}
        self._clinic = _Intervals(origin)
        for block in blocked:
            start, end = _floor_minutes(block.start), _ceil_minutes(block.end)
            if end <= start:
                continue
            if block.therapist_id is not None and block.location_id is not None:
                target = self._therapist_at.setdefault(
                    (block.therapist_id, block.location_id), _Intervals(origin)
                )
            elif block.therapist_id is not None:
                target = self._therapist.setdefault(block.therapist_id, _Intervals(origin))
            elif block.location_id is not None:
                target = self._location.setdefault(block.location_id, _Intervals(origin))
            else:
                target = self._clinic
            target.add(start, end)

    def overlapping(self, therapist_id: int, location_id: int, start: int, end: int) -> list[tuple[int, int]]:
        found = self._clinic.overlapping(start, end)
        for index in (
            self._therapist.get(therapist_id),
            self._therapist_at.get((therapist_id, location_id)),
            self._location.get(location_id),
        ):
            if index is not None:
                found += index.overlapping(start, end)
        return found


class _Segment:
    """One hours row of one therapist on one local date: its UTC bounds and its grid of possible starts,
    and what the repair pass found in it (see _Planner._obstacles), kept with it: as a dictionary key, a
    segment would be hashed, grid and all, on every look-up."""

    __slots__ = ("end", "grid", "location_id", "obstacles", "start")

    def __init__(self, location_id: int, start: int, end: int, grid: tuple[int, ...]) -> None:
        self.location_id = location_id
        self.start = start
        self.end = end
        self.grid = grid
        # (therapist version, obstacles, rooms), or None before the repair pass looks
        self.obstacles: tuple[int, list[tuple[int, int, int]], tuple[int, int, int]] | None = None


def _segment(hours: WeeklyHours, local: date, step: int) -> _Segment:
    zone = _zone(hours.zone)
    start = datetime.combine(local, hours.starts, tzinfo=zone)
    end = datetime.combine(local, hours.ends, tzinfo=zone)
    first, last = _floor_minutes(start), _floor_minutes(end)
    wall_minutes = hours.ends.hour * 60 + hours.ends.minute - hours.starts.hour * 60 - hours.starts.minute
    steps = range(0, wall_minutes, step)
    if start.utcoffset() == end.utcoffset():  # no clock change inside the row: the grid is uniform
        return _Segment(hours.location_id, first, last, tuple(range(first, first + wall_minutes, step)))
    grid = []
    for k in steps:  # a clock change today: convert each wall-clock time, skipping ones that do not exist
        wall = datetime.combine(local, hours.starts) + timedelta(minutes=k)
        aware = wall.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            grid.append(_floor_minutes(aware))
    return _Segment(hours.location_id, first, last, tuple(grid))


class _WorkDay:
    """One local date of a therapist in one zone: minutes booked, hours segments (None until worked out) and
    free starts by session length. Found once per date and held by the pool views, so the search reads a
    therapist's load without a look-up."""

    __slots__ = ("booked", "free", "segments")

    def __init__(self) -> None:
        self.booked = 0
        self.segments: tuple[_Segment, ...] | None = None
        # session length -> (sorted free starts, their lowest location ids), trimmed in place as time is booked
        self.free: dict[int, tuple[list[int], list[int]]] = {}


@dataclass
class _Therapist:
    therapist_id: int
    _clock: _Clock
    hours: dict[tuple[str, int], list[WeeklyHours]]  # (zone, weekday) -> rows
    busy: _Intervals
    zones: tuple[str, ...] = ()  # the zones of the therapist's locations, sorted
    # zone -> local day number -> its work day; nested, so a look-up builds no tuple
    days: dict[str, dict[int, _WorkDay]] = field(default_factory=dict)
    version: int = 0  # counts changes to the busy time, so what is derived from it can be cached

    def day(self, zone: str, day: int) -> _WorkDay:
        in_zone = self.days.get(zone)
        if in_zone is None:
            in_zone = self.days[zone] = {}
        found = in_zone.get(day)
        if found is None:
            found = in_zone[day] = _WorkDay()
        return found

    def known_day(self, zone: str, day: int) -> _WorkDay | None:
        """The work day if anything has been worked out or booked on it."""
        in_zone = self.days.get(zone)
        return in_zone.get(day) if in_zone is not None else None

    def book(self, start: int, end: int) -> None:
        self.busy.add(start, end)
        self.version += 1
        for zone in self.zones:
            first, last = self._clock.local_day(zone, start), self._clock.local_day(zone, end - 1)
            workday = self.day(zone, first)
            workday.booked += end - start
            # A start in a day's list ends that day, so only the days the booking touches can lose starts.
            for day in range(first, last + 1):
                found = workday if day == first else self.known_day(zone, day)
                if found is None:
                    continue
                for minutes, (starts, locations) in found.free.items():
                    low, high = _after(starts, start - minutes), _first_at(starts, end, 0, len(starts))
                    if low < high:
                        del starts[low:high], locations[low:high]

    def unbook(self, start: int, end: int) -> None:
        """Free [start, end) again; the caller rebuilds the free starts of the days it touches."""
        self.busy.remove(start, end)
        self.version += 1
        for zone in self.zones:
            self.day(zone, self._clock.local_day(zone, start)).booked -= end - start


class _DayCounts:
    """Session counts by day number (see _Clock) in a list, read in place, where a dict look-up hashes and
    compares: pacing is checked for every date the planner tries. Counts before day 0 are dropped, which
    changes no answer: the planner never asks about a date before today, four weeks after day 0, nor about
    the week of day 0."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: list[int] = []

    def get(self, day: int) -> int:
        counts = self._counts
        return counts[day] if 0 <= day < len(counts) else 0

    def add(self, day: int, count: int) -> None:
        if day < 0:
            return
        counts = self._counts
        if day >= len(counts):  # grown by weeks at a time: sessions come mostly in date order
            counts.extend([0] * (day + 1 - len(counts) + 28))
        counts[day] = counts[day] + count


@dataclass
class _Patient:
    info: PatientInfo
    busy: _Intervals
    # By patient-local day number.
    per_day: _DayCounts = field(default_factory=_DayCounts)
    per_week: _DayCounts = field(default_factory=_DayCounts)  # by the day number of the Monday
    # Demanding sessions within the rest days of each date (the date itself included): a demanding session
    # may go on a date only when this is 0. Kept as sessions are added, so the check is one look-up.
    near_demanding: _DayCounts = field(default_factory=_DayCounts)

    def add_session(self, day: int, demanding: bool, count: int = 1) -> None:
        self.per_day.add(day, count)
        self.per_week.add(monday_of(day), count)
        rest = self.info.pacing.min_rest_days_between_demanding
        if demanding and rest > 0:
            for k in range(-rest, rest + 1):
                self.near_demanding.add(day + k, count)

    def remove_session(self, day: int, demanding: bool) -> None:
        self.add_session(day, demanding, -1)

    def open_dates(self, first: int, last: int, demanding: bool, taken: set[int]) -> int:
        """How many dates from first to last, none of them ``taken``, pacing allows a session on (the same
        checks as pacing_problem, in one loop: it runs for every window pushed)."""
        pacing = self.info.pacing
        per_day, per_week, near = self.per_day, self.per_week, self.near_demanding
        count = 0
        for day in range(first, last + 1):
            if (
                day not in taken
                and per_day.get(day) < pacing.max_per_day
                and per_week.get(monday_of(day)) < pacing.max_per_week
                and not (demanding and near.get(day))
            ):
                count += 1
        return count

    def pacing_problem(self, day: int, demanding: bool) -> str | None:
        pacing = self.info.pacing
        if self.per_day.get(day) >= pacing.max_per_day:
            return _PACING_DAY
        if self.per_week.get(monday_of(day)) >= pacing.max_per_week:
            return _PACING_WEEK
        if demanding and self.near_demanding.get(day):
            return _PACING_REST
        return None


# --- reasons ------------------------------------------------------------------------------------------------

_NO_THERAPIST: Final = "no_therapist"
_PACING_DAY: Final = "pacing_day"
_PACING_WEEK: Final = "pacing_week"
_PACING_REST: Final = "pacing_rest"
_SAME_ITEM: Final = "same_item"
_NO_HOURS: Final = "no_hours"
_NO_FREE: Final = "no_free"
_PATIENT_BUSY: Final = "patient_busy"


def _full_reasons(idle: bool, no_free: bool) -> frozenset[str]:
    """Why a date has no free start for anyone: a qualified therapist does not work, or those who work are
    full."""
    return frozenset(([_NO_HOURS] if idle else []) + ([_NO_FREE] if no_free else []))


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _explain(why: set[str], pacing: Pacing) -> str:
    if _NO_THERAPIST in why:
        return "no therapist is qualified for this item"
    parts = []
    if _PACING_DAY in why:
        parts.append(f"pacing: at most {_counted(pacing.max_per_day, 'session')} a day")
    if _PACING_WEEK in why:
        parts.append(f"pacing: at most {_counted(pacing.max_per_week, 'session')} a week")
    if _PACING_REST in why:
        rest = _counted(pacing.min_rest_days_between_demanding, "rest day")
        parts.append(f"pacing: at least {rest} between demanding sessions")
    if _SAME_ITEM in why and why <= {_SAME_ITEM}:  # otherwise it only restates how a count rule works
        parts.append("this item already has a session on every other day of the window")
    if _NO_FREE in why:
        parts.append("no qualified therapist has free time in the window")
    elif _NO_HOURS in why:
        parts.append("no qualified therapist works in the window")
    if _PATIENT_BUSY in why:
        parts.append("the patient has other appointments at the free times")
    return "; ".join(parts) or "no free slot in the window"


# --- planning -----------------------------------------------------------------------------------------------


# One therapist's free starts of one length on one of its local dates: (therapist id, work day, zone, local
# date, starts, locations). The lists are the work day's own, trimmed in place as time is booked.
_Free = tuple[int, "_WorkDay", str, int, list[int], list[int]]


# A slot's score, terms 1-6 of "Score" in the module docstring as ten ints (smaller is better): compiled, a
# fixed-length tuple of ints is stored unboxed, and _below compares two without building any object.
_Score = tuple[int, int, int, int, int, int, int, int, int, int]
_UNSCORED: Final[_Score] = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # a slot the repair pass makes room for


class _Supply:
    """What one pool of therapists offers sessions of one length, by patient-local day number in one zone.
    Shared by every chain with that pool, zone and length, which holds it: a look-up by day is then a small
    int key instead of a tuple built and hashed for every date tried."""

    __slots__ = ("full", "unrepairable", "views")

    def __init__(self) -> None:
        self.views: dict[int, tuple[tuple[_Free, ...], bool]] = {}  # see _Planner._pool_view
        self.full: dict[int, frozenset[str]] = {}  # dates with no free start at all, with the reasons
        self.unrepairable: dict[int, int] = {}  # date -> _changes when no repair worked there (_make_room)


class _Slot:
    # A plain class rather than a frozen dataclass: built for every date searched, and a compiled frozen
    # dataclass takes fifteen times as long to build.
    __slots__ = ("day", "end", "key", "location_id", "start", "therapist_id")

    def __init__(
        self, key: _Score, day: int, therapist_id: int, location_id: int, start: int, end: int
    ) -> None:
        self.key = key
        self.day = day  # patient-local
        self.therapist_id = therapist_id
        self.location_id = location_id
        self.start = start
        self.end = end


class _Chain:
    """One request's walk through its cadence windows."""

    # A plain class: compiled, a dataclass's generated __init__ runs as Python.
    def __init__(
        self,
        request: ItemRequest,
        patient: _Patient,
        phase_start: int,
        today: int,
        horizon_end: int,
        therapist_ids: tuple[int, ...],
        booked: tuple[int, ...],
        sessions: set[int],
        pool: tuple[int, ...],
        pool_id: int,
        supply: _Supply,
        position: int,
    ) -> None:
        self.request = request
        self.phase_start = phase_start
        self.patient = patient
        self.today = today
        # Windows opening on or after this patient-local date are left for a later run.
        self.horizon_end = horizon_end
        self.therapist_ids = therapist_ids  # without repeats, preferred first
        self.booked = booked  # dates of this item's bookings from today on, sorted
        self.sessions = sessions
        self.window: DayWindow | None = None
        self.overdue = False  # the window is an overdue one, due from today (see _as_planned)
        # The qualified therapists as a set (sorted): what patients with the same therapists share, whatever
        # their order of preference, for the caches of free starts; and its number, for the caches' keys.
        self.pool = pool
        self.pool_id = pool_id
        self.supply = supply  # shared by the chains with the same pool, zone and length
        self.position = position  # in the planner's list of chains, by item id
        self.ranks = {therapist_id: rank for rank, therapist_id in enumerate(therapist_ids)}


@dataclass
class _Missed:
    miss: Miss
    chain: _Chain
    window: DayWindow
    assumed: int | None  # the date the chain went on from, None when it stopped
    overdue: bool


class _Planner:
    def __init__(self, inp: PlanningInput) -> None:
        self._inp = inp
        self._now = _ceil_minutes(inp.now)
        self._clock = _Clock(self._now)
        self._step = inp.step_minutes
        self._closures = _Closures(inp.blocked, self._clock.first_utc_day)
        self._therapists = self._index_therapists(inp, self._clock)
        self._patients = {
            info.patient_id: _Patient(info, _Intervals(self._clock.first_utc_day)) for info in inp.patients
        }
        self._item_bookings: dict[tuple[int, int], list[Booking]] = {}
        for booking in inp.bookings:
            if booking.item_id is not None:
                self._item_bookings.setdefault((booking.patient_id, booking.item_id), []).append(booking)
        self._index_bookings(inp)
        self._pool_ids: dict[tuple[int, ...], int] = {}
        self._supplies: dict[tuple[int, str, int], _Supply] = {}  # by (pool id, patient zone, minutes)
        self._in_order = [  # by item id
            self._start_chain(req, position)
            for position, req in enumerate(sorted(inp.requests, key=_item_id))
        ]
        self._chains = {chain.request.item_id: chain for chain in self._in_order}
        self._by_patient: dict[int, list[_Chain]] = {info.patient_id: [] for info in inp.patients}
        for chain in self._chains.values():
            self._by_patient[chain.request.patient_id].append(chain)
        # The queue of open windows (step 3), each as one int that orders like the tuple (window.latest, open
        # dates, therapists working, item id): ints compare without the calls a tuple's comparison makes.
        self._radix_working = 1 + len({t for chain in self._in_order for t in chain.therapist_ids})
        self._queue: list[int] = []
        self._working: dict[tuple[int, int, int], int] = {}  # see _therapists_working
        self._proposals: list[Proposal] = []
        self._windows: list[DayWindow] = []  # per proposal: its window on day numbers
        self._starts: list[int] = []  # per proposal: its start in UTC minutes
        self._misses: list[Miss] = []
        self._windows_total = 0
        self._windows_met = 0
        self._missed: list[_Missed] = []  # one per Miss, for the repair pass
        self._period_bound: list[bool] = []  # per proposal: may move to any date of its window (see _place)
        self._changes = 0  # counts proposals placed or moved, so a repair's failures can be remembered
        self._stuck: dict[int, int] = {}  # proposal index -> _changes when it found no other date
        self._proposal_at: dict[tuple[int, int, int], int] = {}  # (therapist, start, end) -> proposal index

    # step 2: indexes

    @staticmethod
    def _index_therapists(inp: PlanningInput, clock: _Clock) -> dict[int, _Therapist]:
        therapists: dict[int, _Therapist] = {}
        for row in sorted(inp.hours, key=_hours_order):
            if row.ends <= row.starts:
                continue
            therapist = therapists.get(row.therapist_id)
            if therapist is None:  # not setdefault, which would build a therapist for every row
                therapist = _Therapist(row.therapist_id, clock, {}, _Intervals(clock.first_utc_day))
                therapists[row.therapist_id] = therapist
            therapist.hours.setdefault((row.zone, row.weekday), []).append(row)
        for therapist in therapists.values():
            therapist.zones = tuple(sorted({zone for zone, _ in therapist.hours}))
        return therapists

    def _index_bookings(self, inp: PlanningInput) -> None:
        booked_items: set[tuple[int, int]] = set()
        for booking in inp.bookings:
            start, end = _floor_minutes(booking.start), _ceil_minutes(booking.end)
            if end <= start:
                continue
            therapist = self._therapists.get(booking.therapist_id)
            if therapist is not None:
                therapist.book(start, end)
            patient = self._patients.get(booking.patient_id)
            if patient is not None:
                day = self._clock.local_day(patient.info.zone, start)
                patient.busy.add(start, end)
                patient.add_session(day, booking.demanding)
                if booking.item_id is not None:
                    booked_items.add((booking.item_id, day))
        for req in inp.requests:
            patient = self._patients[req.patient_id]
            for day in {self._clock.day(held) for held in req.held}:
                if (req.item_id, day) not in booked_items:
                    patient.add_session(day, req.demanding)

    # step 3 and 8: the cadence chain

    def _start_chain(self, req: ItemRequest, position: int) -> _Chain:
        patient = self._patients[req.patient_id]
        zone = patient.info.zone
        today = self._clock.local_day(zone, self._now)
        horizon = self._now + self._inp.horizon_days * DAY_MINUTES
        booked = {
            self._clock.local_day(zone, _floor_minutes(booking.start))
            for booking in self._item_bookings.get((req.patient_id, req.item_id), [])
        }
        pool = tuple(sorted(set(req.therapist_ids)))
        pool_id = self._pool_ids.setdefault(pool, len(self._pool_ids))
        supply = self._supplies.get((pool_id, zone, req.minutes))
        if supply is None:
            supply = self._supplies[pool_id, zone, req.minutes] = _Supply()
        return _Chain(
            request=req,
            patient=patient,
            phase_start=self._clock.day(req.phase_start),
            today=today,
            horizon_end=self._clock.local_day(zone, horizon),
            therapist_ids=tuple(dict.fromkeys(req.therapist_ids)),
            booked=tuple(sorted(day for day in booked if day >= today)),
            sessions={self._clock.day(held) for held in req.held},
            pool=pool,
            pool_id=pool_id,
            supply=supply,
            position=position,
        )

    def _advance(self, chain: _Chain) -> None:
        """Move the chain to its next window that still needs a session, or to None past the horizon."""
        req = chain.request
        while True:
            cursor = _latest(chain.sessions, chain.today)
            # Bookings only cover a window, never move it, and the planner checks them itself (below).
            state = next_due_days(
                req.rule, phase_start=chain.phase_start, completed=chain.sessions, booked=(), today=cursor
            )
            window = _as_planned(state.window, chain.today)
            chain.overdue = state.window.latest < chain.today
            if window.earliest >= chain.horizon_end:
                chain.window = None
                return
            self._windows_total += 1
            met = False
            for day in chain.booked:  # a loop, not next() over a generator: this runs for every window
                if window.earliest <= day <= window.latest and day not in chain.sessions:
                    chain.sessions.add(day)
                    met = True
                    break
            if not met:
                chain.window = window
                return
            self._windows_met += 1

    def _push(self, chain: _Chain) -> None:
        if chain.window is not None:
            window = chain.window
            options = self._open_dates(chain, window)
            working = self._therapists_working(chain, window)
            # latest >= today >= 0, and a window holds at most MAX_PERIOD_DAYS dates (careplans.cadence)
            key = (window.latest * (MAX_PERIOD_DAYS + 1) + options) * self._radix_working + working
            heapq.heappush(self._queue, key * len(self._in_order) + chain.position)

    def _open_dates(self, chain: _Chain, window: DayWindow) -> int:
        """How many dates of the window the session could take now: no session of the item there and pacing
        allows it. Among windows that close together, the one with the fewest goes first, before the others
        take its dates. (Also asking for a therapist's free start costs a quarter of the run and changed
        one window in 19,000 in the benchmark.)"""
        return chain.patient.open_dates(
            window.earliest, window.latest, chain.request.demanding, chain.sessions
        )

    def _therapists_working(self, chain: _Chain, window: DayWindow) -> int:
        key = (chain.pool_id, window.earliest, window.latest)
        count = self._working.get(key)
        if count is None:
            count = self._working[key] = self._count_working(chain, window)
        return count

    def _count_working(self, chain: _Chain, window: DayWindow) -> int:
        span = window.latest - window.earliest + 1
        weekdays = {weekday_of(window.earliest + k) for k in range(min(span, 7))}
        count = 0
        for therapist_id in chain.therapist_ids:
            therapist = self._therapists.get(therapist_id)
            if therapist is not None and any(
                weekday in weekdays
                and self._clock.day(row.effective_from) <= window.latest + 1
                and (row.effective_to is None or self._clock.day(row.effective_to) >= window.earliest - 1)
                for (_, weekday), rows in therapist.hours.items()
                for row in rows
            ):
                count += 1
        return count

    # steps 3-11: the main loop

    def run(self) -> PlanResult:
        for chain in self._chains.values():
            self._advance(chain)
            self._push(chain)
        while self._queue:
            chain = self._in_order[heapq.heappop(self._queue) % len(self._in_order)]
            assert chain.window is not None  # only chains with an open window are queued
            if self._serve(chain, chain.window):
                self._advance(chain)
                self._push(chain)
        misses = self._repair()
        return PlanResult(
            proposals=tuple(
                self._proposals[k] for k in sorted(range(len(self._proposals)), key=self._order_key)
            ),
            misses=tuple(sorted(misses, key=lambda m: (m.window.latest, m.item_id))),
            windows_total=self._windows_total,
            windows_met=self._windows_met,
        )

    def _order_key(self, index: int) -> tuple[int, int, int]:
        """Proposals are returned by start, therapist and item: compared as ints, not datetimes."""
        proposal = self._proposals[index]
        return (self._starts[index], proposal.therapist_id, proposal.item_id)

    def _serve(self, chain: _Chain, window: DayWindow) -> bool:
        """Place a session for the window or record a Miss. False when the chain cannot go on."""
        slot, why = self._search(chain, window)
        if slot is not None:
            self._place(chain, slot, window, chain.overdue)
            return True
        req = chain.request
        miss = Miss(  # its alternatives are found once planning is over (see _with_alternatives)
            item_id=req.item_id,
            patient_id=req.patient_id,
            window=self._clock.window_dates(window),
            reason=_explain(why, chain.patient.info.pacing),
            alternatives=(),
        )
        missed = _Missed(miss, chain, window, None, chain.overdue)
        self._missed.append(missed)
        # Chain on as if the session happened on the window's last free date. Not on an alternative's date:
        # alternatives are only suggestions, and assuming one (usually in the next period) would fill that
        # period's minimum with a session nobody booked, silently skipping it.
        day = window.latest
        while day in chain.sessions:
            day -= 1
        if day < window.earliest:  # every date of the window already holds a session: nothing to assume
            return False
        chain.sessions.add(day)
        missed.assumed = day
        return True

    def _place(self, chain: _Chain, slot: _Slot, window: DayWindow, overdue: bool) -> None:
        self._commit(chain, slot)
        self._proposal_at[slot.therapist_id, slot.start, slot.end] = len(self._proposals)
        self._proposals.append(self._proposal(chain, slot, window))
        self._starts.append(slot.start)
        self._windows.append(window)
        # Any date of a count rule's period keeps the period's count, which is all its chain depends on; an
        # interval rule's next window follows from this date, and an overdue window is not a period.
        self._period_bound.append(isinstance(chain.request.rule, CountPerPeriod) and not overdue)
        self._windows_met += 1

    # steps 9 and 10: the repair pass

    def _repair(self) -> list[Miss]:
        """Try to meet each missed window by moving other patients' proposals aside; return the misses
        that remain. Moving a proposal frees time, so every remaining miss is then searched again."""
        remaining: list[_Missed] = []
        for missed in self._missed:
            if missed.assumed is None or not self._make_room(missed):
                remaining.append(missed)
        misses: list[_Missed] = []
        for missed in remaining:
            chain, window = missed.chain, missed.window
            if missed.assumed is not None:
                chain.sessions.discard(missed.assumed)
            slot, _ = self._search(chain, window, lookahead=False)
            if slot is not None:
                self._place(chain, slot, window, missed.overdue)
                continue
            if missed.assumed is not None:
                chain.sessions.add(missed.assumed)
            misses.append(missed)
        return [self._with_alternatives(missed) for missed in misses]

    def _with_alternatives(self, missed: _Missed) -> Miss:
        """The Miss with its alternatives, searched in the finished plan: each is free of every proposal
        and within pacing with all of them (found any earlier, a later proposal could take it)."""
        chain, window = missed.chain, missed.window
        alternatives = tuple(self._proposal(chain, alt, window) for alt in self._alternatives(chain, window))
        return replace(missed.miss, alternatives=alternatives)

    def _make_room(self, missed: _Missed) -> bool:
        """Meet a missed window by making room among other patients' proposals (step 9): on each date,
        nearest the ideal first, shift one along its therapist's free time, else pack several together, else
        move one to another date of its period; therapists in the usual-then-preferred order. The first
        that works wins.
        """
        chain, window, assumed = missed.chain, missed.window, missed.assumed
        assert assumed is not None
        req, patient = chain.request, chain.patient
        if isinstance(req.rule, CountPerPeriod) and not missed.overdue:
            # Any date of the period keeps the period's count, which is all a count rule's chain depends on.
            ideal = min(max(window.ideal, window.earliest), window.latest)
            reach = max(ideal - window.earliest, window.latest - ideal)
            days = [
                day
                for distance in range(reach + 1)
                for day in _dates_at(ideal, distance, window)
                if day == assumed or day not in chain.sessions
            ]
        else:  # an interval rule's next window follows from this session's date: keep the assumed one
            days = [assumed]
        for day in days:
            if patient.pacing_problem(day, req.demanding) is not None:
                continue
            # Without sessions of the patient near the date, what a repair can do there is the same for
            # every patient of the pool, zone and length: a failure holds until something is placed or moved.
            day_start, day_end = self._clock.day_bounds(patient.info.zone, day)
            alone = not patient.busy.overlapping(day_start, day_end + req.minutes)
            if alone and chain.supply.unrepairable.get(day) == self._changes:
                continue
            segments = [
                (therapist, segment, self._obstacles(therapist, segment)[1])
                for therapist, segment in self._segments_on(chain, day)
            ]
            # One proposal shifted first (the least change for others), then several packed together, then
            # one moved to another date of its own period.
            for kind, make_room in enumerate((self._shift_for, self._pack_for, self._move_across_for)):
                for therapist, segment, rooms in segments:
                    if rooms[kind] < req.minutes:
                        continue  # no such repair makes enough room in a row here, whoever the patient
                    slot = make_room(chain, day, therapist, segment)
                    if slot is not None:
                        chain.sessions.discard(assumed)
                        self._place(chain, slot, window, missed.overdue)
                        return True
            if alone:
                chain.supply.unrepairable[day] = self._changes
        return False

    def _move_across_for(
        self, chain: _Chain, day: int, therapist: _Therapist, segment: _Segment
    ) -> _Slot | None:
        """In one hours segment, move a proposal of another patient to another date of its own period
        (where it takes its best slot, pacing counted without it) so that a session of ``chain`` fits in
        its time on the patient-local ``day``; the slot for that session, or None."""
        req, patient, info = chain.request, chain.patient, chain.patient.info
        minutes = req.minutes
        day_start, day_end = self._clock.day_bounds(info.zone, day)
        low_bound = max(segment.start, self._now, day_start)
        obstacles, _ = self._obstacles(therapist, segment)
        reach = segment.start
        for k, (start, end, index) in enumerate(obstacles):
            after = obstacles[k + 1][0] if k + 1 < len(obstacles) else segment.end
            first, last = max(low_bound, reach), min(segment.end, after)  # the run is [first, last)
            reach = max(reach, end)
            if (
                index < 0
                or not self._period_bound[index]
                or first > start
                or last < end
                or last - first < minutes
            ):
                continue
            other = self._chains[self._proposals[index].item_id]
            if other.patient is patient or self._stuck.get(index) == self._changes:
                continue  # its own session, or nothing placed or moved since it last found no other date
            rooms = [
                room
                for room in segment.grid
                if first <= room < day_end
                and room + minutes <= last
                and not patient.busy.clashes(room, room + minutes)
            ]
            if not rooms:
                continue
            elsewhere = self._another_date(other, index)
            if elsewhere is None:
                self._stuck[index] = self._changes
                continue
            if elsewhere.therapist_id == therapist.therapist_id:
                # Another date of its patient's may still be this run's time when the zones differ.
                rooms = [room for room in rooms if elsewhere.start >= room + minutes or elsewhere.end <= room]
                if not rooms:
                    continue
            self._relocate(other, index, elsewhere)
            room = min(rooms, key=self._room_order(chain, day))
            return _Slot(_UNSCORED, day, therapist.therapist_id, segment.location_id, room, room + minutes)
        return None

    def _room_order(self, chain: _Chain, day: int) -> Callable[[int], tuple[int, int, int]]:
        """How a repair ranks the starts it can offer a session: the distance from the usual start time,
        the minutes outside the patient's preferred times, the earliest."""
        req, info = chain.request, chain.patient.info
        usual = (
            self._clock.wall_minutes(info.zone, day, req.usual_local_time)
            if req.usual_local_time is not None
            else None
        )
        early = (
            self._clock.wall_minutes(info.zone, day, info.earliest) if info.earliest is not None else -_FAR
        )
        late = (
            self._clock.wall_minutes(info.zone, day, info.latest) - req.minutes
            if info.latest is not None
            else _FAR
        )

        def order(room: int) -> tuple[int, int, int]:
            return (
                abs(room - usual) if usual is not None else 0,
                max(0, early - room) + max(0, room - late),
                room,
            )

        return order

    def _another_date(self, chain: _Chain, index: int) -> _Slot | None:
        """The best slot for proposal ``index`` of ``chain`` on another date of its window, searched as in
        steps 4-6 (without the room rule) with its own session taken out of the patient's pacing."""
        proposal, patient = self._proposals[index], chain.patient
        window, demanding = self._windows[index], chain.request.demanding
        old_day = self._clock.local_day(patient.info.zone, _floor_minutes(proposal.start))
        patient.remove_session(old_day, demanding)
        chain.sessions.discard(old_day)
        try:
            ideal = min(max(window.ideal, window.earliest), window.latest)
            reach = max(ideal - window.earliest, window.latest - ideal)
            for distance in range(reach + 1):
                best: _Slot | None = None
                for day in _dates_at(ideal, distance, window):
                    slot = self._best_on(chain, day, ideal, set()) if day != old_day else None
                    if slot is not None and (best is None or _below(slot.key, best.key)):
                        best = slot
                if best is not None:
                    return best
            return None
        finally:
            patient.add_session(old_day, demanding)
            chain.sessions.add(old_day)

    def _relocate(self, chain: _Chain, index: int, slot: _Slot) -> None:
        """Move proposal ``index`` of ``chain`` to a slot on another date of its window."""
        old = self._proposals[index]
        patient, therapist = chain.patient, self._therapists[old.therapist_id]
        start, end = _floor_minutes(old.start), _floor_minutes(old.end)
        therapist.unbook(start, end)
        self._refresh_free(therapist, start, end)
        patient.busy.remove(start, end)
        old_day = self._clock.local_day(patient.info.zone, start)
        patient.remove_session(old_day, chain.request.demanding)
        chain.sessions.discard(old_day)
        del self._proposal_at[old.therapist_id, start, end]
        self._forget_full()
        self._commit(chain, slot)
        self._proposal_at[slot.therapist_id, slot.start, slot.end] = index
        self._proposals[index] = old.moved(
            slot.therapist_id, slot.location_id, _utc(slot.start), _utc(slot.end)
        )
        self._starts[index] = slot.start

    def _segments_on(self, chain: _Chain, day: int) -> Iterator[tuple[_Therapist, _Segment]]:
        """The qualified therapists' hours segments that can hold a patient-local date, usual therapist
        first, then in order of preference."""
        day_start, day_end = self._clock.day_bounds(chain.patient.info.zone, day)
        usual = chain.request.usual_therapist_id
        ordered = [usual] if usual in chain.ranks else []
        for therapist_id in ordered + [other for other in chain.therapist_ids if other != usual]:
            therapist = self._therapists.get(therapist_id)
            if therapist is None:
                continue
            for zone in therapist.zones:
                for local_day in self._clock.local_days_over(zone, day_start, day_end):
                    for segment in self._segments(therapist, zone, local_day):
                        yield therapist, segment

    def _shift_for(self, chain: _Chain, day: int, therapist: _Therapist, segment: _Segment) -> _Slot | None:
        """In one hours segment, shift a proposal within its run of free time so that a session of
        ``chain`` fits beside it on the patient-local ``day``; the slot for that session, or None."""
        req, patient, info = chain.request, chain.patient, chain.patient.info
        minutes = req.minutes
        day_start, day_end = self._clock.day_bounds(info.zone, day)
        usual = (
            self._clock.wall_minutes(info.zone, day, req.usual_local_time)
            if req.usual_local_time is not None
            else None
        )
        early = (
            self._clock.wall_minutes(info.zone, day, info.earliest) if info.earliest is not None else -_FAR
        )
        late = (
            self._clock.wall_minutes(info.zone, day, info.latest) - minutes
            if info.latest is not None
            else _FAR
        )
        low_bound = max(segment.start, self._now, day_start)
        if min(segment.end, day_end + minutes) - low_bound < minutes:
            return None
        obstacles, _ = self._obstacles(therapist, segment)
        reach = segment.start  # the latest end of the obstacles before the current one
        for k, (start, end, index) in enumerate(obstacles):
            after = obstacles[k + 1][0] if k + 1 < len(obstacles) else segment.end
            first, last = max(low_bound, reach), min(segment.end, after)  # the run is [first, last)
            reach = max(reach, end)
            length = end - start
            if index < 0 or first > start or last < end or last - first < minutes + length:
                continue
            rooms = sorted(
                (
                    abs(room - usual) if usual is not None else 0,
                    max(0, early - room) + max(0, room - late),
                    room,
                )
                for room in segment.grid
                if first <= room < day_end
                and room + minutes <= last
                and room < end
                and room + minutes > start
                and not patient.busy.clashes(room, room + minutes)
            )
            other = self._chains[self._proposals[index].item_id]
            other_day = self._clock.local_day(other.patient.info.zone, start)
            for *_, room in rooms:
                moved = min(
                    (
                        (abs(new - start), new)
                        for new in segment.grid
                        if first <= new
                        and new + length <= last
                        and (new + length <= room or new >= room + minutes)
                        and self._clock.local_day(other.patient.info.zone, new) == other_day
                        and not any(
                            (low, high) != (start, end) and low < new + length and high > new
                            for low, high in other.patient.busy.overlapping(new, new + length)
                        )
                    ),
                    default=None,
                )
                if moved is not None:
                    self._shift(index, moved[1], segment.location_id)
                    return _Slot(
                        _UNSCORED, day, therapist.therapist_id, segment.location_id, room, room + minutes
                    )
        return None

    def _obstacles(
        self, therapist: _Therapist, segment: _Segment
    ) -> tuple[list[tuple[int, int, int]], tuple[int, int, int]]:
        """Every obstacle in a segment, sorted, a proposal (the only kind that can move) marked with its
        index and anything else with -1; and, whoever the patient, the most free time in a row that each
        repair could make: shifting one proposal along its run, packing a run's proposals, moving one
        proposal to another date (see _make_room). Cached until the therapist's time changes.

        The run of free time around obstacle k is [end of all before it, start of the one after].
        """
        cached = segment.obstacles
        if cached is not None and cached[0] == therapist.version:
            return cached[1], cached[2]
        closed = self._closures.overlapping(
            therapist.therapist_id, segment.location_id, segment.start, segment.end
        )
        obstacles = sorted(
            [
                (low, high, self._proposal_at.get((therapist.therapist_id, low, high), -1))
                for low, high in set(therapist.busy.overlapping(segment.start, segment.end))
            ]
            + [(low, high, -1) for low, high in closed]
        )
        low_bound = max(segment.start, self._now)
        shift = move = 0
        reach = segment.start
        for k, (start, end, index) in enumerate(obstacles):
            after = obstacles[k + 1][0] if k + 1 < len(obstacles) else segment.end
            first, last = max(low_bound, reach), min(segment.end, after)
            reach = max(reach, end)
            if index >= 0 and first <= start and last >= end:
                shift = max(shift, last - first - (end - start))
                if self._period_bound[index]:
                    move = max(move, last - first)
        pack = max(
            (
                last - first - sum(high - low for low, high, _ in inside)
                for first, last, inside in _packable(obstacles, low_bound, segment.end)
            ),
            default=0,
        )
        rooms = (shift, pack, move)
        segment.obstacles = (therapist.version, obstacles, rooms)
        return obstacles, rooms

    def _pack_for(self, chain: _Chain, day: int, therapist: _Therapist, segment: _Segment) -> _Slot | None:
        """In one hours segment, slide the proposals of a run of free time (between what cannot move)
        together so that a session of ``chain`` fits in the time their gaps add up to, on the patient-local
        ``day``; the slot for that session, or None. Each proposal keeps its therapist and patient-local
        date and misses its patient's other sessions; it ends as near its old start as the packing allows.
        """
        minutes, zone = chain.request.minutes, chain.patient.info.zone
        day_start, day_end = self._clock.day_bounds(zone, day)
        low_bound = max(segment.start, self._now)
        if min(segment.end, day_end + minutes) - max(low_bound, day_start) < minutes:
            return None
        obstacles, _ = self._obstacles(therapist, segment)
        for first, last, inside in _packable(obstacles, low_bound, segment.end):
            free = last - first - sum(high - low for low, high, _ in inside)
            if free < minutes or min(last, day_end + minutes) - max(first, day_start) < minutes:
                continue
            slot = self._pack_run(chain, day, therapist, segment, (first, last), inside)
            if slot is not None:
                return slot
        return None

    def _pack_run(
        self,
        chain: _Chain,
        day: int,
        therapist: _Therapist,
        segment: _Segment,
        run: tuple[int, int],
        inside: list[tuple[int, int, int]],
    ) -> _Slot | None:
        """Pack the proposals of the free run [first, last) to its start, put the session of ``chain`` in
        the time left after them, then let each proposal slide back towards its old start."""
        req, info = chain.request, chain.patient.info
        minutes, grid = req.minutes, segment.grid
        first, last = run
        day_start, day_end = self._clock.day_bounds(info.zone, day)
        fits = [self._fits_moved(entry) for entry in inside]
        packed: list[int] = []
        cursor = first
        for (low, high, _), fit in zip(inside, fits, strict=True):
            start = next(
                (
                    start
                    for start in grid[bisect_left(grid, cursor) :]
                    if fit(start) and start + high - low <= last
                ),
                None,
            )
            if start is None:
                return None
            packed.append(start)
            cursor = start + high - low
        own = [  # the patient's own proposals in this run, where the packing put them
            (start, start + high - low)
            for start, (low, high, index) in zip(packed, inside, strict=True)
            if self._proposals[index].patient_id == req.patient_id
        ]
        rooms = [
            room
            for room in grid[bisect_left(grid, cursor) :]
            if room + minutes <= last
            and day_start <= room < day_end
            and not chain.patient.busy.clashes(room, room + minutes)
            and not any(low < room + minutes and high > room for low, high in own)
        ]
        if not rooms:
            return None
        room = min(rooms, key=self._room_order(chain, day))
        # Slide back, last first: each proposal as late as its old start, the next one and the session allow.
        limit = room
        for k in range(len(inside) - 1, -1, -1):
            low, high, _ = inside[k]
            top = min(low, limit - (high - low))
            packed[k] = next(
                (
                    start
                    for start in reversed(grid[bisect_left(grid, packed[k]) : bisect_right(grid, top)])
                    if fits[k](start)
                ),
                packed[k],
            )
            limit = packed[k]
        moves = [
            (index, start) for start, (low, _, index) in zip(packed, inside, strict=True) if start != low
        ]
        if not moves:
            return None  # nothing moved: the search would have found this slot already
        self._move(moves, segment.location_id)
        return _Slot(_UNSCORED, day, therapist.therapist_id, segment.location_id, room, room + minutes)

    def _fits_moved(self, entry: tuple[int, int, int]) -> Callable[[int], bool]:
        """Whether the proposal of an obstacle entry could start at a time instead: the same patient-local
        date, not before now, and clear of its patient's other sessions."""
        low, high, index = entry
        other = self._chains[self._proposals[index].item_id].patient
        day_start, day_end = self._clock.day_bounds(
            other.info.zone, self._clock.local_day(other.info.zone, low)
        )
        length = high - low

        def fits(start: int) -> bool:
            return (
                day_start <= start < day_end
                and start >= self._now
                and not any(
                    (busy_low, busy_high) != (low, high) and busy_low < start + length and busy_high > start
                    for busy_low, busy_high in other.busy.overlapping(start, start + length)
                )
            )

        return fits

    def _shift(self, index: int, new_start: int, location_id: int) -> None:
        self._move([(index, new_start)], location_id)

    def _move(self, moves: list[tuple[int, int]], location_id: int) -> None:
        """Move proposals (index, new start) of one therapist to new starts at a location: every old time
        is freed before any new one is taken, so proposals can move into each other's old time."""
        olds = [self._proposals[index] for index, _ in moves]
        for old in olds:
            patient, therapist = self._chains[old.item_id].patient, self._therapists[old.therapist_id]
            start, end = _floor_minutes(old.start), _floor_minutes(old.end)
            therapist.unbook(start, end)
            self._refresh_free(therapist, start, end)
            patient.busy.remove(start, end)
            del self._proposal_at[old.therapist_id, start, end]
        self._forget_full()
        self._changes += 1
        for (index, new_start), old in zip(moves, olds, strict=True):
            patient, therapist = self._chains[old.item_id].patient, self._therapists[old.therapist_id]
            new_end = new_start + _floor_minutes(old.end) - _floor_minutes(old.start)
            therapist.book(new_start, new_end)
            patient.busy.add(new_start, new_end)
            self._proposal_at[old.therapist_id, new_start, new_end] = index
            self._proposals[index] = old.moved(old.therapist_id, location_id, _utc(new_start), _utc(new_end))
            self._starts[index] = new_start

    def _forget_full(self) -> None:
        """Time was freed: a date known to have no free start may have one now."""
        for supply in self._supplies.values():
            supply.full.clear()

    def _commit(self, chain: _Chain, slot: _Slot) -> None:
        self._changes += 1
        self._therapists[slot.therapist_id].book(slot.start, slot.end)
        chain.patient.busy.add(slot.start, slot.end)
        chain.patient.add_session(slot.day, chain.request.demanding)
        chain.sessions.add(slot.day)

    def _proposal(self, chain: _Chain, slot: _Slot, window: DayWindow) -> Proposal:
        return Proposal(
            item_id=chain.request.item_id,
            patient_id=chain.request.patient_id,
            therapist_id=slot.therapist_id,
            location_id=slot.location_id,
            start=_utc(slot.start),
            end=_utc(slot.end),
            window=self._clock.window_dates(window),
        )

    # steps 4-6: the search

    def _search(
        self, chain: _Chain, window: DayWindow, lookahead: bool = True
    ) -> tuple[_Slot | None, set[str]]:
        why: set[str] = set()
        if not chain.therapist_ids:
            return None, {_NO_THERAPIST}
        ideal = min(max(window.ideal, window.earliest), window.latest)
        reach = max(ideal - window.earliest, window.latest - ideal)
        after = self._needed_after(chain, window) if lookahead else 0
        siblings = [
            other
            for other in self._by_patient[chain.request.patient_id]
            if lookahead and other is not chain and other.window is not None
        ]
        workable: dict[int, dict[int, bool]] = {}  # item -> date -> has a free start (see _fits)
        needs: dict[int, int] = {}
        # The best slot, by (tier, score), of the dates that leave too little room: tier 1 when only another
        # item of the patient loses room for its open window, tier 2 when this item's own period does.
        fallback: _Slot | None = None
        fallback_tier = 0
        for distance in range(reach + 1):
            best: _Slot | None = None
            for day in _dates_at(ideal, distance, window):
                slot = self._best_on(chain, day, ideal, why)
                if slot is None:
                    continue
                tier = 0
                if after and not self._fits(
                    chain, window, [(day, chain.request.demanding, True)], after, workable
                ):
                    tier = 2
                elif any(not self._sibling_fits(chain, day, other, needs, workable) for other in siblings):
                    tier = 1
                if tier:
                    if (
                        fallback is None
                        or tier < fallback_tier
                        or (tier == fallback_tier and _below(slot.key, fallback.key))
                    ):
                        fallback, fallback_tier = slot, tier
                    continue
                if best is None or _below(slot.key, best.key):
                    best = slot
            if best is not None:
                return best, why
        return fallback, why

    def _sibling_fits(
        self,
        chain: _Chain,
        day: int,
        other: _Chain,
        needs: dict[int, int],
        workable: dict[int, dict[int, bool]],
    ) -> bool:
        """Whether another item of the patient still fits what its open window needs with ``day`` taken."""
        window = other.window
        assert window is not None
        rest = chain.patient.info.pacing.min_rest_days_between_demanding
        monday = monday_of(day)
        if window.earliest > max(day + rest, monday + 6) or window.latest < min(day - rest, monday):
            return True  # too far away to be affected by this date
        item_id = other.request.item_id
        if item_id not in needs:
            needs[item_id] = 1 + self._needed_after(other, window)
        return self._fits(other, window, [(day, chain.request.demanding, False)], needs[item_id], workable)

    def _needed_after(self, chain: _Chain, window: DayWindow) -> int:
        """How many more sessions the window's period needs after this one (0 for an interval rule)."""
        rule = chain.request.rule
        if not isinstance(rule, CountPerPeriod) or rule.min_sessions < 2:
            return 0
        sessions = set(chain.sessions)
        count = 0
        for day in range(window.earliest, window.latest + 1):
            if day in sessions:
                continue
            sessions.add(day)  # assume a session here and see whether the chain stays in this period
            state = next_due_days(
                rule,
                phase_start=chain.phase_start,
                completed=sessions,
                booked=(),
                today=_latest(sessions, chain.today),
            )
            following = _as_planned(state.window, chain.today)
            if following.latest != window.latest or following.earliest > window.latest:
                break
            count += 1
        return count

    def _fits(
        self,
        chain: _Chain,
        window: DayWindow,
        taken: list[tuple[int, bool, bool]],
        needed: int,
        workable: dict[int, dict[int, bool]],
    ) -> bool:
        """Whether ``needed`` sessions of ``chain`` still fit in the window with the sessions ``taken``
        (date, demanding, of this same item) added to the patient's.

        A date fits when the item has no session on it, pacing allows it (counting ``taken`` and the dates
        already picked) and a qualified therapist has a free start of the right length on it. Dates are
        picked earliest first, which places the most sessions when rest days space them out.
        """
        patient, demanding = chain.patient, chain.request.demanding
        pacing = patient.info.pacing
        rest = pacing.min_rest_days_between_demanding if demanding else 0
        picked = list(taken)
        found = 0
        known = workable.get(chain.request.item_id)
        if known is None:
            known = workable[chain.request.item_id] = {}
        for other in range(window.earliest, window.latest + 1):
            if other in chain.sessions:
                continue
            week = monday_of(other)
            # What the dates picked so far add on this date, in one loop (this runs for every date tried).
            same_item = near = False
            on_day = in_week = 0
            for day, hard, same in picked:
                if day == other:
                    on_day += 1
                    same_item = same_item or same
                if monday_of(day) == week:
                    in_week += 1
                if hard and abs(other - day) <= rest:
                    near = True
            if (
                same_item
                or patient.per_day.get(other) + on_day >= pacing.max_per_day
                or patient.per_week.get(week) + in_week >= pacing.max_per_week
                or (rest and (patient.near_demanding.get(other) or near))
            ):
                continue
            fits = known.get(other)
            if fits is None:
                fits = known[other] = self._has_free_start(chain, other)
            if fits:
                picked.append((other, demanding, True))
                found += 1
                if found >= needed:
                    return True
        return False

    def _has_free_start(self, chain: _Chain, day: int) -> bool:
        """Whether any qualified therapist has a free start of the item's length on a patient-local date."""
        zone = chain.patient.info.zone
        if day in chain.supply.full:
            return False
        day_start, day_end = self._clock.day_bounds(zone, day)
        frees, idle = self._pool_view(chain, day)
        for free in frees:
            starts = free[4]
            if _first_at(starts, day_start, 0, len(starts)) < _first_at(starts, day_end, 0, len(starts)):
                return True
        # The reasons _best_on would give: every working therapist is full.
        chain.supply.full[day] = _full_reasons(idle, bool(frees))
        return False

    def _alternatives(self, chain: _Chain, window: DayWindow) -> list[_Slot]:
        found: list[_Slot] = []
        for offset in range(1, ALTERNATIVE_SEARCH_DAYS + 1):
            day = window.latest + offset
            slot = self._best_on(chain, day, day, set())
            if slot is not None:
                found.append(slot)
                if len(found) == MAX_ALTERNATIVES:
                    break
        return found

    def _best_on(self, chain: _Chain, day: int, ideal: int, why: set[str]) -> _Slot | None:
        """The best feasible slot on one patient-local date, noting in ``why`` what ruled slots out."""
        req, patient = chain.request, chain.patient
        if day in chain.sessions:
            why.add(_SAME_ITEM)
            return None
        problem = patient.pacing_problem(day, req.demanding)
        if problem is not None:
            why.add(problem)
            return None
        info = patient.info
        known_full = chain.supply.full.get(day)
        if known_full is not None:
            why |= known_full
            return None
        frees, idle = self._pool_view(chain, day)
        minutes = req.minutes
        day_start, day_end = self._clock.day_bounds(info.zone, day)
        early = (
            self._clock.wall_minutes(info.zone, day, info.earliest) if info.earliest is not None else -_FAR
        )
        late = (
            self._clock.wall_minutes(info.zone, day, info.latest) - minutes
            if info.latest is not None
            else _FAR
        )
        bottom, top = (early, late) if early <= late else (late, early)
        # The patient's own sessions that a start on this date could touch (usually none).
        busy = patient.busy.overlapping(day_start, day_end + minutes)
        distance = abs(day - ideal)
        off_day = int(bool(info.preferred_weekdays) and weekday_of(day) not in info.preferred_weekdays)
        usual_id, usual_time = req.usual_therapist_id, req.usual_local_time
        # The usual therapist as a plain int (compared unboxed in the loop below), with a flag for none.
        has_usual, usual = (True, usual_id) if usual_id is not None else (False, 0)
        # The usual start time on this date, for therapists in the patient's zone (nearly always all of them).
        usual_here = self._clock.wall_minutes(info.zone, day, usual_time) if usual_time is not None else 0
        no_free = False  # a working therapist had no free start that day (idle: one did not work)
        some_free = False
        # The best score so far (see _Score): kept unboxed, because building a tuple object per candidate was
        # a tenth of the search.
        found = False
        best = _UNSCORED
        # The usual therapist first: a slot with them beats everyone else's on continuity, so it ends the search.
        for usual_pass in (True, False) if usual_id in chain.ranks else (False,):
            if found:
                break
            for therapist_id, workday, zone, local_day, starts, locations in frees:
                if (has_usual and therapist_id == usual) != usual_pass:
                    continue
                load = workday.booked
                if found and best[2] == 0 and best[4] == 0 and load > best[5]:
                    continue  # on time and in the patient's hours already, with a less busy therapist
                here = zone == info.zone  # then local_day is the patient's date and every start falls on it
                if here:
                    low, high = 0, len(starts)
                else:
                    low = _first_at(starts, day_start, 0, len(starts))
                    high = _first_at(starts, day_end, low, len(starts))
                if low == high:
                    no_free = True
                    continue
                some_free = True
                if usual_time is not None:
                    target = usual_here if here else self._clock.wall_minutes(zone, local_day, usual_time)
                    picks = _nearest(starts, low, high, target, target, busy, minutes)
                else:
                    target = 0
                    picks = _nearest(starts, low, high, bottom, top, busy, minutes)
                if picks[0] < 0:
                    why.add(_PATIENT_BUSY)
                    continue
                other = int(has_usual and therapist_id != usual)
                rank = chain.ranks[therapist_id]
                for pick in range(2):  # not over the pair itself, which would box it into a tuple
                    i = picks[0] if pick == 0 else picks[1]
                    if i < 0:
                        break
                    start, location = starts[i], locations[i]
                    gap = abs(start - target) if usual_time is not None else 0
                    outside = max(0, early - start) + max(0, start - late)
                    score = (
                        distance,
                        other,
                        gap,
                        off_day,
                        outside,
                        load,
                        start,
                        rank,
                        therapist_id,
                        location,
                    )
                    if not found or _below(score, best):
                        found, best = True, score
        # What ruled out the therapists' time, whoever the patient.
        if idle:
            why.add(_NO_HOURS)
        if no_free:
            why.add(_NO_FREE)
        if not some_free:  # no qualified therapist has a free start that day: no need to look again
            chain.supply.full[day] = _full_reasons(idle, no_free)
        if not found:
            return None
        return _Slot(best, day, best[8], best[9], best[6], best[6] + minutes)

    def _pool_view(self, chain: _Chain, day: int) -> tuple[tuple[_Free, ...], bool]:
        """The qualified therapists' free starts that can fall on a patient-local date, and whether one of
        them does not work on one of the local dates involved. Built once per pool, zone, date and length
        (``chain.supply``): the lists are the therapists' own, kept current as time is booked."""
        zone, minutes = chain.patient.info.zone, chain.request.minutes
        view = chain.supply.views.get(day)
        if view is None:
            day_start, day_end = self._clock.day_bounds(zone, day)
            frees: list[_Free] = []
            idle = False
            for therapist_id in chain.pool:
                therapist = self._therapists.get(therapist_id)
                if therapist is None:
                    idle = True
                    continue
                for therapist_zone in therapist.zones:
                    for local_day in self._clock.local_days_over(therapist_zone, day_start, day_end):
                        workday = therapist.day(therapist_zone, local_day)
                        free = self._free_starts(therapist, therapist_zone, local_day, minutes)
                        if free is None:
                            idle = True
                        else:
                            frees.append((therapist_id, workday, therapist_zone, local_day, *free))
            view = chain.supply.views[day] = (tuple(frees), idle)
        return view

    def _free_starts(
        self, therapist: _Therapist, zone: str, day: int, minutes: int
    ) -> tuple[list[int], list[int]] | None:
        """Sorted free starts of this length on a therapist's local date, each with its lowest location id.

        None when the therapist does not work that date at all.
        """
        segments = self._segments(therapist, zone, day)
        if not segments:
            return None
        by_length = therapist.day(zone, day).free
        cached = by_length.get(minutes)
        if cached is None:
            cached = by_length[minutes] = self._compute_free(therapist, segments, minutes)
        return cached

    def _compute_free(
        self, therapist: _Therapist, segments: tuple[_Segment, ...], minutes: int
    ) -> tuple[list[int], list[int]]:
        if len(segments) == 1:  # the usual day: one hours row, whose grid is already in order
            starts = self._free_in(therapist, segments[0], minutes)
            return starts, [segments[0].location_id] * len(starts)
        lowest_location: dict[int, int] = {}
        for segment in segments:
            for start in self._free_in(therapist, segment, minutes):
                known = lowest_location.get(start)
                if known is None or segment.location_id < known:
                    lowest_location[start] = segment.location_id
        starts = sorted(lowest_location)
        return starts, [lowest_location[start] for start in starts]

    def _free_in(self, therapist: _Therapist, segment: _Segment, minutes: int) -> list[int]:
        """The starts of a segment's grid where a session of ``minutes`` fits: not before now, clear of
        closures and the therapist's bookings and proposals, and ending by the segment's end."""
        free: list[int] = []
        obstacles = _merged(
            self._closures.overlapping(
                therapist.therapist_id, segment.location_id, segment.start, segment.end
            )
            + therapist.busy.overlapping(segment.start, segment.end)
        )
        ahead = 0  # obstacles before this one end before the current start (starts only grow)
        for start in segment.grid:
            end = start + minutes
            if end > segment.end:
                break
            while ahead < len(obstacles) and obstacles[ahead][1] <= start:
                ahead += 1
            if start < self._now or (ahead < len(obstacles) and obstacles[ahead][0] < end):
                continue
            free.append(start)
        return free

    def _refresh_free(self, therapist: _Therapist, start: int, end: int) -> None:
        """Rebuild the free starts of the days [start, end) touches after it was freed, in place: the pool
        views hold the same lists."""
        for zone in therapist.zones:
            for day in self._clock.local_days_over(zone, start, end):
                found = therapist.known_day(zone, day)
                if found is None:
                    continue
                for minutes, (starts, locations) in found.free.items():
                    starts[:], locations[:] = self._compute_free(
                        therapist, self._segments(therapist, zone, day), minutes
                    )

    def _segments(self, therapist: _Therapist, zone: str, day: int) -> tuple[_Segment, ...]:
        workday = therapist.day(zone, day)
        cached = workday.segments
        if cached is None:
            local = self._clock.date(day)
            rows = therapist.hours.get((zone, weekday_of(day)), [])
            cached = workday.segments = tuple(
                _segment(row, local, self._step)
                for row in rows
                if self._clock.day(row.effective_from) <= day
                and (row.effective_to is None or day <= self._clock.day(row.effective_to))
            )
        return cached


# --- helpers ------------------------------------------------------------------------------------------------


def _as_planned(window: DayWindow, today: int) -> DayWindow:
    """The window the planner searches: never before today; an overdue one is due from today."""
    if window.latest < today:
        return DayWindow(today, today, today + (window.latest - window.earliest))
    if window.earliest < today:
        return DayWindow(today, max(window.ideal, today), window.latest)
    return window


def _dates_at(ideal: int, distance: int, window: DayWindow) -> tuple[int, ...]:
    """The dates ``distance`` days either side of the ideal that lie in the window, earlier first."""
    if distance == 0:
        return (ideal,) if window.earliest <= ideal <= window.latest else ()
    before, after = ideal - distance, ideal + distance
    if before < window.earliest:
        return (after,) if after <= window.latest else ()
    return (before, after) if after <= window.latest else (before,)


def _nearest(
    starts: list[int], low: int, high: int, bottom: int, top: int, busy: list[tuple[int, int]], minutes: int
) -> tuple[int, int]:
    """Indices in starts[low:high] that can be nearest to [bottom, top] among the starts of sessions of
    ``minutes`` that miss every ``busy`` interval, -1 standing for none (first -1: none at all). A pair of
    ints, not a list: compiled, it is returned in registers, and this runs for every therapist tried.

    The first such start at or after ``bottom`` wins outright when it is not after ``top``; otherwise the
    candidates are the last such start before ``bottom`` and it (either may be missing).
    """
    split = _first_at(starts, bottom, low, high)
    after = before = -1
    if not busy:
        after = split if split < high else -1
        before = split - 1 if split - 1 >= low else -1
    else:
        for i in range(split, high):
            if _misses(starts[i], minutes, busy):
                after = i
                break
        if after < 0 or starts[after] > top:
            for i in range(split - 1, low - 1, -1):
                if _misses(starts[i], minutes, busy):
                    before = i
                    break
    if after >= 0 and starts[after] <= top:
        return after, -1
    return (before, after) if before >= 0 else (after, -1)


def _latest(days: set[int], floor: int) -> int:
    """The latest of the days and ``floor``: a loop, where max() would be a Python call over the set."""
    latest = floor
    for day in days:
        if day > latest:
            latest = day
    return latest


def _first_at(starts: list[int], value: int, low: int, high: int) -> int:
    """``bisect_left(starts, value, low, high)``, compiled with the planner: the list's ints are compared
    unboxed, where calling bisect costs a Python call and an object comparison per step."""
    while low < high:
        middle = (low + high) // 2
        if starts[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


def _after(starts: list[int], value: int) -> int:
    """``bisect_right(starts, value)``, as _first_at."""
    low, high = 0, len(starts)
    while low < high:
        middle = (low + high) // 2
        if value < starts[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def _misses(start: int, minutes: int, busy: list[tuple[int, int]]) -> bool:
    # A loop rather than all() over a generator, which compiled code runs as a Python-level iterator.
    for busy_start, busy_end in busy:  # noqa: SIM110
        if busy_start < start + minutes and busy_end > start:
            return False
    return True


def _packable(
    obstacles: list[tuple[int, int, int]], low_bound: int, end: int
) -> Iterator[tuple[int, int, list[tuple[int, int, int]]]]:
    """The runs [first, last) between what cannot move (bookings, closures, anything before ``low_bound`` or
    past ``end``) inside [low_bound, end), each with the proposals in it (obstacles marked with an index),
    for the runs that have any."""
    movable = [
        (low, high, index)
        for low, high, index in obstacles
        if index >= 0 and low >= low_bound and high <= end
    ]
    if not movable:
        return
    fixed = _merged(
        [
            (low, high)
            for low, high, index in obstacles
            if not (index >= 0 and low >= low_bound and high <= end)
        ]
    )
    for first, last in zip(
        [low_bound] + [high for _, high in fixed], [low for low, _ in fixed] + [end], strict=True
    ):
        first = max(first, low_bound)
        inside = [entry for entry in movable if first <= entry[0] and entry[1] <= last]
        if inside:
            yield first, last, inside


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals covering the same minutes."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _below(new: _Score, old: _Score) -> bool:
    """``new < old``, read at fixed places: compiled, that builds no objects, where comparing two tuple
    objects would (and so would a loop over the places)."""
    if new[0] != old[0]:
        return new[0] < old[0]
    if new[1] != old[1]:
        return new[1] < old[1]
    if new[2] != old[2]:
        return new[2] < old[2]
    if new[3] != old[3]:
        return new[3] < old[3]
    if new[4] != old[4]:
        return new[4] < old[4]
    if new[5] != old[5]:
        return new[5] < old[5]
    if new[6] != old[6]:
        return new[6] < old[6]
    if new[7] != old[7]:
        return new[7] < old[7]
    if new[8] != old[8]:
        return new[8] < old[8]
    return new[9] < old[9]


def _item_id(req: ItemRequest) -> int:
    return req.item_id


def _hours_order(row: WeeklyHours) -> tuple[object, ...]:
    return (
        row.therapist_id,
        row.zone,
        row.weekday,
        row.starts,
        row.ends,
        row.location_id,
        row.effective_from,
        row.effective_to or date.max,
    )


def _check(inp: PlanningInput) -> None:
    problems: list[str] = []
    if inp.now.utcoffset() is None:
        problems.append("now must be an aware datetime")
    if inp.horizon_days < 1:
        problems.append(f"the horizon must be at least 1 day, not {inp.horizon_days}")
    if inp.step_minutes < 1:
        problems.append(f"the step must be at least 1 minute, not {inp.step_minutes}")
    patient_ids = [info.patient_id for info in inp.patients]
    if len(set(patient_ids)) != len(patient_ids):
        problems.append("patients must not repeat")
    item_ids = [req.item_id for req in inp.requests]
    if len(set(item_ids)) != len(item_ids):
        problems.append("requests must not repeat an item id")
    known_patients = set(patient_ids)
    for req in inp.requests:
        if req.patient_id not in known_patients:
            problems.append(f"item {req.item_id} is for patient {req.patient_id}, who is not in the input")
        if req.minutes < 1:
            problems.append(f"item {req.item_id} must last at least a minute, not {req.minutes}")
    for row in inp.hours:
        if row.starts.second or row.starts.microsecond or row.ends.second or row.ends.microsecond:
            problems.append(f"therapist {row.therapist_id}'s hours must be in whole minutes")
        if not 0 <= row.weekday <= 6:
            problems.append(f"therapist {row.therapist_id}'s hours have weekday {row.weekday}, not 0-6")
    for zone in sorted({row.zone for row in inp.hours} | {info.zone for info in inp.patients}):
        try:
            _zone(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{zone!r} is not a known time zone")
    for moment in [b.start for b in inp.bookings] + [b.start for b in inp.blocked]:
        if moment.utcoffset() is None:
            problems.append("bookings and blocked ranges must use aware datetimes")
            break
    if problems:
        raise ValueError("invalid planning input: " + "; ".join(problems))
