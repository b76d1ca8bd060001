# Appending to the audit chain in one round trip on PostgreSQL (issue 19, "store first"): a
# function that takes the chain's advisory lock, reads the head, and links and inserts a batch of
# events, so a transaction holds the lock for this one statement and its COMMIT only.
#
# Python prepares each event's canonical JSON (kyc/audit/chain.py) as the text before and after
# its seq, which only the database knows once it holds the lock; the hash is
# sha256(prev_hash || before || seq || after) over the UTF-8 bytes, byte for byte what
# `compute_hash` computes, so `verify_chain` checks these events like any other.
#
# It must be a function for the reason 0003 gives: each statement inside it takes a new snapshot,
# after the lock is held, so the head it reads is the real head. It replaces 0003's
# audit_chain_head, which nothing calls any more.

from importlib import import_module

from django.db import migrations

#: Undoing this migration brings back the function it replaces.
_HEAD_FUNCTION = import_module("kyc.audit.migrations.0003_chain_head_function")

CREATE = """
CREATE OR REPLACE FUNCTION audit_append(lock_id bigint, batch jsonb)
RETURNS TABLE(event_id bigint, event_seq bigint, event_prev_hash text, event_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    item jsonb;
    new_id bigint;
    new_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_id);
    SELECT e.seq, e.hash INTO head_seq, head_hash
    FROM audit_auditevent e ORDER BY e.seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
        head_seq := head_seq + 1;
        new_hash := encode(sha256(convert_to(
            head_hash || (item->>'before') || head_seq::text || (item->>'after'), 'UTF8'
        )), 'hex');
        INSERT INTO audit_auditevent (
            seq, created_at, actor_type, actor_id, actor_label, event_type,
            subject_type, subject_id, params, prev_hash, hash
        ) VALUES (
            head_seq, (item->>'created_at')::timestamptz, item->>'actor_type',
            item->>'actor_id', item->>'actor_label', item->>'event_type',
            item->>'subject_type', item->>'subject_id', item->'params', head_hash, new_hash
        ) RETURNING id INTO new_id;
        event_id := new_id;
        event_seq := head_seq;
        event_prev_hash := head_hash;
        event_hash := new_hash;
        RETURN NEXT;
        head_hash := new_hash;
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS audit_chain_head(bigint);
"""
DROP = "DROP FUNCTION IF EXISTS audit_append(bigint, jsonb);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(_HEAD_FUNCTION.CREATE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_function")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
