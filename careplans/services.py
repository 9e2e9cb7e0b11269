"""Every write to a care plan. Errors are ``CarePlanError`` with a message for the therapist."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from careplans import cadence
from careplans.models import (
    CadenceItem,
    CadenceShape,
    CarePlan,
    CarePlanTemplate,
    CheckInSchedule,
    Exercise,
    HeldSession,
    Phase,
    PrescribedExercise,
)
from careplans.signals import care_plan_cancelled
from careplans.template_library import cadence_of, definition_problems, load_library
from clinic.models import Patient, Service, Therapist

HOME_PROGRAM_ADVISED_MAX = 4  # adherence falls with more (Bachmann 2018)


class CarePlanError(Exception):
    """A care-plan change the clinic's rules refuse; the message says why in the clinic's words."""


def validation_message(error: ValidationError) -> str:
    return " ".join(error.messages)


def cadence_columns(spec: Any, prefix: str = "") -> dict[str, Any]:
    rule = cadence_of(spec)
    if isinstance(rule, cadence.CountPerPeriod):
        return {
            f"{prefix}shape": CadenceShape.PER_PERIOD,
            f"{prefix}min_sessions": rule.min_sessions,
            f"{prefix}max_sessions": rule.max_sessions,
            f"{prefix}period_days": rule.period_days,
        }
    return {
        f"{prefix}shape": CadenceShape.INTERVAL,
        f"{prefix}min_days": rule.min_days,
        f"{prefix}max_days": rule.max_days,
    }


def service_for(discipline: str) -> Service:
    service = Service.objects.filter(discipline=discipline).order_by("name").first()
    if service is None:
        label = discipline.replace("_", " ")
        raise CarePlanError(f"The clinic offers no {label} service yet; add one before using this template.")
    return service


@transaction.atomic
def careplan_create_from_template(
    *, patient: Patient, template: CarePlanTemplate, therapist: Therapist, start: date
) -> CarePlan:
    """A draft plan copied from the template, for the therapist to edit and then activate."""
    problems = definition_problems(template.definition)
    if problems:
        raise CarePlanError(f"The template “{template}” cannot be used: {' '.join(problems)}")
    definition = template.definition
    review_weeks = definition.get("review_after_weeks")
    plan = CarePlan(
        patient=patient,
        lead_therapist=therapist,
        title=template.name,
        condition=template.condition,
        notes=template.description,
        start_date=start,
        review_date=start + timedelta(weeks=review_weeks) if review_weeks else None,
        template=template,
    )
    save_valid(plan)
    for order, spec in enumerate(definition["phases"]):
        phase = Phase(
            care_plan=plan,
            order=order,
            name=spec["name"],
            starts=spec["starts"],
            after_weeks=spec.get("after_weeks"),
            after_sessions=spec.get("after_sessions"),
        )
        save_valid(phase)
        for item in spec["items"]:
            flare = item.get("flare") or {}
            save_valid(
                CadenceItem(
                    phase=phase,
                    service=service_for(item["discipline"]),
                    preferred_therapist=therapist
                    if therapist.services.filter(discipline=item["discipline"]).exists()
                    else None,
                    session_minutes=item["minutes"],
                    is_optional=bool(item.get("optional")),
                    note=item.get("note", ""),
                    flare_session_minutes=flare.get("minutes"),
                    flare_note=flare.get("note", ""),
                    **cadence_columns(item["cadence"]),
                    **(cadence_columns(flare["cadence"], "flare_") if flare.get("cadence") else {}),
                )
            )
    for entry in definition.get("home_program") or []:
        fields = {k: v for k, v in entry.items() if k != "exercise"}
        try:
            exercise = Exercise.objects.get(name=entry["exercise"])
        except Exercise.DoesNotExist:
            raise CarePlanError(f"The exercise “{entry['exercise']}” is not in the library.") from None
        save_valid(PrescribedExercise(care_plan=plan, exercise=exercise, **fields))
    if check_in := definition.get("check_in"):
        save_valid(
            CheckInSchedule(
                care_plan=plan,
                every_days=check_in["every_days"],
                local_time=time.fromisoformat(check_in["local_time"]),
            )
        )
    return plan


def save_valid(instance: Any) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        raise CarePlanError(validation_message(error)) from error
    instance.save()


@transaction.atomic
def cadence_item_update(*, item: CadenceItem, **changes: Any) -> CadenceItem:
    """Change an item's fields; refused whole (nothing saved) when the result is not a usable cadence."""
    for name, value in changes.items():
        if not hasattr(item, name) or name in {"id", "phase", "phase_id"}:
            raise CarePlanError(f"“{name}” is not something you can change on a cadence item.")
        setattr(item, name, value)
    save_valid(item)
    return item


def phase_problems(plan: CarePlan) -> list[str]:
    """Why the plan's phases could not run one after another, starting at plan start."""
    phases = list(plan.phases.order_by("order").prefetch_related("items"))
    if not phases:
        return ["The plan has no phases."]
    problems = []
    if not any(p.items.all() for p in phases):
        problems.append("The plan has no cadence items: add at least one session to schedule.")
    if phases[0].starts != Phase.Starts.AT_PLAN_START:
        problems.append(
            f"The first phase, “{phases[0]}”, must start at plan start, or nothing runs at first."
        )
    for phase in phases[1:]:
        if phase.starts == Phase.Starts.AT_PLAN_START:
            problems.append(f"“{phases[0]}” and “{phase}” both start at plan start, so they would overlap.")
    weeks = [(p, p.after_weeks) for p in phases if p.starts == Phase.Starts.AFTER_WEEKS]
    for (earlier, a), (later, b) in pairwise(weeks):
        if a is not None and b is not None and b <= a:
            problems.append(
                f"“{later}” starts after {b} weeks, not after “{earlier}” ({a} weeks): they would overlap."
            )
    for phase in phases:
        try:
            phase.full_clean()
        except ValidationError as error:
            problems.append(f"“{phase}”: {validation_message(error)}")
        if not phase.items.all():
            problems.append(f"The phase “{phase}” has no cadence items.")
    return problems


