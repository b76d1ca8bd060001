from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from kyc.audit.chain import (
    GENESIS_HASH,
    Actor,
    append,
    appending_together,
    compute_hash,
    verify_chain,
)
from kyc.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _event(n: int) -> AuditEvent:
    return append(
        actor=Actor.system(),
        event_type="test.event",
        subject_type="thing",
        subject_id=str(n),
        params={"n": n, "score": 61.5, "nested": {"b": [1, 2], "a": None}},
    )


def test_events_link_each_to_the_previous_hash():
    first, second = _event(1), _event(2)
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert second.seq == 2 and second.prev_hash == first.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert compute_hash(stored.prev_hash, stored) == stored.hash


def test_events_appended_together_link_like_events_appended_one_by_one():
    _event(0)
    with transaction.atomic(), appending_together():
        together = [_event(n) for n in (1, 2, 3)]
    after = _event(4)
    assert [e.seq for e in together] == [2, 3, 4] and after.seq == 5
    assert [e.prev_hash for e in [*together, after]] == [
        AuditEvent.objects.get(seq=seq).hash for seq in (1, 2, 3, 4)
    ]
    status = verify_chain()
    assert status.ok and status.events == 5


@pytest.mark.django_db(transaction=True)
def test_appending_together_needs_the_transaction_the_events_belong_to():
    with pytest.raises(RuntimeError, match="needs the transaction"), appending_together():
        pass


def test_an_untouched_chain_verifies():
    for n in range(5):
        _event(n)
    status = verify_chain()
    assert status.ok and status.events == 5


def test_events_cannot_be_updated_or_deleted_through_the_orm():
    event = _event(1)
    event.params = {"n": 999}
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(params={})
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_audit_verify_names_the_first_event_altered_in_sql(capsys):
    events = [_event(n) for n in range(4)]
    call_command("audit_verify")
    assert "intact: 4 events" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET subject_id = %s WHERE id = %s",
            ["tampered", events[2].pk],
        )
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify")
    assert f"event #{events[2].seq} (id {events[2].pk})" in str(caught.value)
    assert "altered" in str(caught.value)


def test_audit_verify_notices_a_deleted_event():
    events = [_event(n) for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    status = verify_chain()
    assert not status.ok and status.first_bad_seq == 3


def test_the_admin_offers_no_way_to_change_events(admin_client):
    event = _event(1)
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    response = admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency of the chain is tested on PostgreSQL")
    writers, per_writer = 8, 15
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait()
            for n in range(per_writer):
                if n % 3:  # one lock and one head for three events, beside single appends
                    _event(n)
                    continue
                with transaction.atomic(), appending_together():
                    for _ in range(3):
                        _event(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.count() == writers * (per_writer + 2 * len(range(0, per_writer, 3)))
    status = verify_chain()
    assert status.ok, status.describe()
