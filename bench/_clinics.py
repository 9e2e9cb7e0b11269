"""Synthetic clinics for the planner benchmark, and the independent yardsticks every plan goes through.

Nothing here imports the planner's internals, only its public dataclasses: the validator, the adherence
metric and the free-slot calendar are written again from the rules (the planner's docstring, cadence.py and
DOMAIN.md), so a planner bug shows up as a violation or a lower figure instead of being shared by the
yardstick.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from careplans.cadence import Cadence, CountPerPeriod, DueWindow, next_due
from careplans.template_library import TEMPLATES, cadence_of
from scheduling.planner import (
    Blocked,
    Booking,
    ItemRequest,
    Pacing,
    PatientInfo,
    PlanningInput,
    Proposal,
    WeeklyHours,
)

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # a Wednesday; both DST changes (8 and 29 March) lie ahead
NEW_YORK, LONDON = "America/New_York", "Europe/London"
LOCATIONS = {1: NEW_YORK, 2: NEW_YORK, 3: LONDON}  # two New York sites, one London site
ZONE_SHARE = {NEW_YORK: 0.6, LONDON: 0.4}
DISCIPLINES = ("physical_therapy", "massage", "acupuncture", "exercise_therapy")
DEMANDING = frozenset({"physical_therapy", "exercise_therapy"})
TEMPLATE_WEIGHTS = (0.3, 0.25, 0.2, 0.25)  # PT-led, massage, exercise therapy, multimodal (TEMPLATES order)
STEP = 15
STANDARD_DAY = 8 * 60
ADHOC_SHARE = 0.04  # therapist time taken by appointments outside the cadence plans (walk-ins, assessments)
OUTSIDE_PATIENT = 1_000_000  # ids of patients who are not in the planning input
DAY_MINUTES = 24 * 60
ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_AGO = date(2025, 1, 1)


# --- time (UTC minutes, as the planner documents; converted independently here) ------------------------------


def to_minute(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY_MINUTES + delta.seconds // 60


def ceil_minute(moment: datetime) -> int:
    delta = moment - _EPOCH
    return to_minute(moment) + int(bool(delta.seconds % 60 or delta.microseconds))


def from_minute(minute: int) -> datetime:
    return _EPOCH + timedelta(minutes=minute)


@cache
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1 << 18)
def local_date(zone: str, minute: int) -> date:
    return from_minute(minute).astimezone(zone_of(zone)).date()


@lru_cache(maxsize=1 << 18)
def wall(zone: str, day: date, clock: time) -> int:
    """UTC minute of a local wall-clock time (fold=0: an ambiguous time is its first occurrence)."""
    return to_minute(datetime.combine(day, clock, tzinfo=zone_of(zone)))


def day_bounds(zone: str, day: date) -> tuple[int, int]:
    return wall(zone, day, time()), wall(zone, day + ONE_DAY, time())


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def days_between(first: date, last: date) -> list[date]:
    """Every date from first to last, both included."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def horizon_end(inp: PlanningInput, zone: str) -> date:
    """The patient-local date of now + horizon: windows opening on or after it are out of scope."""
    return local_date(zone, ceil_minute(inp.now) + inp.horizon_days * DAY_MINUTES)


# --- the cadence chain, walked independently of the planner -------------------------------------------------


@dataclass(frozen=True)
class Step:
    window: DueWindow
    met_on: date | None  # the session inside the window; None when missed (or left for a solver to decide)


def clip(window: DueWindow, today: date) -> DueWindow:
    """The domain rule for a window seen from today: never before today; one already over is due from today."""
    if window.latest < today:
        return DueWindow(today, today, today + (window.latest - window.earliest))
    if window.earliest < today:
        return DueWindow(today, max(window.ideal, today), window.latest)
    return window


def walk(
    req: ItemRequest, today: date, end: date, sessions: Iterable[date], *, assume_ideal: bool = False
) -> list[Step]:
    """The item's cadence windows from today until one opens on or after ``end``, chained with ``next_due``.

    ``sessions`` are the item's booked or planned dates; every one that happens counts as completed history
    when the next window is computed. A window without a session is missed and the chain goes on as if it
    happened on the window's last free date, unless a late session comes before the next window would open
    (it then stands in: the cadence restarts from the real session, and the lateness costs one window).
    With ``assume_ideal`` a missed window is instead assumed met on its ideal date: that is the chain an ideal
    schedule would have, used to size the demand and to fix CP-SAT's windows.
    """
    real = sorted({day for day in sessions if day >= today})
    done = set(req.held)
    steps: list[Step] = []
    i = 0

    def window_after(history: set[date]) -> DueWindow:
        cursor = max(today, *history) if history else today
        state = next_due(
            req.rule, phase_start=req.phase_start, completed=sorted(history), booked=(), today=cursor
        )
        return clip(state.window, today)

    while True:
        window = window_after(done)
        if window.earliest >= end:
            return steps
        if i < len(real) and real[i] < window.earliest:  # too soon to meet this window, but it happened
            done.add(real[i])
            i += 1
            continue
        if i < len(real) and real[i] <= window.latest:
            steps.append(Step(window, real[i]))
            done.add(real[i])
            i += 1
            continue
        steps.append(Step(window, None))
        free = [day for day in days_between(window.earliest, window.latest) if day not in done]
        if not free:  # every date of the window already holds a session: nothing left to chain
            return steps
        if assume_ideal:
            done.add(min(free, key=lambda day: (abs((day - window.ideal).days), day)))
            continue
        stand_in = free[-1]
        if i < len(real) and real[i] < window_after(done | {stand_in}).earliest:
            done.add(real[i])
            i += 1
        else:
            done.add(stand_in)


