# Senior reviewers manage the face blocklist (README's roles table). A group made by an earlier
# `bootstrap_roles` gets the permission here (created now: post_migrate would come too late);
# new groups get it from reviews.roles.ROLES.

from django.db import migrations


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(db).filter(name="Senior reviewers").first()
    if group is None:
        return
    content_type, _ = (
        apps.get_model("contenttypes", "ContentType")
        .objects.using(db)
        .get_or_create(app_label="known_faces", model="blocklistentry")
    )
    permission, _ = (
        apps.get_model("auth", "Permission")
        .objects.using(db)
        .get_or_create(
            content_type=content_type,
            codename="manage_blocklist",
            defaults={"name": "Can put faces on and off the face blocklist"},
        )
    )
    group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("known_faces", "0001_known_faces"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