@transaction.atomic
def careplan_activate(*, plan: CarePlan) -> CarePlan:
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (CarePlan.Status.DRAFT, CarePlan.Status.PAUSED):
        raise CarePlanError(
            f"Only a draft or paused plan can be activated; this one is {plan.get_status_display().lower()}."
        )
    if plan.status == CarePlan.Status.DRAFT:
        problems = phase_problems(plan)
        if problems:
            raise CarePlanError("The plan cannot start yet. " + " ".join(problems))
        first = plan.phases.order_by("order").first()
        assert first is not None  # phase_problems refuses a plan without phases
        first.started_on = plan.start_date
        first.save(update_fields=["started_on"])
    plan.status = CarePlan.Status.ACTIVE
    plan.save(update_fields=["status"])
    return plan


def _change_status(plan: CarePlan, *, to: str, allowed_from: Collection[str]) -> CarePlan:
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == to:
        return plan  # already there: a repeated click or task changes nothing
    if plan.status not in allowed_from:
        raise CarePlanError(
            f"A {plan.get_status_display().lower()} plan cannot be {CarePlan.Status(to).label.lower()}."
        )
    plan.status = to
    plan.save(update_fields=["status"])
    return plan


@transaction.atomic
def careplan_pause(*, plan: CarePlan) -> CarePlan:
    return _change_status(plan, to=CarePlan.Status.PAUSED, allowed_from={CarePlan.Status.ACTIVE})


@transaction.atomic
def careplan_complete(*, plan: CarePlan) -> CarePlan:
    active = {CarePlan.Status.ACTIVE, CarePlan.Status.PAUSED}
    return _change_status(plan, to=CarePlan.Status.COMPLETED, allowed_from=active)


@transaction.atomic
def careplan_cancel(*, plan: CarePlan) -> CarePlan:
    open_states = {CarePlan.Status.DRAFT, CarePlan.Status.ACTIVE, CarePlan.Status.PAUSED}
    plan = _change_status(plan, to=CarePlan.Status.CANCELLED, allowed_from=open_states)
    care_plan_cancelled.send(sender=CarePlan, plan=plan)
    return plan


@transaction.atomic
def careplan_advance_phase(*, plan: CarePlan, on: date) -> Phase:
    """Start the next phase now (a therapist's decision, or a rule that has been met)."""
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != CarePlan.Status.ACTIVE:
        raise CarePlanError("Only an active plan moves to its next phase.")
    following = next_phase(plan)
    if following is None:
        raise CarePlanError("This plan is already in its last phase.")
    current = plan.current_phase()
    if current and current.started_on and on < current.started_on:
        raise CarePlanError(f"The next phase cannot start before “{current}” began ({current.started_on}).")
    following.started_on = on
    following.save(update_fields=["started_on"])
    return following


def next_phase(plan: CarePlan) -> Phase | None:
    """The phase after the current one; reads prefetched phases when they are there (the hourly task)."""
    current = plan.current_phase()
    later = [p for p in plan.phases.all() if p.order > (current.order if current else -1)]
    return min(later, key=lambda p: p.order, default=None)


def rule_met(phase: Phase, plan: CarePlan, today: date) -> bool:
    if phase.starts == Phase.Starts.AFTER_WEEKS and phase.after_weeks:
        return today >= plan.start_date + timedelta(weeks=phase.after_weeks)
    if phase.starts == Phase.Starts.AFTER_SESSIONS and phase.after_sessions and phase.after_sessions_of_id:
        held = HeldSession.objects.filter(item_id=phase.after_sessions_of_id, held_on__lte=today).count()
        return held >= phase.after_sessions
    return False  # plan start is handled by activation; a review needs a therapist


def careplans_advance_due_phases(*, now: datetime) -> int:
    """Advance every active plan whose next phase's rule is met (in the patient's own calendar).

    Safe to run any number of times: a phase that has started is no longer "next", so a second run finds
    nothing to do. Each plan advances in its own transaction, so one bad plan cannot block the rest.
    """
    advanced = 0
    plans = CarePlan.objects.filter(status=CarePlan.Status.ACTIVE).select_related("patient")
    for plan in plans.prefetch_related("phases"):
        today = now.astimezone(plan.patient.zone).date()
        following = next_phase(plan)
        if following is not None and rule_met(following, plan, today):
            careplan_advance_phase(plan=plan, on=today)
            advanced += 1
    return advanced


@transaction.atomic
def careplan_record_held_session(
    *, item: CadenceItem, held_on: date, appointment_ref: str = ""
) -> HeldSession:
    """Record that a session took place (called by scheduling when an appointment is completed). Idempotent."""
    session, _ = HeldSession.objects.get_or_create(
        item=item, held_on=held_on, defaults={"appointment_ref": appointment_ref}
    )
    return session


def home_program_warnings(plan: CarePlan) -> list[str]:
    count = plan.home_program.count()
    if count > HOME_PROGRAM_ADVISED_MAX:
        return [
            f"The home program has {count} exercises. Adherence is better with 2–4 (Bachmann 2018); "
            "consider keeping only the most important."
        ]
    return []


@transaction.atomic
def templates_load() -> int:
    """Create the library exercises and shipped templates that are missing; never overwrite an edited one."""
    return load_library(Exercise, CarePlanTemplate)
