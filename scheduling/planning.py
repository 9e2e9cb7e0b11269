"""The bridge between the database and the pure planner: build its input, run it, book what is accepted.

``planner.plan`` knows nothing of Django; everything it needs is read here in a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from careplans.cadence import DueWindow
from careplans.models import CadenceItem, CarePlan
from careplans.selectors import effective_cadence, with_plan_detail
from clinic import native
from clinic.models import Location, Patient, Therapist
from scheduling import planner
from scheduling.models import Appointment, ClinicClosure, PlanningRun, TimeOff, WorkingHours
from scheduling.services import BookingError, appointment_book, appointment_cancel

PROPOSAL_SALT = "scheduling.proposals"
LOOK_PAST_HORIZON_DAYS = 120
PROPOSALS_VALID_FOR = 3600  # seconds a reviewed set of proposals may wait before it must be redone


def planning_input(
    *,
    now: datetime,
    plans: QuerySet[CarePlan],
    horizon_days: int = 84,
    only_items: Iterable[int] | None = None,
    ignore_appointments: Iterable[int] = (),
    avoid: Iterable[Appointment] = (),
) -> planner.PlanningInput:
    """The planner's view of the clinic. ``avoid`` holds just-cancelled appointments: their times are not
    offered again as the replacement, with any therapist (the patient or the clinic has said that time does
    not work)."""
    loaded = list(with_plan_detail(plans.filter(status=CarePlan.Status.ACTIVE)))
    wanted = set(only_items) if only_items is not None else None
    ignored = set(ignore_appointments)
    # The planner may search a window that runs past the horizon and look 14 days beyond it for
    # alternatives: load whatever could clash with those slots too.
    horizon_end = now + timedelta(days=horizon_days + LOOK_PAST_HORIZON_DAYS)
    therapists = list(Therapist.objects.filter(is_active=True).prefetch_related("services"))
    by_service: dict[int, list[int]] = defaultdict(list)
    for therapist in sorted(therapists, key=lambda t: t.pk):
        for service in therapist.services.all():
            by_service[service.pk].append(therapist.pk)
    active = (
        Appointment.objects.filter(
            status__in=Appointment.ACTIVE, ends_at__gte=now - timedelta(days=14), starts_at__lt=horizon_end
        )
        .exclude(pk__in=ignored)
        .select_related("service", "location")
    )
    bookings, last_seen = [], {}
    for appointment in active.order_by("starts_at"):
        bookings.append(
            planner.Booking(
                appointment.patient_id,
                appointment.therapist_id,
                appointment.starts_at,
                appointment.ends_at,
                appointment.service.is_demanding,
                appointment.cadence_item_id,
            )
        )
        if appointment.cadence_item_id and appointment.starts_at <= now:
            last_seen[appointment.cadence_item_id] = appointment
    requests, patients = [], {}
    for plan in loaded:
        patient = plan.patient
        patients[patient.pk] = patient_info(patient)
        phase = plan.current_phase()
        if phase is None or phase.started_on is None:
            continue
        for item in phase.items.all():
            if wanted is not None and item.pk not in wanted:
                continue
            rule, in_flare = effective_cadence(item, plan)
            if rule is None:
                continue
            requests.append(
                item_request(
                    item, patient, rule, phase.started_on, in_flare, by_service, last_seen.get(item.pk)
                )
            )
    hours = [
        planner.WeeklyHours(
            h.therapist_id,
            h.location_id,
            h.location.time_zone,
            h.weekday,
            h.starts_at,
            h.ends_at,
            h.effective_from,
            h.effective_to,
        )
        for h in WorkingHours.objects.select_related("location").order_by("pk")
    ]
    blocked = [
        planner.Blocked(t.therapist_id, None, t.starts_at, t.ends_at)
        for t in TimeOff.objects.filter(ends_at__gt=now, starts_at__lt=horizon_end).order_by("pk")
    ]
    # The time itself, with every therapist: another therapist at the same hour is no answer to "that time
    # does not work". The cancel action plans only the cancelled items with it, so no one else loses that time.
    blocked += [planner.Blocked(None, None, a.starts_at, a.ends_at) for a in avoid]
    for closure in ClinicClosure.objects.select_related("location").filter(
        date__gte=now.date() - timedelta(days=1)
    ):
        zone = closure.location.zone
        start = datetime.combine(closure.date, time(0), tzinfo=zone)
        blocked.append(planner.Blocked(None, closure.location_id, start, start + timedelta(days=1)))
    return planner.PlanningInput(
        now=now,
        horizon_days=horizon_days,
        hours=tuple(hours),
        blocked=tuple(blocked),
        bookings=tuple(bookings),
        patients=tuple(patients.values()),
        requests=tuple(requests),
    )


def patient_info(patient: Patient) -> planner.PatientInfo:
    pacing = planner.Pacing(
        patient.max_sessions_per_day, patient.min_rest_days_between_demanding, patient.max_sessions_per_week
    )
    return planner.PatientInfo(
        patient.pk,
        patient.time_zone,
        pacing,
        frozenset(patient.preferred_weekdays or []),
        patient.preferred_earliest_time,
        patient.preferred_latest_time,
    )


def item_request(
    item: CadenceItem,
    patient: Patient,
    rule: Any,
    phase_start: Any,
    in_flare: bool,
    by_service: dict[int, list[int]],
    last: Appointment | None,
) -> planner.ItemRequest:
    qualified = by_service.get(item.service_id, [])
    preferred = [pk for pk in (item.preferred_therapist_id, patient.primary_therapist_id) if pk in qualified]
    ordered = tuple(dict.fromkeys([*preferred, *qualified]))
    minutes = item.flare_session_minutes if in_flare and item.flare_session_minutes else item.session_minutes
    return planner.ItemRequest(
        item_id=item.pk,
        patient_id=patient.pk,
        rule=rule,
        phase_start=phase_start,
        held=tuple(sorted(s.held_on for s in item.held_sessions.all())),
        minutes=minutes,
        demanding=item.service.is_demanding,
        therapist_ids=ordered,
        usual_therapist_id=last.therapist_id if last else item.preferred_therapist_id,
        usual_local_time=last.starts_at.astimezone(last.location.zone).time() if last else None,
    )


def propose(*, now: datetime, plans: QuerySet[CarePlan], **options: Any) -> planner.PlanResult:
    return plan(planning_input(now=now, plans=plans, **options))


# The sources the compiled planner this process imported was built from, read as it was imported.
_IMPORTED_BUILD = native.build_digest() if native.is_compiled(planner) else None


def plan(planner_input: planner.PlanningInput) -> planner.PlanResult:
    """The planner, refusing to run a compiled build older than its sources (see clinic/native.py)."""
    native.check_fresh(imported=_IMPORTED_BUILD)
    return planner.plan(planner_input)


def sign_proposals(proposals: Iterable[planner.Proposal], *, replaces: Iterable[int] = ()) -> str:
    """A tamper-proof copy of what the user reviewed: the proposals, and the appointments they replace."""
    rows = [
        [p.item_id, p.patient_id, p.therapist_id, p.location_id, p.start.isoformat(), p.end.isoformat()]
        for p in proposals
    ]
    return signing.dumps({"proposals": rows, "replaces": sorted(replaces)}, salt=PROPOSAL_SALT)


def unsign_proposals(
    token: str, *, max_age: int | None = PROPOSALS_VALID_FOR
) -> tuple[list[tuple[int, int, int, int, datetime, datetime]], list[int]]:
    try:
        payload = signing.loads(token, salt=PROPOSAL_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise BookingError("These proposals are more than an hour old; propose again.") from None
    except signing.BadSignature:
        raise BookingError("These proposals were altered or are incomplete; propose again.") from None
    rows = [
        (i, p, t, loc, datetime.fromisoformat(s), datetime.fromisoformat(e))
        for i, p, t, loc, s, e in payload["proposals"]
    ]
    return rows, list(payload["replaces"])


@transaction.atomic
def proposals_accept(*, token: str, by: Any) -> list[Appointment]:
    """Cancel what the proposals replace and book every proposal, in one transaction, or change nothing:
    the first refusal names the proposal and why."""
    rows, replaces = unsign_proposals(token)
    for appointment in Appointment.objects.filter(pk__in=replaces, status__in=Appointment.UPCOMING):
        appointment_cancel(appointment=appointment, by_patient=False, reason="Moved by the clinic")
    items = CadenceItem.objects.select_related("service", "phase__care_plan").in_bulk([r[0] for r in rows])
    patients = Patient.objects.in_bulk([r[1] for r in rows])
    therapists = Therapist.objects.select_related("user").in_bulk([r[2] for r in rows])
    locations = Location.objects.in_bulk([r[3] for r in rows])
    booked = []
    for item_id, patient_id, therapist_id, location_id, start, end in rows:
        item, patient = items.get(item_id), patients.get(patient_id)
        therapist, location = therapists.get(therapist_id), locations.get(location_id)
        if item is None or patient is None or therapist is None or location is None:
            raise BookingError("A proposal refers to something that no longer exists; propose again.")
        try:
            booked.append(
                appointment_book(
                    patient=patient,
                    therapist=therapist,
                    service=item.service,
                    location=location,
                    starts_at=start,
                    minutes=int((end - start).total_seconds() // 60),
                    cadence_item=item,
                    source=Appointment.Source.PLANNER,
                    booked_by=by,
                )
            )
        except BookingError as error:
            local = start.astimezone(location.zone)
            raise BookingError(
                f"{patient.display_name}, {local:%a %d %b %H:%M}: {error} Nothing was booked."
            ) from error
    return booked


# What a description needs of a proposal: item, patient, therapist and location ids, start, and its window
# (None for a signed proposal, which does not carry it).
_Described = tuple[int, int, int, int, datetime, DueWindow | None]


def describe_proposals(proposals: Iterable[planner.Proposal]) -> list[dict[str, Any]]:
    return _describe(
        [(p.item_id, p.patient_id, p.therapist_id, p.location_id, p.start, p.window) for p in proposals]
    )


def _describe(rows: list[_Described]) -> list[dict[str, Any]]:
    items = CadenceItem.objects.select_related("service").in_bulk({row[0] for row in rows})
    patients = Patient.objects.in_bulk({row[1] for row in rows})
    therapists = Therapist.objects.select_related("user").in_bulk({row[2] for row in rows})
    locations = Location.objects.in_bulk({row[3] for row in rows})
    described = []
    for item_id, patient_id, therapist_id, location_id, start, window in rows:
        location = locations[location_id]
        described.append(
            {
                "patient": patients[patient_id].display_name,
                "service": items[item_id].service.name,
                "therapist": therapists[therapist_id].display_name,
                "location": location.name,
                "start": start.astimezone(location.zone),
                "window": window,
            }
        )
    return described


def describe_misses(misses: Iterable[planner.Miss]) -> list[dict[str, Any]]:
    rows = list(misses)
    items = CadenceItem.objects.select_related("service").in_bulk({m.item_id for m in rows})
    patients = Patient.objects.in_bulk({m.patient_id for m in rows})
    # Every miss's alternatives described in one pass (four queries), then dealt back to their misses.
    described = iter(describe_proposals([alt for m in rows for alt in m.alternatives]))
    return [
        {
            "patient": patients[m.patient_id].display_name,
            "service": items[m.item_id].service.name,
            "window": m.window,
            "reason": m.reason,
            "alternatives": [next(described) for _ in m.alternatives],
        }
        for m in rows
    ]


def planning_run_start(*, by: Any, horizon_days: int = 84) -> PlanningRun:
    """Queue a whole-clinic planning run; the worker picks it up once this transaction commits."""
    from scheduling.tasks import plan_clinic

    run = PlanningRun.objects.create(
        requested_by=by if getattr(by, "is_authenticated", False) else None,
        horizon_days=horizon_days,
        stage="Waiting for a worker",
    )
    transaction.on_commit(lambda: plan_clinic.delay(run.pk))
    return run


def _progress(run_id: int, **fields: Any) -> None:
    PlanningRun.objects.filter(pk=run_id).update(**fields)


def planning_run_execute(*, run_id: int) -> None:
    """Plan the whole clinic for a run, reporting each stage. Claims the run with a conditional UPDATE so a
    redelivered task (or a second worker) never plans it twice."""
    claimed = PlanningRun.objects.filter(pk=run_id, status=PlanningRun.Status.QUEUED).update(
        status=PlanningRun.Status.RUNNING, progress=5, stage="Reading the clinic's plans, hours and bookings"
    )
    if not claimed:
        return
    run = PlanningRun.objects.get(pk=run_id)
    try:
        now = timezone.now()
        planner_input = planning_input(now=now, plans=CarePlan.objects.all(), horizon_days=run.horizon_days)
        _progress(run_id, progress=30, stage=f"Planning {len(planner_input.requests)} care-plan items")
        result = plan(planner_input)
        _progress(run_id, progress=90, stage="Preparing the proposals for review")
        summary = {
            "proposals": len(result.proposals),
            "misses": len(result.misses),
            "windows_total": result.windows_total,
            "windows_met": result.windows_met,
        }
        _progress(
            run_id,
            status=PlanningRun.Status.DONE,
            progress=100,
            stage="Ready to review",
            summary=summary,
            proposals_token=sign_proposals(result.proposals),
            finished_at=timezone.now(),
        )
    except Exception as error:  # a failed run says why on its page instead of spinning for ever
        _progress(
            run_id,
            status=PlanningRun.Status.FAILED,
            stage="Failed",
            error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now(),
        )
        raise


def describe_signed(token: str) -> list[dict[str, Any]]:
    """The proposals inside a signed token, in words (for a planning run's review page)."""
    if not token:
        return []
    rows, _ = unsign_proposals(token, max_age=None)  # shown whatever their age; booking still checks it
    return _describe(
        [
            (item, patient, therapist, location, start, None)
            for item, patient, therapist, location, start, _ in rows
        ]
    )
