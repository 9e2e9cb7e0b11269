"""Bad care-plan input is refused in the clinic's words, and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from careplans import services
from careplans.models import CadenceItem, CarePlan, HeldSession, Phase
from careplans.services import CarePlanError
from careplans.tasks import advance_due_phases
from tests.careplans.support import plan_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(make_plan: Callable[..., CarePlan], therapist_user: User) -> CarePlan:
    return make_plan("Multimodal fibromyalgia", therapist_user, activate=False)


def unchanged(item: CadenceItem) -> tuple[Any, ...]:
    item.refresh_from_db()
    return (item.shape, item.min_sessions, item.max_sessions, item.period_days, item.min_days, item.max_days)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"min_sessions": 3, "max_sessions": 2},
            r"the minimum \(3 sessions\) is more than the maximum \(2\)",
        ),
        ({"period_days": 0}, "the period must be at least 1 day, not 0"),
        (
            {"shape": "interval", "min_days": 14, "max_days": 7},
            r"longest interval \(7 days\) is shorter than the shortest",
        ),
        ({"shape": "interval", "min_days": None, "max_days": None}, "give the minimum and maximum days"),
    ],
)
def test_an_impossible_cadence_is_refused_and_nothing_is_saved(
    draft: CarePlan, changes: dict[str, Any], message: str
) -> None:
    pt = plan_items(draft)[0]
    before = unchanged(pt)
    with pytest.raises(CarePlanError, match=message) as refused:
        services.cadence_item_update(item=pt, **changes)
    assert "Cadence" not in str(refused.value)  # words for people, not class names
    assert unchanged(pt) == before


def test_the_database_refuses_an_impossible_cadence_even_past_the_service(draft: CarePlan) -> None:
    pt = plan_items(draft)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        CadenceItem.objects.filter(pk=pt.pk).update(min_sessions=3, max_sessions=2)


def test_a_phase_waiting_for_sessions_of_its_own_items_could_never_start(draft: CarePlan) -> None:
    maintenance = draft.phases.get(name="Maintenance")
    maintenance.starts, maintenance.after_sessions = Phase.Starts.AFTER_SESSIONS, 6
    maintenance.after_sessions_of = maintenance.items.first()
    with pytest.raises(CarePlanError, match="could never start"):
        services.save_valid(maintenance)
    maintenance.refresh_from_db()
    assert maintenance.starts == Phase.Starts.AFTER_WEEKS


def test_activation_refuses_phases_that_would_overlap(draft: CarePlan) -> None:
    Phase.objects.filter(care_plan=draft, name="Maintenance").update(starts="plan_start", after_weeks=None)
    with pytest.raises(CarePlanError, match="both start at plan start, so they would overlap"):
        services.careplan_activate(plan=draft)
    draft.refresh_from_db()
    assert draft.status == CarePlan.Status.DRAFT
    assert not draft.phases.filter(started_on__isnull=False).exists()


def test_activation_refuses_a_plan_with_no_cadence_items(draft: CarePlan) -> None:
    CadenceItem.objects.filter(phase__care_plan=draft).delete()
    with pytest.raises(CarePlanError, match="no cadence items"):
        services.careplan_activate(plan=draft)
    draft.refresh_from_db()
    assert draft.status == CarePlan.Status.DRAFT


def test_a_later_phase_starting_no_later_than_the_one_before_is_refused(draft: CarePlan) -> None:
    initial = draft.phases.get(name="Initial")
    extra = Phase.objects.create(care_plan=draft, order=5, name="Taper", starts="after_weeks", after_weeks=4)
    CadenceItem.objects.create(phase=extra, service=plan_items(draft)[0].service, session_minutes=30,
                               shape="interval", min_days=28, max_days=42)  # fmt: skip
    with pytest.raises(CarePlanError, match="starts after 4 weeks, not after “Maintenance” \\(6 weeks\\)"):
        services.careplan_activate(plan=draft)
    assert initial.started_on is None


def test_a_review_date_before_the_start_is_refused(draft: CarePlan) -> None:
    draft.review_date = draft.start_date - timedelta(days=1)
    with pytest.raises(CarePlanError, match="review cannot be before the plan starts"):
        services.save_valid(draft)


def test_the_phase_advance_task_run_twice_advances_once(
    make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    six_weeks_ago = timezone.now().date() - timedelta(weeks=6, days=1)
    plan = make_plan("Fibromyalgia, massage", therapist_user, start=six_weeks_ago)
    assert advance_due_phases.apply().get() == 1
    assert advance_due_phases.apply().get() == 0
    maintenance = plan.phases.get(name="Maintenance")
    assert maintenance.started_on is not None
    assert maintenance.history.filter(history_type="~").count() == 1


def test_a_phase_waiting_for_sessions_starts_once_they_are_held(
    make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    plan = make_plan("Fibromyalgia, massage", therapist_user, activate=False)
    first_massage = plan.phases.get(name="Initial").items.get()
    Phase.objects.filter(care_plan=plan, name="Maintenance").update(
        starts="after_sessions", after_weeks=None, after_sessions=3, after_sessions_of=first_massage
    )
    plan = services.careplan_activate(plan=plan)
    for week in range(3):
        services.careplan_record_held_session(
            item=first_massage, held_on=plan.start_date + timedelta(weeks=week)
        )
        services.careplan_record_held_session(
            item=first_massage, held_on=plan.start_date + timedelta(weeks=week)
        )
    assert HeldSession.objects.filter(item=first_massage).count() == 3  # recording twice counts once
    assert services.careplans_advance_due_phases(now=_noon(plan.start_date + timedelta(weeks=2))) == 1


def test_a_cancelled_or_completed_plan_cannot_be_reactivated(
    make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    plan = make_plan("Fibromyalgia, massage", therapist_user)
    services.careplan_complete(plan=plan)
    with pytest.raises(CarePlanError, match="Only a draft or paused plan can be activated"):
        services.careplan_activate(plan=plan)
    assert services.careplan_complete(plan=plan).status == CarePlan.Status.COMPLETED  # repeating is harmless


def test_more_than_four_home_exercises_is_allowed_with_a_warning(draft: CarePlan) -> None:
    from careplans.models import Exercise, PrescribedExercise

    assert services.home_program_warnings(draft) == []
    for exercise in Exercise.objects.exclude(pk__in=draft.home_program.values("exercise"))[:2]:
        PrescribedExercise.objects.create(care_plan=draft, exercise=exercise, minutes=5)
    (warning,) = services.home_program_warnings(draft)
    assert "5 exercises" in warning
    assert "2–4" in warning


def test_a_template_needing_a_service_the_clinic_lacks_is_refused_clearly(
    make_plan: Callable[..., CarePlan], therapist_user: User, clinic_services: dict[str, Any]
) -> None:
    clinic_services["acupuncture"].delete()
    before = CarePlan.objects.count()
    with pytest.raises(CarePlanError, match="The clinic offers no acupuncture service yet"):
        make_plan("Multimodal fibromyalgia", therapist_user)
    assert CarePlan.objects.count() == before


def _noon(day: date) -> Any:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(12), tzinfo=ZoneInfo("America/New_York"))


def test_the_hourly_phase_task_reads_the_clinic_in_a_fixed_number_of_queries(
    make_plan: Callable[..., CarePlan], therapist_user: User, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    recent = timezone.now().date() - timedelta(days=3)  # nothing is due to advance
    make_plan("Fibromyalgia, massage", therapist_user, start=recent)
    with CaptureQueriesContext(connection) as one_plan:
        services.careplans_advance_due_phases(now=timezone.now())
    for template in (
        "Multimodal fibromyalgia",
        "Chronic back pain, exercise therapy",
        "Fibromyalgia, PT-led",
    ) * 3:
        make_plan(template, therapist_user, start=recent)
    with django_assert_max_num_queries(len(one_plan)):
        assert services.careplans_advance_due_phases(now=timezone.now()) == 0