@dataclass(frozen=True)
class Adherence:
    total: int  # due windows reached over the horizon
    met: int  # windows with a session inside them
    off_ideal: int  # days between the session and the window's ideal date, summed over met windows

    @property
    def percent(self) -> float:
        return 100.0 * self.met / self.total if self.total else 100.0


def item_dates(inp: PlanningInput, proposals: Sequence[Proposal]) -> dict[tuple[int, int], set[date]]:
    """Patient-local dates of each item's bookings and proposals, keyed by (patient, item)."""
    zones = {info.patient_id: info.zone for info in inp.patients}
    dates: dict[tuple[int, int], set[date]] = defaultdict(set)
    for booking in inp.bookings:
        if booking.item_id is not None and booking.patient_id in zones:
            day = local_date(zones[booking.patient_id], to_minute(booking.start))
            dates[booking.patient_id, booking.item_id].add(day)
    for proposal in proposals:
        day = local_date(zones[proposal.patient_id], to_minute(proposal.start))
        dates[proposal.patient_id, proposal.item_id].add(day)
    return dates


def adherence(inp: PlanningInput, proposals: Sequence[Proposal]) -> Adherence:
    """Windows met, the same yardstick for every algorithm: chain each item's windows from its real sessions."""
    zones = {info.patient_id: info.zone for info in inp.patients}
    today = {zone: local_date(zone, ceil_minute(inp.now)) for zone in set(zones.values())}
    dates = item_dates(inp, proposals)
    total = met = off = 0
    for req in inp.requests:
        zone = zones[req.patient_id]
        for step in walk(
            req, today[zone], horizon_end(inp, zone), dates.get((req.patient_id, req.item_id), ())
        ):
            total += 1
            if step.met_on is not None:
                met += 1
                off += abs((step.met_on - step.window.ideal).days)
    return Adherence(total, met, off)


# --- the validator ------------------------------------------------------------------------------------------


def validate(inp: PlanningInput, proposals: Sequence[Proposal]) -> list[str]:
    """Every hard rule a proposal breaks, in words; empty when the plan is valid.

    Only breaches a proposal takes part in are reported: the existing bookings and held history are the
    clinic's state, not the plan's doing.
    """
    requests = {(req.patient_id, req.item_id): req for req in inp.requests}
    problems: list[str] = []
    for proposal in proposals:
        problems += _proposal_problems(inp, requests.get((proposal.patient_id, proposal.item_id)), proposal)
    problems += _overlaps(inp, proposals)
    problems += _pacing_problems(inp, requests, proposals)
    return problems


def _proposal_problems(inp: PlanningInput, req: ItemRequest | None, proposal: Proposal) -> list[str]:
    what = f"item {proposal.item_id} at {proposal.start:%Y-%m-%d %H:%M}Z"
    if req is None:
        return [f"{what}: no such request for patient {proposal.patient_id}"]
    problems = []
    if proposal.therapist_id not in req.therapist_ids:
        problems.append(f"{what}: therapist {proposal.therapist_id} is not qualified")
    if proposal.end - proposal.start != timedelta(minutes=req.minutes):
        problems.append(f"{what}: lasts {proposal.end - proposal.start}, not {req.minutes} minutes")
    if proposal.start < inp.now:
        problems.append(f"{what}: starts before now")
    if not _inside_hours(inp.hours, proposal):
        problems.append(
            f"{what}: outside therapist {proposal.therapist_id}'s hours at location {proposal.location_id}"
        )
    for block in inp.blocked:
        applies = block.therapist_id in (None, proposal.therapist_id) and block.location_id in (
            None,
            proposal.location_id,
        )
        if applies and block.start < proposal.end and block.end > proposal.start:
            problems.append(f"{what}: inside blocked time {block.start:%Y-%m-%d %H:%M}Z")
    return problems


def _inside_hours(hours: Sequence[WeeklyHours], proposal: Proposal) -> bool:
    for row in hours:
        if row.therapist_id != proposal.therapist_id or row.location_id != proposal.location_id:
            continue
        day = proposal.start.astimezone(zone_of(row.zone)).date()
        if row.weekday != day.weekday() or day < row.effective_from:
            continue
        if row.effective_to is not None and day > row.effective_to:
            continue
        opens = datetime.combine(day, row.starts, tzinfo=zone_of(row.zone))
        closes = datetime.combine(day, row.ends, tzinfo=zone_of(row.zone))
        if opens <= proposal.start and proposal.end <= closes:
            return True
    return False


