"""Patient pages reached from email links: confirm or cancel one appointment, without an account.

A GET only shows the appointment and a button (mail scanners that follow links change nothing); the POST
acts. Every problem with a link gets a page in plain words and changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from scheduling import links, services
from scheduling.emails import context_for
from scheduling.models import Appointment
from scheduling.reminders import too_late_to_cancel_online
from scheduling.services import BookingError


def problem(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "patient/problem.html", {"message": message}, status=status)


def resolve_or_problem(request: HttpRequest, token: str, action: str) -> links.LinkTarget | HttpResponse:
    try:
        return links.resolve(token, action=action)
    except links.LinkProblem as error:
        gone = "expired" in str(error) or "moved" in str(error)
        return problem(request, str(error), status=410 if gone else 400)


def page(request: HttpRequest, target: links.LinkTarget, template: str, **extra: object) -> HttpResponse:
    context = context_for(target.appointment, now=timezone.now())
    return render(request, template, {**context, "appointment": target.appointment, **extra})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    target = resolve_or_problem(request, token, "confirm")
    if isinstance(target, HttpResponse):
        return target
    appointment = target.appointment
    if appointment.status == Appointment.Status.CONFIRMED:
        return page(
            request, target, "patient/done.html", headline="You have already confirmed. See you then!"
        )
    if appointment.status != Appointment.Status.BOOKED:
        return problem(
            request, "This appointment is no longer booked, so it cannot be confirmed.", status=409
        )
    if request.method == "GET":
        return page(request, target, "patient/confirm.html")
    try:
        services.appointment_confirm(appointment=appointment)
    except BookingError as error:  # its status changed a moment ago (cancelled by the clinic, say)
        return problem(request, str(error), status=409)
    return page(request, target, "patient/done.html", headline="Thank you, your appointment is confirmed.")


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    target = resolve_or_problem(request, token, "cancel")
    if isinstance(target, HttpResponse):
        return target
    appointment = target.appointment
    if appointment.status in (
        Appointment.Status.CANCELLED_BY_PATIENT,
        Appointment.Status.CANCELLED_BY_CLINIC,
    ):
        return page(request, target, "patient/done.html", headline="This appointment is already cancelled.")
    if too_late_to_cancel_online(appointment, now=timezone.now()):
        return page(request, target, "patient/call_us.html")
    if request.method == "GET":
        return page(request, target, "patient/cancel.html")
    try:
        services.appointment_cancel_by_patient(appointment=appointment)
    except services.TooLateToCancel:  # the window closed between the page and the press
        return page(request, target, "patient/call_us.html")
    except BookingError as error:
        return problem(request, str(error), status=409)
    return page(
        request, target, "patient/done.html", headline="Your appointment is cancelled.", cancelled=True
    )
