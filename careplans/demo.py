"""Demo care plans: an active plan from every template, with a believable (imperfect) history."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from careplans import cadence, services
from careplans.models import CarePlan, CarePlanTemplate
from clinic.models import Discipline, Patient

TEMPLATE_BY_DISCIPLINE = {
    Discipline.PHYSICAL_THERAPY: ["Fibromyalgia, PT-led", "Multimodal fibromyalgia"],
    Discipline.MASSAGE: ["Fibromyalgia, massage"],
    Discipline.EXERCISE_THERAPY: ["Chronic back pain, exercise therapy"],
    Discipline.ACUPUNCTURE: ["Multimodal fibromyalgia"],
}
PLANNED_PATIENTS = 30
MISSED_SESSION_CHANCE = 0.15


def load_care_plans(*, now: datetime) -> int:
    """Give the first patients of each therapist an active plan; patients who have one are left alone."""
    services.templates_load()
    templates = {t.name: t for t in CarePlanTemplate.objects.all()}
    rng = random.Random(7)
    created = 0
    patients = Patient.objects.select_related("primary_therapist__user").order_by("pk")[:PLANNED_PATIENTS]
    for number, patient in enumerate(patients):
        therapist = patient.primary_therapist
        weeks_ago, missed = rng.randint(1, 9), rng.random()
        if therapist is None or CarePlan.objects.filter(patient=patient).exists():
            continue
        disciplines = sorted(therapist.services.values_list("discipline", flat=True))
        names = TEMPLATE_BY_DISCIPLINE[Discipline(disciplines[number % len(disciplines)])]
        today = now.astimezone(patient.zone).date()
        start = today - timedelta(weeks=weeks_ago)
        plan = services.careplan_create_from_template(
            patient=patient, template=templates[names[number % len(names)]], therapist=therapist, start=start
        )
        services.careplan_activate(plan=plan)
        held_history(plan, today=today, rng=random.Random(number), missed=missed)
        created += 1
    services.careplans_advance_due_phases(now=now)
    return created


def held_history(plan: CarePlan, *, today: date, rng: random.Random, missed: float) -> None:
    """Sessions held on their ideal dates, with some missed (more for some patients), so the clinic has
    patients on track, due and overdue."""
    phase = plan.phases.order_by("order").first()
    if phase is None or phase.started_on is None:
        return
    for item in phase.items.all():
        rule = item.as_cadence()
        if rule is None:
            continue
        for window in cadence.due_windows_over(
            rule, phase_start=phase.started_on, until=today - timedelta(days=1)
        ):
            if window.ideal < today and rng.random() > MISSED_SESSION_CHANCE * (1 + 2 * missed):
                services.careplan_record_held_session(item=item, held_on=window.ideal, appointment_ref="demo")