def _overlaps(inp: PlanningInput, proposals: Sequence[Proposal]) -> list[str]:
    """Pairs of overlapping sessions of one therapist or one patient, at least one of them proposed."""
    by_therapist: dict[int, list[tuple[datetime, datetime, bool]]] = defaultdict(list)
    by_patient: dict[int, list[tuple[datetime, datetime, bool]]] = defaultdict(list)
    for booking in inp.bookings:
        by_therapist[booking.therapist_id].append((booking.start, booking.end, False))
        by_patient[booking.patient_id].append((booking.start, booking.end, False))
    for proposal in proposals:
        by_therapist[proposal.therapist_id].append((proposal.start, proposal.end, True))
        by_patient[proposal.patient_id].append((proposal.start, proposal.end, True))
    problems = []
    for who, index in (("therapist", by_therapist), ("patient", by_patient)):
        for key in sorted(index):
            active: list[tuple[datetime, datetime, bool]] = []
            for start, end, proposed in sorted(index[key]):
                active = [other for other in active if other[1] > start]
                for other in active:
                    if proposed or other[2]:
                        problems.append(f"{who} {key}: sessions overlap at {start:%Y-%m-%d %H:%M}Z")
                active.append((start, end, proposed))
    return problems


@dataclass(frozen=True)
class _Session:
    day: date
    demanding: bool
    proposed: bool
    item_id: int | None


def _pacing_problems(
    inp: PlanningInput, requests: dict[tuple[int, int], ItemRequest], proposals: Sequence[Proposal]
) -> list[str]:
    """Pacing per patient-local day, per Monday-first week and rest days, counting bookings and held dates."""
    infos = {info.patient_id: info for info in inp.patients}
    sessions: dict[int, list[_Session]] = defaultdict(list)
    booked: set[tuple[int, int, date]] = set()
    for booking in inp.bookings:
        info = infos.get(booking.patient_id)
        if info is not None:
            day = local_date(info.zone, to_minute(booking.start))
            sessions[info.patient_id].append(_Session(day, booking.demanding, False, booking.item_id))
            if booking.item_id is not None:
                booked.add((info.patient_id, booking.item_id, day))
    for req in inp.requests:
        for day in sorted(set(req.held)):  # a held date with a booking of the same item is one session
            if (req.patient_id, req.item_id, day) not in booked:
                sessions[req.patient_id].append(_Session(day, req.demanding, False, req.item_id))
    for proposal in proposals:
        asked = requests.get((proposal.patient_id, proposal.item_id))
        info = infos.get(proposal.patient_id)
        if asked is not None and info is not None:
            day = local_date(info.zone, to_minute(proposal.start))
            sessions[proposal.patient_id].append(_Session(day, asked.demanding, True, proposal.item_id))
    problems = []
    for patient_id in sorted(sessions):
        problems += _patient_pacing(patient_id, infos[patient_id].pacing, sessions[patient_id])
    return problems


def _patient_pacing(patient_id: int, pacing: Pacing, sessions: list[_Session]) -> list[str]:
    problems = []
    proposed = [s for s in sessions if s.proposed]
    per_day = Counter(s.day for s in sessions)
    per_week = Counter(monday(s.day) for s in sessions)
    per_item_day = Counter((s.item_id, s.day) for s in sessions if s.item_id is not None)
    for day in sorted({s.day for s in proposed}):
        if per_day[day] > pacing.max_per_day:
            problems.append(f"patient {patient_id}: {per_day[day]} sessions on {day}")
    for week in sorted({monday(s.day) for s in proposed}):
        if per_week[week] > pacing.max_per_week:
            problems.append(f"patient {patient_id}: {per_week[week]} sessions in the week of {week}")
    for item_id, day in sorted({(s.item_id, s.day) for s in proposed if s.item_id is not None}):
        if per_item_day[item_id, day] > 1:
            problems.append(f"patient {patient_id}: item {item_id} twice on {day}")
    rest = pacing.min_rest_days_between_demanding
    if rest > 0:
        demanding = [s for s in sessions if s.demanding]
        for mine in (s for s in proposed if s.demanding):
            clash = [o for o in demanding if o is not mine and abs((o.day - mine.day).days) <= rest]
            if clash:
                problems.append(
                    f"patient {patient_id}: demanding session on {mine.day} within {rest} rest days"
                )
    return problems


# --- a calendar of free time, for the baselines and the generator -------------------------------------------


@dataclass(frozen=True)
class Slot:
    therapist_id: int
    location_id: int
    start: int  # UTC minutes
    day: date  # patient-local


