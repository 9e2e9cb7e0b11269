"""No therapist and no patient in two active appointments at once, enforced by PostgreSQL itself.

An exclusion constraint over (therapist, time range) and (patient, time range) for active statuses. SQLite
has no such constraint; there the booking service checks inside an IMMEDIATE transaction instead.
"""

from django.db import migrations

ACTIVE = "('booked', 'confirmed', 'completed', 'no_show')"
CONSTRAINTS = {
    "appointment_no_therapist_double_booking": "therapist_id",
    "appointment_no_patient_double_booking": "patient_id",
}


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN {ACTIVE})"
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_appointment_clinicclosure_timeoff")]
    operations = [migrations.RunPython(add_constraints, drop_constraints)]
