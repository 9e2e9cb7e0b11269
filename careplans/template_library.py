"""Care-plan templates from practice, shipped as data, and the check that keeps an edited one usable.

A definition is plain JSON so a manager can edit it in the admin:
    phases: [{name, starts, after_weeks?, after_sessions?, items: [item...]}]
    item: {discipline, minutes, cadence: {"per_period": [min, max, days]} | {"interval": [min_days, max_days]},
           optional?, note?, flare?: {cadence, minutes, note}}
    home_program: [{exercise, sets?, reps?, hold_seconds?, minutes?, times_per_day?, days_per_week?,
                    progression_percent_per_week?, progression_cap_percent?, notes?}]
    check_in: {every_days, local_time "HH:MM"} | null;  review_after_weeks: int | null
"""

from __future__ import annotations

from typing import Any

from careplans import cadence

PHASE_STARTS = {"plan_start", "after_weeks", "after_sessions", "on_review"}
DISCIPLINES = {"physical_therapy", "massage", "acupuncture", "exercise_therapy"}

GENTLE_PT = {
    "cadence": {"per_period": [1, 1, 7]},
    "minutes": 30,
    "note": "Gentle: relaxation, breathing, very light movement.",
}
GENTLE_MASSAGE = {
    "cadence": {"interval": [7, 14]},
    "minutes": 30,
    "note": "Gentle pressure, relaxation focus.",
}

EXERCISES = [
    (
        "Gentle full-body stretching",
        "stretching",
        "Slow stretches for neck, shoulders, back, hips and legs. Stretch only to mild tension, never pain; "
        "breathe out as you ease into each stretch.",
    ),
    (
        "Walking",
        "aerobic",
        "Walk at a pace where you can still talk. Add time only as your program says, not by how you feel today.",
    ),
    (
        "Diaphragmatic breathing",
        "breathing",
        "Lie or sit comfortably, one hand on your belly. Breathe in through your nose for 4, out for 6.",
    ),
    (
        "Heat pack",
        "heat_cold",
        "Warm (not hot) pack on the sore area for 15–20 minutes, with a cloth between pack and skin.",
    ),
    (
        "Cold pack",
        "heat_cold",
        "Wrapped cold pack for no more than 15 minutes, and no more often than every 2–3 hours.",
    ),
    (
        "Resistance band strength routine",
        "strength",
        "Rows, squats to a chair and bridges with a light band. Do these on days between your aerobic days.",
    ),
    ("Single-leg balance", "balance", "Stand near a counter, hold one foot off the floor, switch sides."),
]

TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "Fibromyalgia, PT-led",
        "condition": "Fibromyalgia",
        "description": "Physical therapy 1–2 sessions a week for 8 weeks, then a therapist's review, with a small "
        "home program (stretching, graded walking, breathing, heat). Source: clinic practice from the seed "
        "article on physical therapy for fibromyalgia; walking progression by pacing (Australian eTG: start "
        "near 80% of baseline, +10% a week); 2–4 home exercises for adherence (Bachmann 2018).",
        "review_after_weeks": 8,
        "check_in": {"every_days": 7, "local_time": "18:00"},
        "phases": [
            {
                "name": "Initial",
                "starts": "plan_start",
                "items": [
                    {
                        "discipline": "physical_therapy",
                        "minutes": 45,
                        "cadence": {"per_period": [1, 2, 7]},
                        "note": "Graded activity, posture, pacing education.",
                        "flare": GENTLE_PT,
                    },
                ],
            },
            {
                "name": "After review",
                "starts": "on_review",
                "items": [
                    {
                        "discipline": "physical_therapy",
                        "minutes": 45,
                        "cadence": {"per_period": [1, 1, 7]},
                        "flare": GENTLE_PT,
                    },
                ],
            },
        ],
        "home_program": [
            {
                "exercise": "Gentle full-body stretching",
                "minutes": 10,
                "times_per_day": 1,
                "days_per_week": 7,
            },
            {
                "exercise": "Walking",
                "minutes": 10,
                "days_per_week": 5,
                "progression_percent_per_week": 10,
                "progression_cap_percent": 300,
                "notes": "Start at 10 minutes; add 10% a week when tolerated.",
            },
            {"exercise": "Diaphragmatic breathing", "minutes": 5, "times_per_day": 2, "days_per_week": 7},
            {"exercise": "Heat pack", "minutes": 15, "days_per_week": 7, "notes": "15–20 minutes as needed."},
        ],
    },
    {
        "name": "Fibromyalgia, massage",
        "condition": "Fibromyalgia",
        "description": "30-minute therapeutic massage every 1–2 weeks for 6 weeks, timed to symptoms, then "
        "maintenance every 2–4 weeks alongside a home plan. Source: clinic practice from the seed article on "
        "massage therapy for fibromyalgia.",
        "review_after_weeks": 6,
        "check_in": {"every_days": 14, "local_time": "18:00"},
        "phases": [
            {
                "name": "Initial",
                "starts": "plan_start",
                "items": [
                    {
                        "discipline": "massage",
                        "minutes": 30,
                        "cadence": {"interval": [7, 14]},
                        "flare": GENTLE_MASSAGE,
                    },
                ],
            },
            {
                "name": "Maintenance",
                "starts": "after_weeks",
                "after_weeks": 6,
                "items": [
                    {
                        "discipline": "massage",
                        "minutes": 30,
                        "cadence": {"interval": [14, 28]},
                        "flare": GENTLE_MASSAGE,
                    },
                ],
            },
        ],
        "home_program": [
            {
                "exercise": "Gentle full-body stretching",
                "minutes": 10,
                "times_per_day": 1,
                "days_per_week": 7,
            },
            {"exercise": "Heat pack", "minutes": 15, "days_per_week": 7, "notes": "15–20 minutes as needed."},
        ],
    },
    {
        "name": "Chronic back pain, exercise therapy",
        "condition": "Chronic low back pain",
        "description": "Supervised exercise therapy twice a week; at home, strength on alternate days, daily "
        "stretching, heat 15–20 minutes and cold ≤15 minutes at most every 2–3 hours. Source: clinic practice; "
        "strength on days alternating with aerobic work and daily stretching (Mayo Clinic guide).",
        "review_after_weeks": 8,
        "check_in": {"every_days": 7, "local_time": "19:00"},
        "phases": [
            {
                "name": "Active rehabilitation",
                "starts": "plan_start",
                "items": [
                    {
                        "discipline": "exercise_therapy",
                        "minutes": 60,
                        "cadence": {"per_period": [2, 2, 7]},
                        "flare": {
                            "cadence": {"per_period": [1, 1, 7]},
                            "minutes": 30,
                            "note": "Gentle mobility and breathing only.",
                        },
                    },
                ],
            },
        ],
        "home_program": [
            {
                "exercise": "Resistance band strength routine",
                "sets": 2,
                "reps": 10,
                "days_per_week": 3,
                "progression_percent_per_week": 10,
                "progression_cap_percent": 200,
                "notes": "On alternate days, never two days running.",
            },
            {
                "exercise": "Gentle full-body stretching",
                "minutes": 10,
                "times_per_day": 1,
                "days_per_week": 7,
            },
            {"exercise": "Heat pack", "minutes": 15, "days_per_week": 7, "notes": "15–20 minutes."},
            {
                "exercise": "Cold pack",
                "minutes": 15,
                "days_per_week": 7,
                "notes": "No more than 15 minutes, at most every 2–3 hours.",
            },
        ],
    },
    {
        "name": "Multimodal fibromyalgia",
        "condition": "Fibromyalgia",
        "description": "Physical therapy 1–2 a week, massage every 1–2 weeks and optional weekly acupuncture for "
        "6 weeks, then PT every 2 weeks and massage every 2–4 weeks. Pacing: never PT, massage and acupuncture "
        "on three consecutive days; at most one demanding session a day. Source: clinic practice from the seed "
        "articles; acupuncture as an optional add-on (Spine Institute NY; EULAR 2016 rates it weak for), "
        "exercise as the core therapy (EULAR 2016 strong for).",
        "review_after_weeks": 12,
        "check_in": {"every_days": 7, "local_time": "18:00"},
        "phases": [
            {
                "name": "Initial",
                "starts": "plan_start",
                "items": [
                    {
                        "discipline": "physical_therapy",
                        "minutes": 45,
                        "cadence": {"per_period": [1, 2, 7]},
                        "flare": GENTLE_PT,
                    },
                    {
                        "discipline": "massage",
                        "minutes": 30,
                        "cadence": {"interval": [7, 14]},
                        "flare": GENTLE_MASSAGE,
                    },
                    {
                        "discipline": "acupuncture",
                        "minutes": 45,
                        "cadence": {"per_period": [1, 1, 7]},
                        "optional": True,
                    },
                ],
            },
            {
                "name": "Maintenance",
                "starts": "after_weeks",
                "after_weeks": 6,
                "items": [
                    {"discipline": "physical_therapy", "minutes": 45, "cadence": {"per_period": [1, 1, 14]}},
                    {"discipline": "massage", "minutes": 30, "cadence": {"interval": [14, 28]}},
                ],
            },
        ],
        "home_program": [
            {
                "exercise": "Walking",
                "minutes": 10,
                "days_per_week": 3,
                "progression_percent_per_week": 10,
                "progression_cap_percent": 300,
            },
            {
                "exercise": "Gentle full-body stretching",
                "minutes": 10,
                "times_per_day": 1,
                "days_per_week": 7,
            },
            {"exercise": "Diaphragmatic breathing", "minutes": 5, "times_per_day": 2, "days_per_week": 7},
        ],
    },
]