class Calendar:
    """Who is free when: hours, closures, bookings and pacing, plus every session a baseline adds.

    The baselines book through it; the validator does not use it, so a slip here shows up as a violation.
    Slots start on each hours row's grid (every ``step_minutes`` from the row's start), never before now.
    """

    def __init__(self, inp: PlanningInput) -> None:
        self.inp = inp
        self.now = ceil_minute(inp.now)
        self.step = inp.step_minutes
        self.infos = {info.patient_id: info for info in inp.patients}
        self.rows: dict[int, list[WeeklyHours]] = defaultdict(list)
        for row in sorted(
            inp.hours, key=lambda r: (r.therapist_id, r.zone, r.weekday, r.starts, r.location_id)
        ):
            self.rows[row.therapist_id].append(row)
        self.zones = {t: sorted({row.zone for row in rows}) for t, rows in self.rows.items()}
        self.blocks: dict[tuple[int | None, int | None], list[tuple[int, int]]] = defaultdict(list)
        for block in inp.blocked:
            self.blocks[block.therapist_id, block.location_id].append(
                (to_minute(block.start), ceil_minute(block.end))
            )
        self.therapist_busy: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(dict)
        self.patient_busy: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(dict)
        self.per_day: Counter[tuple[int, date]] = Counter()
        self.per_week: Counter[tuple[int, date]] = Counter()
        self.demanding: dict[int, Counter[date]] = defaultdict(Counter)
        self.item_days: dict[tuple[int, int], set[date]] = defaultdict(set)
        self._starts: dict[tuple[int, str, date, int], list[tuple[int, int]]] = {}
        for booking in inp.bookings:
            self.add_booking(booking)
        for req in inp.requests:
            for day in sorted(set(req.held) - self.item_days[req.patient_id, req.item_id]):
                self._count(req.patient_id, day, req.demanding)
                self.item_days[req.patient_id, req.item_id].add(day)

    def add_booking(self, booking: Booking) -> None:
        start, end = to_minute(booking.start), ceil_minute(booking.end)
        _add(self.therapist_busy[booking.therapist_id], start, end)
        info = self.infos.get(booking.patient_id)
        if info is None:
            return
        _add(self.patient_busy[booking.patient_id], start, end)
        day = local_date(info.zone, start)
        self._count(booking.patient_id, day, booking.demanding)
        if booking.item_id is not None:
            self.item_days[booking.patient_id, booking.item_id].add(day)

    def _count(self, patient_id: int, day: date, demanding: bool) -> None:
        self.per_day[patient_id, day] += 1
        self.per_week[patient_id, monday(day)] += 1
        if demanding:
            self.demanding[patient_id][day] += 1

    # where a therapist works

    def rows_on(self, therapist_id: int, zone: str, day: date) -> list[WeeklyHours]:
        return [
            row
            for row in self.rows.get(therapist_id, ())
            if row.zone == zone
            and row.weekday == day.weekday()
            and row.effective_from <= day
            and (row.effective_to is None or day <= row.effective_to)
            and row.starts < row.ends
        ]

    def starts_on(
        self, therapist_id: int, patient_zone: str, day: date, minutes: int
    ) -> list[tuple[int, int]]:
        """(start, location) of every grid start on a patient-local date, sorted; busy time not removed."""
        key = (therapist_id, patient_zone, day, minutes)
        found = self._starts.get(key)
        if found is None:
            low, high = day_bounds(patient_zone, day)
            best: dict[int, int] = {}
            for zone in self.zones.get(therapist_id, ()):
                for local in {local_date(zone, low), local_date(zone, high - 1)}:
                    for row in self.rows_on(therapist_id, zone, local):
                        opens, closes = wall(zone, local, row.starts), wall(zone, local, row.ends)
                        for start in range(opens, closes - minutes + 1, self.step):
                            if low <= start < high and start >= self.now:
                                best[start] = min(best.get(start, row.location_id), row.location_id)
            found = self._starts[key] = sorted(best.items())
        return found

    def free_pieces(self, therapist_id: int, zone: str, day: date) -> list[tuple[int, int, int, int]]:
        """(location, row start, free from, free until) pieces of a therapist's local date, from now on."""
        pieces = []
        for row in self.rows_on(therapist_id, zone, day):
            opens, closes = wall(zone, day, row.starts), wall(zone, day, row.ends)
            obstacles = self._blocked_over(therapist_id, row.location_id, opens, closes)
            obstacles += _overlapping(self.therapist_busy.get(therapist_id, {}), opens, closes)
            obstacles.append((opens, max(opens, min(self.now, closes))))
            cursor = opens
            for low, high in sorted(obstacles):
                if low > cursor:
                    pieces.append((row.location_id, opens, cursor, min(low, closes)))
                cursor = max(cursor, high)
            if cursor < closes:
                pieces.append((row.location_id, opens, cursor, closes))
        return pieces

    # what is free

    def _blocked_over(
        self, therapist_id: int, location_id: int, start: int, end: int
    ) -> list[tuple[int, int]]:
        return [
            (low, high)
            for key in ((None, None), (None, location_id), (therapist_id, None), (therapist_id, location_id))
            for low, high in self.blocks.get(key, ())
            if low < end and high > start
        ]

    def therapist_free(self, therapist_id: int, location_id: int, start: int, end: int) -> bool:
        return not _overlapping(
            self.therapist_busy.get(therapist_id, {}), start, end
        ) and not self._blocked_over(therapist_id, location_id, start, end)

    def patient_free(self, patient_id: int, start: int, end: int) -> bool:
        return not _overlapping(self.patient_busy.get(patient_id, {}), start, end)

    def pacing_ok(self, patient_id: int, day: date, demanding: bool) -> bool:
        pacing = self.infos[patient_id].pacing
        if self.per_day[patient_id, day] >= pacing.max_per_day:
            return False
        if self.per_week[patient_id, monday(day)] >= pacing.max_per_week:
            return False
        rest = pacing.min_rest_days_between_demanding
        if demanding and rest > 0:
            near = self.demanding[patient_id]
            return not any(near[day + timedelta(days=k)] for k in range(-rest, rest + 1))
        return True

    def day_ok(self, req: ItemRequest, day: date) -> bool:
        """The patient may have this item on this date: pacing and one session of an item a date."""
        return day not in self.item_days[req.patient_id, req.item_id] and self.pacing_ok(
            req.patient_id, day, req.demanding
        )

    def time_ok(self, req: ItemRequest, slot: Slot) -> bool:
        end = slot.start + req.minutes
        return self.patient_free(req.patient_id, slot.start, end) and self.therapist_free(
            slot.therapist_id, slot.location_id, slot.start, end
        )

    def slot_ok(self, req: ItemRequest, slot: Slot) -> bool:
        return self.day_ok(req, slot.day) and self.time_ok(req, slot)

    def first_slot(self, req: ItemRequest, days: Iterable[date], therapists: Sequence[int]) -> Slot | None:
        """The first feasible slot in time order over the given dates (ties: the therapists' order)."""
        zone = self.infos[req.patient_id].zone
        for day in days:
            if not self.day_ok(req, day):
                continue
            # Each therapist's starts are sorted already: merge them lazily, as most searches stop early.
            options = heapq.merge(
                *(
                    [
                        (start, rank, therapist_id, location)
                        for start, location in self.starts_on(therapist_id, zone, day, req.minutes)
                    ]
                    for rank, therapist_id in enumerate(therapists)
                )
            )
            for start, _, therapist_id, location in options:
                slot = Slot(therapist_id, location, start, day)
                if self.time_ok(req, slot):
                    return slot
        return None

    def book(self, req: ItemRequest, slot: Slot, window: DueWindow) -> Proposal:
        end = slot.start + req.minutes
        _add(self.therapist_busy[slot.therapist_id], slot.start, end)
        _add(self.patient_busy[req.patient_id], slot.start, end)
        self._count(req.patient_id, slot.day, req.demanding)
        self.item_days[req.patient_id, req.item_id].add(slot.day)
        return Proposal(
            item_id=req.item_id,
            patient_id=req.patient_id,
            therapist_id=slot.therapist_id,
            location_id=slot.location_id,
            start=from_minute(slot.start),
            end=from_minute(end),
            window=window,
        )


