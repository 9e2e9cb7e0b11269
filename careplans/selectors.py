"""Reads of care plans that admin pages, tasks and scheduling reuse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet

from careplans import cadence
from careplans.models import CadenceItem, CarePlan, Phase

STATUS_LABELS = {
    cadence.CadenceStatus.ON_TRACK: "On track",
    cadence.CadenceStatus.DUE: "Due",
    cadence.CadenceStatus.OVERDUE: "Overdue",
    cadence.CadenceStatus.UNSCHEDULED: "Unscheduled",
}


@dataclass(frozen=True)
class ItemStatus:
    item: CadenceItem
    rule: cadence.Cadence
    state: cadence.CadenceState
    in_flare: bool

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state.status]


def with_plan_detail(plans: QuerySet[CarePlan]) -> QuerySet[CarePlan]:
    """Everything the plan page and the compliance views show, in a fixed number of queries."""
    items = CadenceItem.objects.select_related("service", "preferred_therapist__user").prefetch_related(
        "held_sessions"
    )
    return plans.select_related("patient", "lead_therapist__user").prefetch_related(
        Prefetch(
            "phases", queryset=Phase.objects.order_by("order").prefetch_related(Prefetch("items", items))
        )
    )


def effective_cadence(item: CadenceItem, plan: CarePlan) -> tuple[cadence.Cadence | None, bool]:
    """The rule in force: the flare variant while the plan is in flare and the item has one."""
    flare_rule = item.flare_cadence() if plan.in_flare else None
    if flare_rule is not None:
        return flare_rule, True
    return item.as_cadence(), False


def item_statuses(
    plan: CarePlan, *, today: date, booked: Mapping[int, Sequence[date]] | None = None
) -> list[ItemStatus]:
    """Due window and status of every item in the plan's current phase.

    ``booked`` maps item id -> dates of booked sessions; scheduling passes them in (careplans knows only
    the sessions that were held).
    """
    phase = plan.current_phase()
    if phase is None or phase.started_on is None:
        return []
    statuses = []
    for item in phase.items.all():
        rule, in_flare = effective_cadence(item, plan)
        if rule is None or cadence.validate_cadence(rule):
            continue
        held = [s.held_on for s in item.held_sessions.all()]
        state = cadence.next_due(
            rule,
            phase_start=phase.started_on,
            completed=held,
            booked=(booked or {}).get(item.pk, ()),
            today=today,
        )
        statuses.append(ItemStatus(item=item, rule=rule, state=state, in_flare=in_flare))
    return statuses


def cadence_summary(item: CadenceItem, *, rule: cadence.Cadence | None = None, in_flare: bool = False) -> str:
    """One line a therapist reads at a glance: "1–2× per week · 45 min Physical therapy with Dana Lee"."""
    rule = rule or item.as_cadence()
    minutes = item.flare_session_minutes if in_flare and item.flare_session_minutes else item.session_minutes
    parts: list[Any] = [
        cadence.describe(rule) if rule else "no cadence",
        f"{minutes} min {item.service.name}",
    ]
    line = " · ".join(parts)
    if item.preferred_therapist:
        line += f" with {item.preferred_therapist.display_name}"
    if item.is_optional:
        line += " (optional)"
    if in_flare:
        line += " — flare variant"
    return line


@dataclass(frozen=True)
class PlanChange:
    at: Any
    who: str
    what: str
    action: str
    fields: list[str]


def plan_change_log(plan: CarePlan, *, limit: int = 25) -> list[PlanChange]:
    """Recent changes to the plan, its phases, items, home program and check-ins: who, when, what."""
    from careplans.models import CheckInSchedule, PrescribedExercise

    sources: list[tuple[str, Any]] = [
        ("Plan", plan.history.all()),
        ("Phase", Phase.history.filter(care_plan_id=plan.pk)),
        ("Item", CadenceItem.history.filter(phase_id__in=plan.phases.values("pk"))),
        ("Home program", PrescribedExercise.history.filter(care_plan_id=plan.pk)),
        ("Check-ins", CheckInSchedule.history.filter(care_plan_id=plan.pk)),
    ]
    records = []
    for label, history in sources:
        for record in history.select_related("history_user").order_by("-history_date")[:limit]:
            records.append((label, record))
    records.sort(key=lambda pair: pair[1].history_date, reverse=True)
    changes = []
    actions = {"+": "created", "~": "changed", "-": "deleted"}
    for label, record in records[:limit]:
        fields: list[str] = []
        if record.history_type == "~" and record.prev_record is not None:
            fields = sorted(c.field for c in record.diff_against(record.prev_record).changes)
        user = record.history_user
        who = (user.get_full_name() or user.get_username()) if user else "the system"
        changes.append(
            PlanChange(
                record.history_date, who, f"{label}: {record.instance}", actions[record.history_type], fields
            )
        )
    return changes
