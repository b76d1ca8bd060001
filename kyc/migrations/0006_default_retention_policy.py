"""The one retention policy row, with the defaults (images kept 30 days after a decision)."""

from django.db import migrations


def create(apps, schema_editor):
    RetentionPolicy = apps.get_model("kyc", "RetentionPolicy")
    RetentionPolicy.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("kyc", "0005_retention_policy")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
