"""Benchmark: our cadence planner against fixed recurrence, first-fit greedy and an OR-Tools CP-SAT model.

Every figure is a ratio against a baseline measured in the same run, on seeded synthetic clinics
(``bench/_clinics.py``). Every plan goes through one independent validator and one adherence metric (due
windows met, chained from the plan's own sessions), whoever produced it. Benchmarks are not tests: targets
are printed next to the figures, met or not.

``python -m bench.planner --quick`` (or ``BENCH_QUICK=1``) runs smaller clinics with a 10-second CP-SAT budget.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from bench._clinics import (
    Adherence,
    Calendar,
    Clinic,
    Slot,
    adherence,
    clip,
    days_between,
    from_minute,
    horizon_end,
    item_dates,
    local_date,
    make_clinic,
    monday,
    validate,
    walk,
    wall,
    zone_of,
)
from careplans.cadence import CountPerPeriod, DueWindow, Interval, next_due
from clinic import native
from scheduling import planner
from scheduling.planner import ItemRequest, PlanningInput, Proposal, plan

# --- sizes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    small_seeds: tuple[int, ...]
    small_patients: int
    small_weeks: int
    small_load: float
    small_limit: float  # a safety cap: small solves are meant to finish, proven optimal, well before it
    large_patients: int
    large_therapists: int
    large_weeks: int
    large_load: float
    large_limit: float
    sweep_patients: int
    sweep_weeks: int
    sweep_loads: tuple[float, ...] = (0.5, 0.7, 0.9, 0.95)
    workers: int = 2


FULL = Sizes((1, 2, 3), 100, 5, 0.9, 60.0, 2000, 50, 6, 0.85, 60.0, 400, 12)
QUICK = Sizes((1, 2, 3), 60, 4, 0.9, 10.0, 500, 13, 4, 0.85, 10.0, 150, 8)
LARGE_SEED = 7
SWEEP_SEED = 11
RATIO_LOAD = 0.9  # the sweep load at which ours is compared with fixed recurrence
OUR_ROUNDS = 3  # rounds of our planner on the large clinic and on the one twice its size


# --- algorithms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    proposals: Sequence[Proposal]
    seconds: float
    note: str = ""


def timed(run: Callable[[PlanningInput], Sequence[Proposal]], inp: PlanningInput) -> Outcome:
    started = time.perf_counter()
    proposals = run(inp)
    return Outcome(proposals, time.perf_counter() - started)


def _today_and_end(inp: PlanningInput, calendar: Calendar, req: ItemRequest) -> tuple[str, date, date]:
    zone = calendar.infos[req.patient_id].zone
    return zone, local_date(zone, calendar.now), horizon_end(inp, zone)


def first_fit(inp: PlanningInput) -> list[Proposal]:
    """The obvious algorithm: items in input order; each window takes its first feasible slot in time order."""
    calendar = Calendar(inp)
    booked = item_dates(inp, ())
    proposals: list[Proposal] = []
    for req in inp.requests:
        _, today, end = _today_and_end(inp, calendar, req)
        ahead = sorted(day for day in booked.get((req.patient_id, req.item_id), ()) if day >= today)
        done = set(req.held)
        while True:
            cursor = max(today, *done) if done else today
            state = next_due(
                req.rule, phase_start=req.phase_start, completed=sorted(done), booked=(), today=cursor
            )
            window = clip(state.window, today)
            if window.earliest >= end:
                break
            existing = [day for day in ahead if day <= window.latest and day not in done]
            if existing:  # an existing booking meets the window (or, too soon, still happens)
                done.add(existing[0])
                continue
            days = days_between(window.earliest, window.latest)
            slot = calendar.first_slot(req, days, req.therapist_ids)
            if slot is not None:
                proposals.append(calendar.book(req, slot, window))
                done.add(slot.day)
                continue
            free = [day for day in days if day not in done]
            if not free:
                break
            done.add(free[-1])  # missed: chain on as if it happened on the window's last free date
    return proposals


def fixed_recurrence(inp: PlanningInput) -> list[Proposal]:
    """What Jane, Cliniko and Cal.com offer: a series on the same weekday and local time every k weeks.

    k is 1 for a weekly count rule (``min_sessions`` series, on weekdays three days apart) and
    round(ideal interval / 7) for an interval rule. Each series starts at the first free slot from the date
    the item next falls due (its next window's first day, which for a plan without history is the phase
    start). An occurrence that is taken, closed or breaks pacing is skipped, not moved.
    """
    calendar = Calendar(inp)
    booked = item_dates(inp, ())
    proposals: list[Proposal] = []
    for req in inp.requests:
        zone, today, end = _today_and_end(inp, calendar, req)
        steps = walk(req, today, end, booked.get((req.patient_id, req.item_id), ()))
        first = next((step.window for step in steps if step.met_on is None), None)
        if first is None:
            continue
        if isinstance(req.rule, CountPerPeriod):
            every, series = max(1, req.rule.period_days // 7), req.rule.min_sessions
        else:
            every, series = max(1, round((req.rule.min_days + req.rule.max_days) // 2 / 7)), 1
        anchor = first.earliest
        for _ in range(series):
            slot = calendar.first_slot(
                req, days_between(anchor, anchor + timedelta(days=27)), req.therapist_ids
            )
            if slot is None:
                break
            proposals.append(calendar.book(req, slot, first))
            proposals += _occurrences(calendar, req, slot, every, end + timedelta(days=28), zone)
            anchor = slot.day + timedelta(days=3)
    return proposals


def _occurrences(
    calendar: Calendar, req: ItemRequest, slot: Slot, every: int, until: date, patient_zone: str
) -> list[Proposal]:
    """The rest of a series: same weekday and location-local time, skipped when not free."""
    location_zone = next(
        row.zone for row in calendar.rows[slot.therapist_id] if row.location_id == slot.location_id
    )
    local = from_minute(slot.start).astimezone(zone_of(location_zone))
    booked = []
    for week in range(every, 10_000, every):
        day = local.date() + timedelta(weeks=week)
        start = wall(location_zone, day, local.time())
        occurrence = Slot(slot.therapist_id, slot.location_id, start, local_date(patient_zone, start))
        if occurrence.day > until:
            break
        hours = calendar.starts_on(slot.therapist_id, patient_zone, occurrence.day, req.minutes)
        if (start, slot.location_id) in hours and calendar.slot_ok(req, occurrence):
            booked.append(
                calendar.book(req, occurrence, DueWindow(occurrence.day, occurrence.day, occurrence.day))
            )
    return booked


# --- CP-SAT -------------------------------------------------------------------------------------------------


@dataclass
class CpOutcome:
    proposals: list[Proposal]
    status: str
    windows: int  # decision windows (those no existing booking meets)
    variables: int
    model_met: int  # windows met in the model's own solution, on its fixed windows
    bound_met: int  # an upper bound on that, from the solver's objective bound
    dropped: int  # sessions the time-of-day pass could not place without a patient clash
    seconds: float


@dataclass
class _Window:
    req: ItemRequest
    window: DueWindow
    pool: tuple[int, ...]
    choices: dict[date, cp_model.IntVar] = field(default_factory=dict)


class _Model:
    """Day-level CP-SAT model: a boolean per (item window, date), times of day placed afterwards.

    Every pool of interchangeable therapists (a zone and a discipline) has one session length, so a pool's
    capacity on a date is exactly the number of back-to-back sessions that fit its free time on the grid;
    choosing dates within those counts is choosing slots, without a boolean per start time.
    """

    def __init__(self, inp: PlanningInput) -> None:
        self.inp = inp
        self.calendar = Calendar(inp)
        self.model = cp_model.CpModel()
        self.windows: list[_Window] = []
        self.links: list[tuple[_Window, _Window, Interval]] = []  # consecutive windows of an interval rule
        self.minutes = self._pools()
        self._capacity: dict[tuple[tuple[int, ...], date], int] = {}

    def _pools(self) -> dict[tuple[int, ...], int]:
        minutes: dict[tuple[int, ...], int] = {}
        owner: dict[int, tuple[int, ...]] = {}
        for req in self.inp.requests:
            pool = tuple(sorted(req.therapist_ids))
            if minutes.setdefault(pool, req.minutes) != req.minutes:
                raise ValueError(f"pool {pool} mixes session lengths; the day-level model needs one per pool")
            for therapist_id in pool:
                if owner.setdefault(therapist_id, pool) != pool:
                    raise ValueError(
                        f"therapist {therapist_id} is in two pools; the day-level model needs disjoint ones"
                    )
                if self.calendar.zones.get(therapist_id, []) not in (
                    [],
                    [self.calendar.infos[req.patient_id].zone],
                ):
                    raise ValueError("the day-level model needs patients and their therapists in one zone")
        return minutes

    def capacity(self, pool: tuple[int, ...], day: date) -> int:
        key = (pool, day)
        if key not in self._capacity:
            length, step, count = self.minutes[pool], self.calendar.step, 0
            for therapist_id in pool:
                for zone in self.calendar.zones.get(therapist_id, ()):
                    for _, opens, low, high in self.calendar.free_pieces(therapist_id, zone, day):
                        first = opens + -(-(low - opens) // step) * step
                        count += max(0, (high - first) // length)
            self._capacity[key] = count
        return self._capacity[key]

    def build(self) -> None:
        booked = item_dates(self.inp, ())
        for req in self.inp.requests:
            zone = self.calendar.infos[req.patient_id].zone
            today, end = local_date(zone, self.calendar.now), horizon_end(self.inp, zone)
            # The windows an ideal schedule would have: existing bookings meet theirs, the rest are decided here.
            previous: _Window | None = None
            for step in walk(
                req, today, end, booked.get((req.patient_id, req.item_id), ()), assume_ideal=True
            ):
                if step.met_on is not None:
                    previous = None
                    continue
                current = self._add_window(req, step.window)
                if previous is not None and isinstance(req.rule, Interval):
                    self.links.append((previous, current, req.rule))
                previous = current
        self._constrain()

    def _add_window(self, req: ItemRequest, window: DueWindow) -> _Window:
        entry = _Window(req, window, tuple(sorted(req.therapist_ids)))
        for day in days_between(window.earliest, window.latest):
            if self.capacity(entry.pool, day) > 0 and self.calendar.day_ok(req, day):
                entry.choices[day] = self.model.new_bool_var("")
        self.model.add_at_most_one(entry.choices.values())
        self.windows.append(entry)
        return entry

    def _constrain(self) -> None:
        calendar, model = self.calendar, self.model
        by_pool_day: dict[tuple[tuple[int, ...], date], list[cp_model.IntVar]] = defaultdict(list)
        by_patient_day: dict[tuple[int, date], list[cp_model.IntVar]] = defaultdict(list)
        by_patient_week: dict[tuple[int, date], list[cp_model.IntVar]] = defaultdict(list)
        by_item_day: dict[tuple[int, date], list[cp_model.IntVar]] = defaultdict(list)
        demanding: dict[int, dict[date, list[cp_model.IntVar]]] = defaultdict(lambda: defaultdict(list))
        for entry in self.windows:
            patient_id = entry.req.patient_id
            for day, var in entry.choices.items():
                by_pool_day[entry.pool, day].append(var)
                by_patient_day[patient_id, day].append(var)
                by_patient_week[patient_id, monday(day)].append(var)
                by_item_day[entry.req.item_id, day].append(var)
                if entry.req.demanding:
                    demanding[patient_id][day].append(var)
        for (pool, day), choices in by_pool_day.items():
            if len(choices) > self.capacity(pool, day):
                model.add(sum(choices) <= self.capacity(pool, day))
        for (patient_id, day), choices in by_patient_day.items():
            room = calendar.infos[patient_id].pacing.max_per_day - calendar.per_day[patient_id, day]
            if len(choices) > room:
                model.add(sum(choices) <= room)
        for (patient_id, week), choices in by_patient_week.items():
            room = calendar.infos[patient_id].pacing.max_per_week - calendar.per_week[patient_id, week]
            if len(choices) > room:
                model.add(sum(choices) <= room)
        for choices in by_item_day.values():
            if len(choices) > 1:
                model.add_at_most_one(choices)
        for patient_id, days in demanding.items():
            rest = calendar.infos[patient_id].pacing.min_rest_days_between_demanding
            if rest > 0:  # any rest + 1 consecutive dates hold at most one demanding session
                for first in sorted(days):
                    span = [v for k in range(rest + 1) for v in days.get(first + timedelta(days=k), ())]
                    if len(span) > 1:
                        model.add_at_most_one(span)
        for before, after, rule in self.links:
            self._link(before, after, rule)

    def _link(self, before: _Window, after: _Window, rule: Interval) -> None:
        """Consecutive sessions of an interval rule, when both happen, are min_days to max_days apart."""
        if not before.choices or not after.choices:
            return
        both = [self.model.new_bool_var(""), self.model.new_bool_var("")]
        for flag, entry in zip(both, (before, after), strict=True):
            self.model.add(sum(entry.choices.values()) == flag)
        gap = sum((day - before.window.earliest).days * var for day, var in after.choices.items()) - sum(
            (day - before.window.earliest).days * var for day, var in before.choices.items()
        )
        self.model.add(gap >= rule.min_days).only_enforce_if(both)
        self.model.add(gap <= rule.max_days).only_enforce_if(both)

    def objective(self) -> int:
        """Windows met first, then days from the ideal date; the weight keeps the order strict."""
        weight = 1 + sum(
            max((abs((day - e.window.ideal).days) for day in e.choices), default=0) for e in self.windows
        )
        self.model.maximize(
            sum(
                (weight - abs((day - entry.window.ideal).days)) * var
                for entry in self.windows
                for day, var in entry.choices.items()
            )
        )
        return weight


def cpsat(inp: PlanningInput, seconds: float, workers: int) -> CpOutcome:
    """Build the day-level model, solve it within ``seconds`` (building included), then place times of day."""
    started = time.perf_counter()
    model = _Model(inp)
    model.build()
    weight = model.objective()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(1.0, seconds - (time.perf_counter() - started))
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    # The LP-heavy search (linearization level 2, "max_lp") proves these assignment models optimal where the
    # default one stalls on a weak bound: measured, the large model is proven in about 45 s instead of ending
    # 15% short of its bound after 60 s. One worker is deterministic; with two, CP-SAT runs one full-problem
    # search beside its neighbourhood searches, so that one is made max_lp.
    if workers == 1:
        solver.parameters.linearization_level = 2
    else:
        solver.parameters.subsolvers.extend(["max_lp", "default_lp"])
    status = solver.solve(model.model)
    chosen: list[tuple[_Window, date]] = []
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = [
            (e, day) for e in model.windows for day, var in e.choices.items() if solver.boolean_value(var)
        ]
    proposals, dropped = _place(model, chosen)
    # Each met window scores weight minus its days off ideal, and all the days off sum to less than one
    # weight, so ceil(bound / weight) bounds the windows met.
    solved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    bound = math.ceil(solver.best_objective_bound / weight - 1e-9) if solved else 0
    return CpOutcome(
        proposals=proposals,
        status=solver.status_name(status),
        windows=len(model.windows),
        variables=sum(len(e.choices) for e in model.windows),
        model_met=len(chosen),
        bound_met=bound,
        dropped=dropped,
        seconds=time.perf_counter() - started,
    )


def _place(model: _Model, chosen: list[tuple[_Window, date]]) -> tuple[list[Proposal], int]:
    """Times of day for the chosen dates: each pool-day's back-to-back slots, avoiding patient clashes.

    Patients with two sessions that day go first, and each session takes the free slot closest to the
    patient's preferred hours. A session with no clash-free slot left is dropped (and counted).
    """
    calendar = model.calendar
    by_pool_day: dict[tuple[tuple[int, ...], date], list[_Window]] = defaultdict(list)
    sessions_on: dict[tuple[int, date], int] = defaultdict(int)
    for entry, day in chosen:
        by_pool_day[entry.pool, day].append(entry)
        sessions_on[entry.req.patient_id, day] += 1
    proposals: list[Proposal] = []
    dropped = 0
    for pool, day in sorted(by_pool_day, key=lambda key: (key[1], key[0])):
        length = model.minutes[pool]
        slots = sorted(
            (
                Slot(therapist_id, location, start, day)
                for therapist_id in pool
                for zone in calendar.zones.get(therapist_id, ())
                for location, opens, low, high in calendar.free_pieces(therapist_id, zone, day)
                for start in range(
                    opens + -(-(low - opens) // calendar.step) * calendar.step, high - length + 1, length
                )
            ),
            key=lambda slot: (slot.start, slot.therapist_id),
        )
        entries = sorted(
            by_pool_day[pool, day], key=lambda e: (-sessions_on[e.req.patient_id, day], e.req.item_id)
        )
        for entry in entries:
            fits = [slot for slot in slots if calendar.slot_ok(entry.req, slot)]
            if not fits:
                dropped += 1
                continue
            best = min(fits, key=lambda slot: (_outside_preference(calendar, entry.req, slot), slot.start))
            slots.remove(best)
            proposals.append(calendar.book(entry.req, best, entry.window))
    return proposals, dropped


def _outside_preference(calendar: Calendar, req: ItemRequest, slot: Slot) -> int:
    info = calendar.infos[req.patient_id]
    early = wall(info.zone, slot.day, info.earliest) if info.earliest is not None else slot.start
    late = wall(info.zone, slot.day, info.latest) - req.minutes if info.latest is not None else slot.start
    return max(0, early - slot.start) + max(0, slot.start - late)


# --- runs and reports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    instance: str
    algorithm: str
    score: Adherence
    seconds: float
    violations: int
    note: str = ""

    @property
    def valid(self) -> bool:
        return self.violations == 0

    @property
    def unmet(self) -> int:
        return self.score.total - self.score.met


def judge(instance: str, algorithm: str, inp: PlanningInput, outcome: Outcome) -> Row:
    problems = validate(inp, outcome.proposals)
    for problem in problems[:3]:
        print(f"   ! {algorithm} on {instance}: {problem}")
    return Row(
        instance, algorithm, adherence(inp, outcome.proposals), outcome.seconds, len(problems), outcome.note
    )


def describe(name: str, clinic: Clinic) -> None:
    inp = clinic.inp
    print(
        f"   {name}: {clinic.label}; load {clinic.load:.0%} (target {clinic.target_load:.0%}); "
        f"{len(inp.requests)} items, {len(inp.bookings)} existing bookings, {len(inp.blocked)} closures/time off"
    )


def print_table(rows: list[Row]) -> None:
    print(
        "   windows/met: due windows and those with a session, by one metric for all (cadence chained from each"
    )
    print(
        "   plan's sessions); days off: mean days from a met window's ideal date; figures only for valid plans."
    )
    head = f"   {'instance':<10} {'algorithm':<17} {'windows':>8} {'met':>7} {'adherence':>9} {'unmet':>6} {'days off':>8} {'time s':>8} {'violations':>10}  note"
    print(head)
    print("   " + "-" * (len(head) - 3))
    for r in rows:
        if r.valid:
            figures = f"{r.score.total:>8} {r.score.met:>7} {r.score.percent:>8.2f}% {r.unmet:>6} {r.score.off_ideal / max(r.score.met, 1):>8.2f}"
        else:
            figures = f"{'-':>8} {'-':>7} {'invalid':>9} {'-':>6} {'-':>8}"
        print(
            f"   {r.instance:<10} {r.algorithm:<17} {figures} {r.seconds:>8.2f} {r.violations:>10}  {r.note}"
        )


def ratio_line(
    label: str, value: float, valid: bool, shown: str, target: str, met: bool, detail: str
) -> None:
    verdict = ("met" if met else "NOT met") if valid else "n/a: a plan did not validate"
    print(f"   {label:<56} {shown:>8}   target {target:<8} {verdict:<8} ({detail})")


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else (1.0 if top == 0 else float("inf"))


def run_ours(inp: PlanningInput) -> Outcome:
    """Our planner, timed; the note keeps its own count of windows met, to set beside the metric's."""
    started = time.perf_counter()
    result = plan(inp)
    seconds = time.perf_counter() - started
    return Outcome(
        result.proposals, seconds, f"planner's own count: {result.windows_met}/{result.windows_total}"
    )


