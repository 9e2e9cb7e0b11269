from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from clinic import services
from clinic.consent import patient_from_token
from clinic.health import health_report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report(timezone.now())
    return JsonResponse(report, status=200 if healthy else 503)


@never_cache
@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no session; the signed link is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Stop appointment emails. A GET asks; a POST (the button, or a mail provider's one-click) acts."""
    patient = patient_from_token(token)
    if patient is None:
        message = "This link is not complete or has been changed. Please use the link in your latest email."
        return render(request, "patient/problem.html", {"message": message}, status=400)
    if request.method == "GET" and not patient.reminders_opted_out:
        return render(request, "patient/unsubscribe.html", {"name": patient.display_name})
    if request.method == "POST":
        services.patient_opt_out(patient=patient, via="email link")
    return render(request, "patient/unsubscribed.html", {"name": patient.display_name})
