# AuditEvent now lives in kyc.audit (DESIGN §3). State only: the table and its rows are handed
# over untouched (kyc.audit 0001 takes the model, its 0002 renames the table).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("reviews", "0005_dashboard_indexes"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
