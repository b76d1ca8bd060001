# Auditors export decisions and download evidence packs (the README's permission table). A group
# made by an earlier `bootstrap_roles` gets the permission here; new ones get it from ROLES.

from django.db import migrations


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(db).filter(name="Auditors").first()
    permission = (
        apps.get_model("auth", "Permission")
        .objects.using(db)
        .filter(content_type__app_label="kyc", codename="export_decisions")
        .first()
    )
    if group is not None and permission is not None:
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0006_auditevent_moved_to_kyc"),
        ("kyc", "0008_dashboard_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
