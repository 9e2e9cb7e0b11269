from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.native import check_fresh
        from clinic.role_grants import CLINIC_GRANTS, declare_grants, sync_role_groups

        check_fresh()  # never plan with a compiled planner built from other sources than the ones on disk
        declare_grants(CLINIC_GRANTS)
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
