# Photos are shown by reason (reviews.photo_access); this permission is the reason to see any
# pair's. No group is granted it: administrators are superusers, who hold every permission, and
# no role of reviews.roles.ROLES should see faces outside its own queue.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0007_auditors_export"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="reviewcase",
            options={
                "permissions": [
                    ("review_case", "Can take, view and decide review cases"),
                    (
                        "second_review",
                        "Can give second (four-eyes) reviews and handle escalations",
                    ),
                    (
                        "view_any_pair_photos",
                        "Can see the photos of any pair, whether or not it has a review case",
                    ),
                ]
            },
        ),
    ]
