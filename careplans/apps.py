from django.apps import AppConfig


class CareplansConfig(AppConfig):
    name = "careplans"
    verbose_name = "Care plans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.role_grants import declare_grants
        from clinic.roles import Role, register_patient_owner_lookup

        # The lead therapist of a patient's care plan treats that patient too.
        register_patient_owner_lookup("care_plans__lead_therapist")
        plan_models = ["careplan", "phase", "cadenceitem", "prescribedexercise", "checkinschedule"]
        declare_grants(
            {
                # Front desk: cadence and status to book by, never goals, notes or the home program.
                Role.FRONT_DESK: [
                    "careplans.view_careplan",
                    "careplans.view_phase",
                    "careplans.view_cadenceitem",
                ],
                Role.THERAPIST: [
                    *(
                        f"careplans.{action}_{model}"
                        for model in plan_models
                        for action in ("add", "change", "delete", "view")
                    ),
                    "careplans.view_exercise",
                    "careplans.add_exercise",
                    "careplans.view_careplantemplate",
                    "careplans.view_heldsession",
                ],
                Role.MANAGER: [
                    f"careplans.{action}_{model}"
                    for model in [*plan_models, "exercise", "careplantemplate", "heldsession"]
                    for action in ("add", "change", "delete", "view")
                ],
            }
        )
