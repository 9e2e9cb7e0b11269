"""Each template from practice, lived day by day for 12 weeks by a patient who comes when a session is
ideally due: phases change when the template says, and no item is ever overdue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from careplans import selectors, services
from careplans.cadence import CadenceStatus
from careplans.models import CarePlan

PLAN_START = date(2026, 1, 5)

pytestmark = pytest.mark.django_db

# template -> the phase each of the 12 weeks runs in (week 1 first)
PHASE_BY_WEEK = {
    "Fibromyalgia, PT-led": ["Initial"] * 12,  # the review phase waits for a therapist
    "Fibromyalgia, massage": ["Initial"] * 6 + ["Maintenance"] * 6,
    "Chronic back pain, exercise therapy": ["Active rehabilitation"] * 12,
    "Multimodal fibromyalgia": ["Initial"] * 6 + ["Maintenance"] * 6,
}
# template -> (service, sessions held over the 12 weeks)
SESSIONS_HELD = {
    "Fibromyalgia, PT-led": {"Physical therapy": 12},
    "Fibromyalgia, massage": {"Therapeutic massage": 5 + 2},
    "Chronic back pain, exercise therapy": {"Exercise therapy": 24},
    "Multimodal fibromyalgia": {"Physical therapy": 6 + 3, "Therapeutic massage": 5 + 2, "Acupuncture": 6},
}


def live_twelve_weeks(plan: CarePlan) -> tuple[list[str], dict[str, list[date]], list[str]]:
    zone = ZoneInfo(plan.patient.time_zone)
    phases: list[str] = []
    held: dict[str, list[date]] = {}
    problems: list[str] = []
    for day in range(84):
        today = PLAN_START + timedelta(days=day)
        services.careplans_advance_due_phases(now=datetime.combine(today, time(9), tzinfo=zone))
        plan = selectors.with_plan_detail(CarePlan.objects.filter(pk=plan.pk)).get()
        if day % 7 == 0:
            current = plan.current_phase()
            assert current is not None
            phases.append(current.name)
        for status in selectors.item_statuses(plan, today=today):
            if status.state.status == CadenceStatus.OVERDUE:
                problems.append(f"{today} {status.item}: overdue")
            if status.state.status == CadenceStatus.DUE and status.state.window.ideal <= today:
                services.careplan_record_held_session(item=status.item, held_on=today)
                held.setdefault(status.item.service.name, []).append(today)
    return phases, held, problems


@pytest.mark.parametrize("template", sorted(PHASE_BY_WEEK))
def test_a_patient_who_comes_when_due_is_never_overdue_over_twelve_weeks(
    template: str, make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    phases, held, problems = live_twelve_weeks(make_plan(template, therapist_user))
    assert problems == []
    assert phases == PHASE_BY_WEEK[template]
    assert {service: len(days) for service, days in held.items()} == SESSIONS_HELD[template]


def test_massage_sessions_keep_their_gaps_in_each_phase(
    make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    _, held, _ = live_twelve_weeks(make_plan("Fibromyalgia, massage", therapist_user))
    days = [(d - PLAN_START).days for d in held["Therapeutic massage"]]
    initial = [d for d in days if d < 42]
    maintenance = [d for d in days if d >= 42]
    assert all(7 <= b - a <= 14 for a, b in pairwise(initial))
    assert maintenance[0] == 42  # maintenance starts with a session on its first day
    assert all(14 <= b - a <= 28 for a, b in pairwise(maintenance))
