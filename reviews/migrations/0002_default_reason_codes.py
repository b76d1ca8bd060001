from django.db import migrations

REASON_CODES = {
    "approve": [("same_person", "Same person, confirmed by eye")],
    "reject": [
        ("different_person", "Different person"),
        ("presentation_attack", "Photo of a photo, screen or mask"),
        ("reference_mismatch", "Reference photo does not belong to the applicant"),
    ],
    "resubmit": [
        ("poor_quality", "Too dark, blurred or low resolution"),
        ("face_not_visible", "Face covered, cropped or turned away"),
        ("wrong_image", "Wrong image uploaded"),
    ],
    "escalate": [
        ("needs_senior", "Needs a senior reviewer's judgement"),
        ("possible_fraud", "Possible fraud pattern"),
    ],
}


def create(apps, schema_editor):
    ReasonCode = apps.get_model("reviews", "ReasonCode")
    for outcome, codes in REASON_CODES.items():
        for position, (code, label) in enumerate(codes):
            ReasonCode.objects.get_or_create(
                outcome=outcome, code=code, defaults={"label": label, "position": position}
            )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
