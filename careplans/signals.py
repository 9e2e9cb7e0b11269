"""Announcements from care plans that higher apps react to (careplans never imports them)."""

from django.dispatch import Signal

# Sent inside the cancelling transaction with ``plan``: scheduling cancels the plan's upcoming bookings.
care_plan_cancelled = Signal()
