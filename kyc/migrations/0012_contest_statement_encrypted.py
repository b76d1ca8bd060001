"""Contest statements are encrypted at rest like the photos (kyc.crypto): the applicant's own words
are personal data. Existing statements are encrypted in place and the clear-text column dropped;
their fingerprints become keyed (kyc.services.contests.fingerprint), erased ones' are blanked."""

from django.db import migrations, models
from django.utils.crypto import salted_hmac


def encrypt_statements(apps, schema_editor):
    from kyc import crypto

    PairContest = apps.get_model("kyc", "PairContest")
    # An erased statement's plain hash was left behind by the erasure: it goes too.
    PairContest.objects.filter(statement_erased_at__isnull=False).update(request_fingerprint="")
    for contest in PairContest.objects.filter(statement_erased_at__isnull=True).iterator():
        text = contest.statement
        contest.statement_encrypted = crypto.encrypt(text.encode()) if text else b""
        contest.statement_chars = len(text)
        contest.request_fingerprint = salted_hmac(
            "kyc.contest-statement", text, algorithm="sha256"
        ).hexdigest()
        contest.save(
            update_fields=["statement_encrypted", "statement_chars", "request_fingerprint"]
        )


def decrypt_statements(apps, schema_editor):
    from kyc import crypto

    PairContest = apps.get_model("kyc", "PairContest")
    for contest in PairContest.objects.exclude(statement_encrypted=b"").iterator():
        contest.statement = crypto.decrypt(bytes(contest.statement_encrypted)).decode()
        contest.save(update_fields=["statement"])


class Migration(migrations.Migration):
    dependencies = [
        ("kyc", "0011_pair_contest"),
    ]

    operations = [
        migrations.AddField(
            model_name="paircontest",
            name="statement_encrypted",
            field=models.BinaryField(blank=True, default=b"", editable=False),
        ),
        migrations.AddField(
            model_name="paircontest",
            name="statement_chars",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Length of the statement: what the trail and lists may say of it.",
            ),
        ),
        migrations.RunPython(encrypt_statements, decrypt_statements),
        migrations.RemoveField(model_name="paircontest", name="statement"),
    ]
