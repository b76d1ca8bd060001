"""On PostgreSQL the server binds the parameters, and a statement that a connection runs often is
prepared there (kyc/settings.py, issue 19): parsed and planned once, run with new values."""

from __future__ import annotations

import pytest
from django.db import connection

from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db


def _prepared_statements() -> set[str]:
    """The statements prepared on this test's connection (earlier tests may have left some)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {statement for (statement,) in cursor.fetchall()}


def test_a_statement_run_often_is_prepared_and_answers_for_each_run_s_own_values():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    backends = sorted(VendorConfig.objects.values_list("backend", flat=True))
    assert len(backends) >= 4
    before = _prepared_statements()
    for _ in range(3):
        for backend in backends:
            rows = VendorConfig.objects.filter(backend=backend)
            assert rows.values_list("backend", "retry_budget").get()[0] == backend
    prepared = _prepared_statements() - before
    assert len(prepared) == 1
    assert '"backend" = $1' in prepared.pop()
