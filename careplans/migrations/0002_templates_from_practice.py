"""Ship the exercise library and the four care-plan templates from practice (editable afterwards)."""

from django.db import migrations


def load(apps, schema_editor):
    from careplans.template_library import load_library

    load_library(apps.get_model("careplans", "Exercise"), apps.get_model("careplans", "CarePlanTemplate"))


class Migration(migrations.Migration):
    dependencies = [("careplans", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
