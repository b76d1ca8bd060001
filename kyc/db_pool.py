"""Borrowing a pooled PostgreSQL connection only while talking to the database.

A worker thread spends most of a task waiting on someone else (a vendor's API, a webhook
receiver) or on the CPU (decrypting and re-encoding images). Holding a connection from the pool
through that time starves the threads that are ready to write: under bench/load.py, answers
waited for a connection as long as they waited for everything else together. Without a pool
(DB_POOL_MAX_SIZE unset) closing would only cost a reconnect, so nothing is released.
"""

from __future__ import annotations

from django.db import connection


def release_connection() -> None:
    """Hand this thread's connection back to the pool; Django borrows one again when needed."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()
