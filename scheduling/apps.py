from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.role_grants import declare_grants
        from clinic.roles import Role

        declare_grants(
            {
                Role.FRONT_DESK: ["scheduling.view_workinghours"],
                Role.THERAPIST: ["scheduling.view_workinghours"],
                Role.MANAGER: [
                    f"scheduling.{action}_workinghours" for action in ("add", "change", "delete", "view")
                ],
            }
        )
