# The audit trail moved from the reviews app to kyc.audit (DESIGN §3). The table and every row
# stay as they are: this migration only tells Django's model state that the model now lives
# here, on the table reviews created; 0002 renames the table.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("reviews", "0005_dashboard_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("seq", models.PositiveBigIntegerField(unique=True)),
                        ("created_at", models.DateTimeField()),
                        ("actor_type", models.CharField(choices=[("user", "Staff user"), ("api_client", "API client"), ("system", "System")], max_length=12)),
                        ("actor_id", models.CharField(blank=True, max_length=64)),
                        ("actor_label", models.CharField(blank=True, max_length=150)),
                        ("event_type", models.CharField(max_length=60)),
                        ("subject_type", models.CharField(max_length=40)),
                        ("subject_id", models.CharField(max_length=64)),
                        ("params", models.JSONField(default=dict)),
                        ("prev_hash", models.CharField(max_length=64, unique=True)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                    ],
                    options={
                        "db_table": "reviews_auditevent",
                        "ordering": ["seq"],
                        "permissions": [("view_audit_trail", "Can view and export the audit trail")],
                        "indexes": [
                            models.Index(fields=["subject_type", "subject_id", "seq"], name="audit_subject"),
                            models.Index(fields=["event_type", "-created_at"], name="audit_type"),
                            models.Index(fields=["actor_type", "actor_id", "-created_at"], name="audit_actor"),
                            models.Index(fields=["-created_at"], name="audit_created"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