def cadence_of(spec: Any) -> cadence.Cadence:
    """``{"per_period": [1, 2, 7]}`` or ``{"interval": [7, 14]}`` -> the pure cadence value."""
    if isinstance(spec, dict) and len(spec) == 1:
        ((shape, values),) = spec.items()
        if shape == "per_period" and isinstance(values, list) and len(values) == 3:
            return cadence.CountPerPeriod(*(int(v) for v in values))
        if shape == "interval" and isinstance(values, list) and len(values) == 2:
            return cadence.Interval(*(int(v) for v in values))
    raise ValueError(
        f"{spec!r} is not a cadence; use {{'per_period': [1, 2, 7]}} or {{'interval': [7, 14]}}."
    )


def definition_problems(definition: Any) -> list[str]:
    """Every reason a template definition could not make a usable plan, in words a manager can act on."""
    if not isinstance(definition, dict):
        return ["The definition must be an object with phases and a home program."]
    problems: list[str] = []
    phases = definition.get("phases")
    if not isinstance(phases, list) or not phases:
        return ["The definition needs at least one phase."]
    for number, phase in enumerate(phases, start=1):
        label = f"Phase {number} ({phase.get('name', 'unnamed') if isinstance(phase, dict) else '?'})"
        if not isinstance(phase, dict) or not phase.get("name"):
            problems.append(f"{label} needs a name.")
            continue
        starts = phase.get("starts")
        if starts not in PHASE_STARTS:
            problems.append(f"{label}: 'starts' must be one of {', '.join(sorted(PHASE_STARTS))}.")
        if (number == 1) != (starts == "plan_start"):
            problems.append(
                f"{label}: only the first phase starts at plan start (phases run one after another)."
            )
        if starts == "after_weeks" and not (
            isinstance(phase.get("after_weeks"), int) and phase["after_weeks"] > 0
        ):
            problems.append(f"{label}: give 'after_weeks' as a whole number of weeks.")
        items = phase.get("items")
        if not isinstance(items, list) or not items:
            problems.append(f"{label} has no cadence items.")
            continue
        for item in items:
            problems.extend(f"{label}: {p}" for p in item_problems(item))
    for entry in definition.get("home_program") or []:
        if not isinstance(entry, dict) or not entry.get("exercise"):
            problems.append("Each home-program entry needs an 'exercise' name from the library.")
    return problems


def item_problems(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["an item must be an object."]
    problems = []
    if item.get("discipline") not in DISCIPLINES:
        problems.append(f"discipline must be one of {', '.join(sorted(DISCIPLINES))}.")
    if not isinstance(item.get("minutes"), int) or not 10 <= item["minutes"] <= 240:
        problems.append("minutes must be a whole number from 10 to 240.")
    for key, spec in (
        ("cadence", item.get("cadence")),
        ("flare cadence", (item.get("flare") or {}).get("cadence")),
    ):
        if spec is None and key == "flare cadence":
            continue
        try:
            problems.extend(f"{key}: {p}" for p in cadence.validate_cadence(cadence_of(spec)))
        except (ValueError, TypeError) as error:
            problems.append(f"{key}: {error}")
    return problems


def load_library(exercise_model: Any, template_model: Any) -> int:
    """Create missing exercises and templates. Takes the model classes so a migration can pass its own."""
    created = 0
    for name, category, instructions in EXERCISES:
        created += exercise_model.objects.get_or_create(
            name=name, defaults={"category": category, "instructions": instructions}
        )[1]
    for spec in TEMPLATES:
        definition = {k: v for k, v in spec.items() if k not in {"name", "condition", "description"}}
        created += template_model.objects.get_or_create(
            name=spec["name"],
            defaults={
                "condition": spec["condition"],
                "description": spec["description"],
                "definition": definition,
            },
        )[1]
    return created