def run_small(sizes: Sizes) -> tuple[list[Row], list[tuple[Row, Row]]]:
    """A few small clinics where CP-SAT reaches its proven optimum; every algorithm on each."""
    rows: list[Row] = []
    pairs = []
    for seed in sizes.small_seeds:
        clinic = make_clinic(seed, sizes.small_patients, None, sizes.small_weeks, sizes.small_load)
        name = f"small-{seed}"
        describe(name, clinic)
        mine = judge(name, "ours", clinic.inp, run_ours(clinic.inp))
        rows += [
            mine,
            judge(name, "first-fit greedy", clinic.inp, timed(first_fit, clinic.inp)),
            judge(name, "fixed recurrence", clinic.inp, timed(fixed_recurrence, clinic.inp)),
        ]
        solved = cpsat(clinic.inp, sizes.small_limit, workers=1)  # one worker: the same optimum every run
        best = judge(name, "CP-SAT", clinic.inp, Outcome(solved.proposals, solved.seconds, _cp_note(solved)))
        rows.append(best)
        pairs.append((mine, best))
    return rows, pairs


def run_large(sizes: Sizes) -> tuple[list[Row], Row, Row, Row]:
    """The large clinic with every algorithm (CP-SAT on its time budget), and ours on one twice its size."""
    large = make_clinic(
        LARGE_SEED, sizes.large_patients, sizes.large_therapists, sizes.large_weeks, sizes.large_load
    )
    double = make_clinic(
        LARGE_SEED, 2 * sizes.large_patients, 2 * sizes.large_therapists, sizes.large_weeks, sizes.large_load
    )
    describe("large", large)
    describe("large-x2", double)
    # The best of three rounds, each timing both sizes in turn: a cold cache, a stray pause or a slow spell
    # of this shared machine then weighs on both sizes alike instead of deciding the scaling ratio.
    rounds = [(run_ours(large.inp), run_ours(double.inp)) for _ in range(OUR_ROUNDS)]
    mine = judge("large", "ours", large.inp, min((one for one, _ in rounds), key=_seconds))
    twice = judge("large-x2", "ours", double.inp, min((two for _, two in rounds), key=_seconds))
    solved = cpsat(large.inp, sizes.large_limit, sizes.workers)
    name = f"CP-SAT {sizes.large_limit:.0f}s"
    best = judge("large", name, large.inp, Outcome(solved.proposals, solved.seconds, _cp_note(solved)))
    rows = [
        mine,
        judge("large", "first-fit greedy", large.inp, timed(first_fit, large.inp)),
        judge("large", "fixed recurrence", large.inp, timed(fixed_recurrence, large.inp)),
        best,
        twice,
    ]
    return rows, mine, best, twice


