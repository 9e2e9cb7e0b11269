"""Helpers shared by the care-plan tests."""

from __future__ import annotations

from typing import Any

from careplans.models import CarePlan


def plan_items(plan: CarePlan) -> list[Any]:
    return [item for phase in plan.phases.order_by("order") for item in phase.items.all()]
