"""Seed the handbook's SLA table (see supportdesk/slas/defaults.py)."""

from django.db import migrations

from supportdesk.slas.defaults import seed


def forwards(apps, schema_editor):
    seed(
        *(
            apps.get_model("slas", name)
            for name in ("Calendar", "CalendarVersion", "SlaPolicy", "SlaTarget")
        )
    )


def unseed(apps, schema_editor):
    apps.get_model("slas", "SlaPolicy").objects.filter(kind__in=["self_hosted", "managed"]).delete()
    apps.get_model("slas", "Calendar").objects.filter(slug__in=["business-hours", "24x7"]).delete()


class Migration(migrations.Migration):
    dependencies = [("slas", "0001_initial")]

    operations = [migrations.RunPython(forwards, unseed)]
