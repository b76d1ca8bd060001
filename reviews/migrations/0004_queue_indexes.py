"""Partial indexes for the review queue's three sort orders (reviews.selectors.SORTS).

Only cases still waiting for a person are indexed, in the order the queue page and "Take next"
read them, so a 100,000-case queue answers its first page from the index without sorting
(bench/queue.py). Plain SQL that PostgreSQL and SQLite both understand.
"""

from django.db import migrations

ACTIVE = "status IN ('open', 'claimed', 'awaiting_second_review')"
INDEXES = {
    "case_active_priority": "queue, priority DESC, due_at, id",
    "case_active_due": "queue, due_at, id",
    "case_active_age": "queue, created_at, id",
}


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_permissions")]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {name} ON reviews_reviewcase ({columns}) WHERE {ACTIVE}",
            f"DROP INDEX {name}",
        )
        for name, columns in INDEXES.items()
    ]
