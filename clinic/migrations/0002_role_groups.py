"""Create the three role groups. Their permissions are kept in step after every migrate
(clinic.role_grants.sync_role_groups), because later apps' permissions do not exist yet here."""

from django.db import migrations

ROLE_NAMES = ("Front desk", "Therapist", "Clinic manager")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, remove_groups)]
