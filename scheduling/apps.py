from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from careplans.signals import care_plan_cancelled
        from clinic.messaging import register_renderer
        from clinic.role_grants import declare_grants
        from scheduling.emails import KINDS, preload, render_appointment_email
        from scheduling.services import careplan_cancel_with_bookings

        for kind in KINDS:
            register_renderer(kind, render_appointment_email, preload)
        care_plan_cancelled.connect(
            lambda sender, plan, **_: careplan_cancel_with_bookings(plan=plan),
            weak=False,
            dispatch_uid="scheduling",
        )
        from clinic.roles import Role

        availability = ["workinghours", "timeoff", "clinicclosure", "reminderpolicy"]
        declare_grants(
            {
                # Front desk runs the bookings; therapists see the calendar and their own patients' sessions.
                Role.FRONT_DESK: [
                    *(f"scheduling.view_{m}" for m in availability),
                    *(f"scheduling.{a}_appointment" for a in ("add", "change", "view")),
                ],
                Role.THERAPIST: [
                    *(f"scheduling.view_{m}" for m in availability),
                    "scheduling.view_appointment",
                    "scheduling.change_appointment",
                    "scheduling.add_timeoff",
                ],
                Role.MANAGER: [
                    f"scheduling.{a}_{m}"
                    for m in [*availability, "appointment"]
                    for a in ("add", "change", "delete", "view")
                ],
            }
        )
