"""Every CSV download quotes text that a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from kyc.audit.chain import Actor, append
from reviews.reporting.csv_stream import csv_lines, safe_cell

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (-2.5, -2.5),
        (None, ""),
        (["a", "=b"], "a;=b"),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_quoted(value, cell):
    assert safe_cell(value) == cell


def test_csv_lines_quote_every_row_but_not_the_header():
    text = "".join(csv_lines(["=h"], [["=1+1"], [3]]))
    assert list(csv.reader(io.StringIO(text))) == [["=h"], ["'=1+1"], ["3"]]


def test_the_audit_trail_export_quotes_a_formula_in_an_actor_label(as_auditor):
    append(
        actor=Actor("user", "99", '=HYPERLINK("http://evil")'),
        event_type="test.event",
        subject_type="test",
        subject_id="1",
        params={},
    )
    response = as_auditor.get("/audit/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    [row] = [row for row in rows if row[5] == "test.event"]
    assert row[4] == '\'=HYPERLINK("http://evil")'