def _add(index: dict[int, list[tuple[int, int]]], start: int, end: int) -> None:
    for bucket in range(start // DAY_MINUTES, (end - 1) // DAY_MINUTES + 1):
        index.setdefault(bucket, []).append((start, end))


def _overlapping(index: dict[int, list[tuple[int, int]]], start: int, end: int) -> list[tuple[int, int]]:
    return [
        (low, high)
        for bucket in range(start // DAY_MINUTES, (end - 1) // DAY_MINUTES + 1)
        for low, high in index.get(bucket, ())
        if low < end and high > start
    ]


# --- the generator ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """One item of a template's first phase, parsed from its JSON definition."""

    discipline: str
    minutes: int
    rule: Cadence
    optional: bool


@cache
def first_phase_items() -> tuple[tuple[ItemSpec, ...], ...]:
    """Each template's first-phase items: what a plan in its first weeks asks for."""
    return tuple(
        tuple(
            ItemSpec(
                item["discipline"],
                int(item["minutes"]),
                cadence_of(item["cadence"]),
                bool(item.get("optional")),
            )
            for item in template["phases"][0]["items"]
        )
        for template in TEMPLATES
    )


@dataclass(frozen=True)
class Clinic:
    label: str
    inp: PlanningInput
    target_load: float
    load: float  # achieved: session-minutes the cadences ask for over the horizon / free therapist-minutes
    therapists: int
    day_minutes: dict[tuple[str, str], int]  # (zone, discipline) -> a therapist's average weekday


@dataclass(frozen=True)
class _Draft:
    """A patient before therapists exist: who they are and what their plan asks for."""

    info: PatientInfo
    items: tuple[ItemSpec, ...]
    phase_start: date
    held: tuple[tuple[date, ...], ...]


@dataclass(frozen=True)
class _Staff:
    """A therapist's draws, fixed before the working day's length is known."""

    therapist_id: int
    zone: str
    discipline: str
    opens: int  # preferred start, minutes after midnight
    split: bool  # New York only: Mon/Wed/Fri at one site, Tue/Thu at the other
    home: int  # location id
    shift_from: date | None  # hours move by an hour from this date (a new rota)


def make_clinic(
    seed: int, patients: int, therapists: int | None = None, weeks: int = 12, load: float = 0.85
) -> Clinic:
    """A deterministic synthetic clinic whose cadence demand is ``load`` times the therapists' free time.

    With ``therapists`` the count is fixed and their working day is scaled; without it the count follows
    from an 8-hour day. Either way each pool (zone x discipline) gets capacity in proportion to its own
    demand, so ``load`` is the load of every pool, not an average over idle and swamped ones.
    """
    rng = random.Random(seed)
    horizon_days = 7 * weeks
    drafts = [_draft_patient(rng, patient_id) for patient_id in range(1, patients + 1)]
    demand = _pool_demand(drafts, horizon_days)
    counts = _staff_counts(demand, therapists, load, horizon_days)
    staff = _draw_staff(rng, counts, horizon_days)
    blocked = _draw_blocked(rng, staff, horizon_days)
    day_minutes = {pool: _round_step(demand[pool] / load / (counts[pool] * 5 * weeks)) for pool in counts}
    # Time off, closures and outside appointments cut capacity: measure it with a guess at the day length
    # and rescale; twice, because the 15-minute rounding and part-time rotas make it not quite linear.
    for _ in range(2):
        hours = _hours(staff, day_minutes)
        free = _pool_free(staff, hours, blocked, (), horizon_days)
        day_minutes = {
            pool: _round_step(minutes * demand[pool] / load / (1 - ADHOC_SHARE) / max(free[pool], 1))
            for pool, minutes in day_minutes.items()
        }
    hours = _hours(staff, day_minutes)
    adhoc = _adhoc_bookings(rng, staff, hours, blocked, horizon_days)
    free = _pool_free(staff, hours, blocked, adhoc, horizon_days)
    requests = _requests(rng, drafts, staff, day_minutes)
    inp = PlanningInput(
        now=NOW,
        horizon_days=horizon_days,
        hours=hours,
        blocked=blocked,
        bookings=adhoc,
        patients=tuple(d.info for d in drafts),
        requests=requests,
        step_minutes=STEP,
    )
    inp = _seed_item_bookings(rng, inp)
    label = f"{patients} patients, {len(staff)} therapists, {weeks} wk"
    achieved = sum(demand.values()) / max(sum(free.values()), 1)
    return Clinic(label, inp, load, achieved, len(staff), day_minutes)


def _round_step(minutes: float) -> int:
    """An average working day on the 15-minute grid, up to 14 hours (a short one becomes part-time)."""
    return max(STEP, min(14 * 60, STEP * round(minutes / STEP)))


def _rota(day_minutes: int) -> tuple[tuple[int, ...], int]:
    """Weekdays and hours a day for an average day of ``day_minutes``: under 3 hours, fewer, longer days."""
    if day_minutes >= 180:
        return (0, 1, 2, 3, 4), day_minutes
    days = max(1, min(5, round(5 * day_minutes / 240)))
    return tuple(sorted((0, 2, 4, 1, 3)[:days])), _round_step(5 * day_minutes / days)


def _draft_patient(rng: random.Random, patient_id: int) -> _Draft:
    zone = NEW_YORK if rng.random() < ZONE_SHARE[NEW_YORK] else LONDON
    plan = rng.choices(first_phase_items(), weights=TEMPLATE_WEIGHTS)[0]
    items = tuple(item for item in plan if not item.optional or rng.random() < 0.6)
    today = local_date(zone, to_minute(NOW))
    phase_start = today - timedelta(days=rng.randint(0, 28))
    held = tuple(_history(rng, item.rule, phase_start, today) for item in items)
    # Pacing: varied, but never below what the plan needs each week (a plan the patient cannot keep is a
    # prescription problem, not a scheduling one).
    weekly_need = sum(
        -(-item.rule.min_sessions * 7 // item.rule.period_days)
        if isinstance(item.rule, CountPerPeriod)
        else 1
        for item in items
    )
    pacing = Pacing(
        max_per_day=1 if rng.random() < 0.7 else 2,
        min_rest_days_between_demanding=rng.choices((0, 1, 2), weights=(0.4, 0.4, 0.2))[0],
        max_per_week=max(rng.randint(2, 4), weekly_need),
    )
    weekdays = frozenset(rng.sample(range(5), rng.randint(2, 4))) if rng.random() < 0.5 else frozenset()
    earliest, latest = rng.choice(
        (
            (None, None),
            (None, None),
            (None, time(12)),
            (time(12), None),
            (time(9), time(15)),
            (time(15), None),
        )
    )
    info = PatientInfo(patient_id, zone, pacing, weekdays, earliest, latest)
    return _Draft(info, items, phase_start, held)


def _history(rng: random.Random, rule: Cadence, phase_start: date, today: date) -> tuple[date, ...]:
    """Held sessions since the phase started: near each ideal date, on weekdays, with the odd late one."""
    held: list[date] = []
    while True:
        cursor = held[-1] if held else phase_start
        window = next_due(rule, phase_start=phase_start, completed=held, booked=(), today=cursor).window
        if rng.random() < 0.1:
            day = window.latest + timedelta(days=rng.randint(1, 3))  # a lapse: the session came late
        else:
            day = min(
                max(window.ideal + timedelta(days=rng.choice((-1, 0, 0, 1))), window.earliest), window.latest
            )
        if held and day <= held[-1]:
            day = held[-1] + ONE_DAY
        if day.weekday() >= 5:  # the clinic is closed at weekends: the Friday before if possible, else Monday
            friday = day - timedelta(days=day.weekday() - 4)
            day = (
                friday
                if friday >= window.earliest and (not held or friday > held[-1])
                else monday(day) + timedelta(7)
            )
        if day >= today:
            return tuple(held)
        held.append(day)


def _pool_demand(drafts: list[_Draft], horizon_days: int) -> dict[tuple[str, str], float]:
    """Session-minutes each (zone, discipline) pool is asked for over the horizon, by the ideal chain."""
    demand: dict[tuple[str, str], float] = {}
    for draft in drafts:
        zone = draft.info.zone
        today = local_date(zone, to_minute(NOW))
        end = local_date(zone, ceil_minute(NOW) + horizon_days * DAY_MINUTES)
        for item, held in zip(draft.items, draft.held, strict=True):
            req = _request_stub(draft, item, held)
            windows = len(walk(req, today, end, (), assume_ideal=True))
            demand[zone, item.discipline] = demand.get((zone, item.discipline), 0.0) + windows * item.minutes
    return dict(sorted(demand.items()))


def _request_stub(draft: _Draft, item: ItemSpec, held: tuple[date, ...]) -> ItemRequest:
    return ItemRequest(0, draft.info.patient_id, item.rule, draft.phase_start, held, item.minutes, False, ())


def _staff_counts(
    demand: dict[tuple[str, str], float], therapists: int | None, load: float, horizon_days: int
) -> dict[tuple[str, str], int]:
    """Therapists per pool: from an 8-hour day, or a fixed total shared out to even out the working day."""
    weeks = horizon_days / 7
    need = {pool: minutes / load / (1 - ADHOC_SHARE) / (5 * weeks) for pool, minutes in demand.items()}
    if therapists is None:
        return {pool: max(1, round(per_day / STANDARD_DAY)) for pool, per_day in need.items()}
    if therapists < len(need):
        raise ValueError(f"{therapists} therapists cannot cover {len(need)} zone-discipline pools")
    counts = dict.fromkeys(need, 1)
    for _ in range(therapists - len(need)):  # each next therapist joins the pool with the longest day
        longest = max(need, key=lambda pool: (need[pool] / counts[pool], pool))
        counts[longest] += 1
    return counts


def _draw_staff(rng: random.Random, counts: dict[tuple[str, str], int], horizon_days: int) -> list[_Staff]:
    staff: list[_Staff] = []
    today = local_date(NEW_YORK, to_minute(NOW))
    for (zone, discipline), count in counts.items():
        for _ in range(count):
            split = zone == NEW_YORK and rng.random() < 0.3
            home = rng.choice((1, 2)) if zone == NEW_YORK else 3
            shift = rng.random() < 0.1
            staff.append(
                _Staff(
                    therapist_id=len(staff) + 1,
                    zone=zone,
                    discipline=discipline,
                    opens=rng.choice((8 * 60, 10 * 60)),
                    split=split,
                    home=home,
                    shift_from=monday(today + timedelta(days=horizon_days // 2)) if shift else None,
                )
            )
    return staff


def _hours(staff: list[_Staff], day_minutes: dict[tuple[str, str], int]) -> tuple[WeeklyHours, ...]:
    """Weekday rows (a short average day becomes fewer, longer days); a split therapist alternates New York
    sites; a new rota moves the hours by an hour from its date."""
    rows = []
    for person in staff:
        weekdays, length = _rota(day_minutes[person.zone, person.discipline])
        opens = max(6 * 60, min(person.opens, 21 * 60 - length))
        spans: list[tuple[date, date | None, int]] = [(_LONG_AGO, None, opens)]
        if person.shift_from is not None:
            later = opens + 60 if opens + 60 + length <= 22 * 60 else opens - 60
            spans = [(_LONG_AGO, person.shift_from - ONE_DAY, opens), (person.shift_from, None, later)]
        for weekday in weekdays:
            location = person.home
            if person.split:
                location = 1 if weekday in (0, 2, 4) else 2
            for first, last, start in spans:
                rows.append(
                    WeeklyHours(
                        therapist_id=person.therapist_id,
                        location_id=location,
                        zone=person.zone,
                        weekday=weekday,
                        starts=clock(start),
                        ends=clock(min(start + length, 24 * 60 - 1)),
                        effective_from=first,
                        effective_to=last,
                    )
                )
    return tuple(rows)


def _whole_days(zone: str, first: date, days: int) -> tuple[datetime, datetime]:
    return from_minute(wall(zone, first, time())), from_minute(
        wall(zone, first + timedelta(days=days), time())
    )


def _draw_blocked(rng: random.Random, staff: list[_Staff], horizon_days: int) -> tuple[Blocked, ...]:
    """A quarter of therapists take 1-3 days off; Easter closes London; one site and the clinic close briefly."""
    today = local_date(NEW_YORK, to_minute(NOW))
    blocked = []
    for person in staff:
        if rng.random() < 0.25:
            first = today + timedelta(days=rng.randint(1, horizon_days - 3))
            start, end = _whole_days(person.zone, first, rng.randint(1, 3))
            blocked.append(Blocked(person.therapist_id, None, start, end))
    for first, days, location in (
        (date(2026, 4, 3), 1, 3),
        (date(2026, 4, 6), 1, 3),
        (date(2026, 3, 26), 1, 2),
    ):
        start, end = _whole_days(LOCATIONS[location], first, days)
        blocked.append(Blocked(None, location, start, end))
    training = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
    blocked.append(Blocked(None, None, training, training + timedelta(hours=2)))
    return tuple(blocked)


def _pool_free(
    staff: list[_Staff],
    hours: tuple[WeeklyHours, ...],
    blocked: tuple[Blocked, ...],
    bookings: tuple[Booking, ...],
    horizon_days: int,
) -> dict[tuple[str, str], int]:
    """Free therapist-minutes per pool from now to the horizon: hours minus closures and outside bookings."""
    inp = PlanningInput(
        now=NOW,
        horizon_days=horizon_days,
        hours=hours,
        blocked=blocked,
        bookings=bookings,
        patients=(),
        requests=(),
    )
    calendar = Calendar(inp)
    free: dict[tuple[str, str], int] = defaultdict(int)
    for person in staff:
        for day in days_between(
            local_date(person.zone, calendar.now), horizon_end(inp, person.zone) - ONE_DAY
        ):
            for _, _, low, high in calendar.free_pieces(person.therapist_id, person.zone, day):
                free[person.zone, person.discipline] += high - low
    return dict(free)


def _adhoc_bookings(
    rng: random.Random,
    staff: list[_Staff],
    hours: tuple[WeeklyHours, ...],
    blocked: tuple[Blocked, ...],
    horizon_days: int,
) -> tuple[Booking, ...]:
    """Hour-long appointments of patients outside the plans, about ADHOC_SHARE of each therapist's time."""
    inp = PlanningInput(
        now=NOW,
        horizon_days=horizon_days,
        hours=hours,
        blocked=blocked,
        bookings=(),
        patients=(),
        requests=(),
    )
    calendar = Calendar(inp)
    bookings: list[Booking] = []
    for person in staff:
        for day in days_between(local_date(person.zone, calendar.now), horizon_end(inp, person.zone)):
            pieces = calendar.free_pieces(person.therapist_id, person.zone, day)
            worked = sum(high - low for *_, low, high in pieces)
            if not pieces or rng.random() >= ADHOC_SHARE * worked / 60:
                continue
            _, opens, low, high = rng.choice(pieces)
            starts = [s for s in range(opens, high - 60 + 1, STEP) if s >= low]
            if starts:
                start = rng.choice(starts)
                booking = Booking(
                    OUTSIDE_PATIENT + len(bookings),
                    person.therapist_id,
                    from_minute(start),
                    from_minute(start + 60),
                    False,
                    None,
                )
                calendar.add_booking(booking)
                bookings.append(booking)
    return tuple(bookings)


def _requests(
    rng: random.Random, drafts: list[_Draft], staff: list[_Staff], day_minutes: dict[tuple[str, str], int]
) -> tuple[ItemRequest, ...]:
    """Items with their qualified therapists: the pool, rotated per patient, the usual therapist first."""
    pools: dict[tuple[str, str], list[_Staff]] = defaultdict(list)
    for person in staff:
        pools[person.zone, person.discipline].append(person)
    requests = []
    for draft in drafts:
        for k, (item, held) in enumerate(zip(draft.items, draft.held, strict=True)):
            pool = pools[draft.info.zone, item.discipline]
            turn = draft.info.patient_id % len(pool)
            ids = [person.therapist_id for person in pool[turn:] + pool[:turn]]
            usual: int | None = None
            usual_time: time | None = None
            if held and rng.random() < 0.8:
                person = rng.choice(pool)
                usual = person.therapist_id
                ids.remove(usual)
                ids.insert(0, usual)
                if rng.random() < 0.5:
                    length = _rota(day_minutes[person.zone, person.discipline])[1]
                    opens = max(6 * 60, min(person.opens, 21 * 60 - length))
                    usual_time = clock(opens + 30 * rng.randrange(max(1, (length - item.minutes) // 30)))
            requests.append(
                ItemRequest(
                    item_id=draft.info.patient_id * 10 + k,
                    patient_id=draft.info.patient_id,
                    rule=item.rule,
                    phase_start=draft.phase_start,
                    held=held,
                    minutes=item.minutes,
                    demanding=item.discipline in DEMANDING,
                    therapist_ids=tuple(ids),
                    usual_therapist_id=usual,
                    usual_local_time=usual_time,
                )
            )
    return tuple(requests)


def _seed_item_bookings(rng: random.Random, inp: PlanningInput) -> PlanningInput:
    """About a third of items already have their next session booked in the coming ten days."""
    calendar = Calendar(inp)
    bookings = list(inp.bookings)
    for req in inp.requests:
        if rng.random() >= 0.35:
            continue
        zone = calendar.infos[req.patient_id].zone
        today = local_date(zone, calendar.now)
        steps = walk(req, today, today + timedelta(days=10), (), assume_ideal=True)
        if not steps:
            continue
        window = steps[0].window
        days = sorted(
            days_between(window.earliest, window.latest), key=lambda d: abs((d - window.ideal).days)
        )
        therapists = list(req.therapist_ids)
        rng.shuffle(therapists)
        for day in days:
            options = [
                Slot(t, location, start, day)
                for t in therapists
                for start, location in calendar.starts_on(t, zone, day, req.minutes)
            ]
            rng.shuffle(options)
            slot = next((s for s in options if calendar.slot_ok(req, s)), None)
            if slot is not None:
                p = calendar.book(req, slot, window)
                bookings.append(
                    Booking(req.patient_id, p.therapist_id, p.start, p.end, req.demanding, req.item_id)
                )
                break
    return PlanningInput(
        now=inp.now,
        horizon_days=inp.horizon_days,
        hours=inp.hours,
        blocked=inp.blocked,
        bookings=tuple(bookings),
        patients=inp.patients,
        requests=inp.requests,
        step_minutes=inp.step_minutes,
    )
