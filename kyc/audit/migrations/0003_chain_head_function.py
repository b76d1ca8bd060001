# The audit chain's head in one round trip on PostgreSQL: a function that takes the chain's
# advisory lock and then reads the head. It must be a function: one plain statement reads with
# the snapshot it started with, taken before it waited for the lock, so it could return a head
# another writer has already extended; each statement inside a PL/pgSQL function takes a new
# snapshot, after the lock is held. SQLite keeps its own path (kyc/audit/chain.py).

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_chain_head(lock_id bigint, OUT head_seq bigint, OUT head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_id);
    SELECT e.seq, e.hash INTO head_seq, head_hash
    FROM audit_auditevent e ORDER BY e.seq DESC LIMIT 1;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS audit_chain_head(bigint);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_own_table_and_content_type")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