def run_sweep(sizes: Sizes) -> list[tuple[Clinic, Row, Row, Row]]:
    """One mid-size clinic at rising load: ours, greedy and fixed recurrence."""
    sweep = []
    for load in sizes.sweep_loads:
        clinic = make_clinic(SWEEP_SEED, sizes.sweep_patients, None, sizes.sweep_weeks, load)
        name = f"load-{round(load * 100)}"
        describe(name, clinic)
        sweep.append(
            (
                clinic,
                judge(name, "ours", clinic.inp, run_ours(clinic.inp)),
                judge(name, "first-fit greedy", clinic.inp, timed(first_fit, clinic.inp)),
                judge(name, "fixed recurrence", clinic.inp, timed(fixed_recurrence, clinic.inp)),
            )
        )
    return sweep


def _seconds(outcome: Outcome) -> float:
    return outcome.seconds


def _cp_note(solved: CpOutcome) -> str:
    return (
        f"{solved.status.lower()}: {solved.model_met}/{solved.windows} of its fixed windows "
        f"(bound {solved.bound_met}), {solved.variables} vars, {solved.dropped} dropped"
    )


def main() -> None:
    native.check_fresh()
    quick = os.environ.get("BENCH_QUICK") == "1" or "--quick" in sys.argv[1:]
    sizes = QUICK if quick else FULL
    form = "compiled with mypyc" if native.is_compiled(planner) else "the .py files (no compiled build)"
    print(
        f"   Planner benchmark ({'quick' if quick else 'full'}): synthetic clinics, all seeded; our planner runs {form}"
    )
    small_rows, small = run_small(sizes)
    large_rows, large_ours, large_cp, double = run_large(sizes)
    sweep = run_sweep(sizes)
    print()
    print_table(small_rows + large_rows + [row for _, *trio in sweep for row in trio])
    print_sweep(sweep)
    print_ratios(small, large_ours, large_cp, double, sweep)


