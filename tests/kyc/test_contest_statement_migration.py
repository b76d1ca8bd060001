"""Migration 0012: statements stored in clear before it are encrypted in place, their clear-text
column dropped, and their retry fingerprints keyed; erased ones stay empty."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kyc import crypto
from kyc.models import PairContest
from kyc.services.contests import fingerprint, read_statement

BEFORE = [("kyc", "0011_pair_contest")]
STATEMENT = "Das bin ich – the ID photo is from 2015."


def migrate_to(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def old_contest(apps, n: int, statement: str, *, erased: bool = False):
    client = apps.get_model("kyc", "ApiClient").objects.get_or_create(name="old-client")[0]
    applicant = apps.get_model("kyc", "Applicant").objects.create(
        client=client, external_ref=f"applicant-{n}"
    )
    image = {"size": 1000, "width": 640, "height": 800, "format": "JPEG"}
    pair = apps.get_model("kyc", "ImagePair").objects.create(
        client=client,
        applicant=applicant,
        status="rejected",
        selfie_sha256=hashlib.sha256(f"s{n}".encode()).hexdigest(),
        reference_sha256=hashlib.sha256(f"r{n}".encode()).hexdigest(),
        **{
            f"{which}_{key}": value
            for which in ("selfie", "reference")
            for key, value in image.items()
        },
    )
    return apps.get_model("kyc", "PairContest").objects.create(
        pair=pair,
        statement=statement,
        request_fingerprint=hashlib.sha256(statement.encode()).hexdigest(),
        statement_erased_at="2026-11-01T12:00:00Z" if erased else None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_statement_stored_in_clear_is_encrypted_by_the_migration():
    old = migrate_to(BEFORE)
    kept = old_contest(old, 1, STATEMENT)
    erased = old_contest(old, 2, "", erased=True)
    erased.request_fingerprint = hashlib.sha256(b"Words erased since.").hexdigest()
    erased.save()

    call_command("migrate", verbosity=0)

    contest = PairContest.objects.get(pk=kept.pk)
    ciphertext = bytes(contest.statement_encrypted)
    assert ciphertext.startswith(crypto.MAGIC) and STATEMENT.encode() not in ciphertext
    assert read_statement(contest) == STATEMENT
    assert contest.statement_chars == len(STATEMENT)
    assert contest.request_fingerprint == fingerprint(STATEMENT)
    gone = PairContest.objects.get(pk=erased.pk)
    assert (bytes(gone.statement_encrypted), read_statement(gone)) == (b"", "")
    assert gone.request_fingerprint == ""  # no hash of erased words is left
    with connection.cursor() as cursor:
        columns = [
            c.name
            for c in connection.introspection.get_table_description(cursor, "kyc_paircontest")
        ]
    assert "statement" not in columns
