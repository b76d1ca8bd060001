# Finish the move from reviews: rename the table (a rename, no row is rewritten, so every hash
# still verifies) and hand the content type over, so the permission rows (view_audit_trail) keep
# their ids and every group or user that holds them keeps them.

from django.db import migrations


def move_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if content_types.objects.using(db).filter(app_label="audit", model="auditevent").exists():
        return
    content_types.objects.using(db).filter(app_label="reviews", model="auditevent").update(
        app_label="audit"
    )


def restore_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_types.objects.using(db).filter(app_label="audit", model="auditevent").update(
        app_label="reviews"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
        ("reviews", "0006_auditevent_moved_to_kyc"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="auditevent", table=None),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
