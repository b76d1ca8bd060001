"""The audit trail moved from reviews to kyc.audit: a database made before the move keeps every
event, every hash and every permission (DESIGN §3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kyc.audit.chain import GENESIS_HASH, compute_hash, verify_chain
from kyc.audit.models import AuditEvent

BEFORE_THE_MOVE = [
    ("reviews", "0005_dashboard_indexes"),
    ("kyc", "0008_dashboard_indexes"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def migrate_to(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_chain_written_before_the_move_verifies_after_it_with_its_permission_kept():
    old = migrate_to(BEFORE_THE_MOVE)
    OldEvent = old.get_model("reviews", "AuditEvent")
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    Group = old.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="reviews", model="auditevent")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_audit_trail",
        defaults={"name": "Can view and export the audit trail"},
    )
    auditors = Group.objects.create(name="Old auditors")
    auditors.permissions.add(permission)
    prev_hash = GENESIS_HASH
    for seq in (1, 2, 3):
        event = OldEvent(
            seq=seq,
            created_at=datetime(2026, 11, 1, 12, seq, tzinfo=UTC),
            actor_type="system",
            actor_label="pipeline",
            event_type="pair.submitted",
            subject_type="image_pair",
            subject_id=f"pair-{seq}",
            params={"n": seq, "text": "ünïcode"},
            prev_hash=prev_hash,
        )
        event.hash = compute_hash(prev_hash, event)
        event.save()
        prev_hash = event.hash

    call_command("migrate", verbosity=0)

    moved = list(AuditEvent.objects.order_by("seq").values_list("seq", "subject_id", "hash"))
    assert [row[:2] for row in moved] == [(1, "pair-1"), (2, "pair-2"), (3, "pair-3")]
    assert moved[-1][2] == prev_hash
    status = verify_chain()
    assert (status.ok, status.events, status.head_hash) == (True, 3, prev_hash)
    from django.contrib.auth.models import Group as CurrentGroup

    kept = CurrentGroup.objects.get(name="Old auditors").permissions.get()
    assert (kept.pk, kept.content_type.app_label, kept.codename) == (
        permission.pk,
        "audit",
        "view_audit_trail",
    )
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "audit_auditevent" in tables and "reviews_auditevent" not in tables