def print_sweep(sweep: list[tuple[Clinic, Row, Row, Row]]) -> None:
    print()
    print("   Load sweep (adherence %, mid-size clinic):")
    print(f"   {'load':>6} {'achieved':>9} {'ours':>8} {'greedy':>8} {'fixed':>8}")
    for clinic, *trio in sweep:
        cells = " ".join(f"{r.score.percent:>7.2f}%" if r.valid else f"{'invalid':>8}" for r in trio)
        print(f"   {clinic.target_load:>6.0%} {clinic.load:>9.1%} {cells}")


def print_ratios(
    small: list[tuple[Row, Row]],
    large_ours: Row,
    large_cp: Row,
    double: Row,
    sweep: list[tuple[Clinic, Row, Row, Row]],
) -> None:
    print()
    print("   Ratios (ours against baselines measured above):")
    valid = all(a.valid and b.valid for a, b in small)
    gap = _pooled(a.score for a, _ in small) - _pooled(b.score for _, b in small)
    seeds = ", ".join(f"{a.score.percent - b.score.percent:+.2f}" for a, b in small)
    ratio_line(
        "our adherence - CP-SAT optimum adherence, small (points)",
        gap,
        valid,
        f"{gap:+.2f}",
        ">= -0.5",
        gap >= -0.5,
        f"pooled over seeds; per seed {seeds}",
    )
    valid = large_ours.valid and large_cp.valid
    unmet = _ratio(large_ours.unmet, large_cp.unmet)
    ratio_line(
        "our unmet / CP-SAT unmet, large",
        unmet,
        valid,
        f"{unmet:.3f}",
        "<= 1.05",
        unmet <= 1.05,
        f"{large_ours.unmet} / {large_cp.unmet}",
    )
    speed = _ratio(large_cp.seconds, large_ours.seconds)
    ratio_line(
        "CP-SAT time / our time, large",
        speed,
        valid,
        f"{speed:.1f}",
        ">= 100",
        speed >= 100,
        f"{large_cp.seconds:.1f} s / {large_ours.seconds:.2f} s",
    )
    for clinic, mine, _, fixed in sweep:
        if abs(clinic.target_load - RATIO_LOAD) < 1e-9:
            misses = _ratio(mine.unmet, fixed.unmet)
            ratio_line(
                f"our misses / fixed-recurrence misses, {RATIO_LOAD:.0%} load",
                misses,
                mine.valid and fixed.valid,
                f"{misses:.3f}",
                "<= 0.2",
                misses <= 0.2,
                f"{mine.unmet} / {fixed.unmet}",
            )
    scale = _ratio(double.seconds, large_ours.seconds)
    ratio_line(
        "our time at 2x patients (and therapists) / our time",
        scale,
        double.valid,
        f"{scale:.2f}",
        "<= 2.2",
        scale <= 2.2,
        f"{double.seconds:.2f} s / {large_ours.seconds:.2f} s",
    )


def _pooled(scores: Iterable[Adherence]) -> float:
    met = total = 0
    for score in scores:
        met, total = met + score.met, total + score.total
    return 100.0 * met / total if total else 100.0


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    django.setup()
    main()
