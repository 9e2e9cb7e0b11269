"""Validators whose messages a clinic's staff can act on without knowing Django."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email

PHONE_ALLOWED = re.compile(r"^\+?[0-9 ()./-]+$")


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "“%(value)s” is not a time zone we know. Use a region and city, such as America/New_York.",
            params={"value": value},
            code="unknown_time_zone",
        ) from None


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones()) if "/" in name]


def validate_deliverable_email(value: str) -> None:
    """Refuse addresses that are well-formed but can never receive mail (example.invalid, name@localhost).

    No DNS look-up: the clinic may run offline, and a slow resolver must not block the front desk.
    """
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(
            "We cannot send email to “%(value)s”: %(reason)s",
            params={"value": value, "reason": str(error)},
            code="undeliverable_email",
        ) from None


def validate_phone(value: str) -> None:
    digits = re.sub(r"\D", "", value)
    if not PHONE_ALLOWED.match(value) or not 7 <= len(digits) <= 15:
        raise ValidationError(
            "“%(value)s” does not look like a phone number: use 7 to 15 digits, optionally with +, spaces "
            "or dashes.",
            params={"value": value},
            code="bad_phone",
        )
