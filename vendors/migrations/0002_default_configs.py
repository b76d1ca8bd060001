"""One VendorConfig row per backend with its documented starting thresholds (DESIGN §6).

Only the local engine starts enabled: it needs no account, so a fresh install works at once.
"""

from django.db import migrations

DEFAULTS = {
    "advance": {"approve_at": 70, "reject_below": 55, "priority": 10},
    "finauth": {
        "approve_at": 80,
        "reject_below": 60,
        "priority": 20,
        "review_risk_tags": ["is_age_risk", "is_gender_risk"],
    },
    "zoloz": {"approve_at": 80, "reject_below": 50, "priority": 30},
    "alibaba": {"approve_at": 80, "reject_below": 50, "priority": 40},
    "local": {"approve_at": 70, "reject_below": 60, "priority": 90, "enabled": True},
}


def create(apps, schema_editor):
    VendorConfig = apps.get_model("vendors", "VendorConfig")
    for backend, values in DEFAULTS.items():
        VendorConfig.objects.get_or_create(backend=backend, defaults=values)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
