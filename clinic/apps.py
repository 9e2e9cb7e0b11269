from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.role_grants import CLINIC_GRANTS, declare_grants, sync_role_groups

        declare_grants(CLINIC_GRANTS)
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
