"""Blind QA review of automatic decisions (issue 18, item 1).

`sampling` draws a share of automatic decisions after they were sent, `services` records the
blind answers (and opens a four-eyes case when one contradicts the decision), `views` are the
QA queue and the blind review page.
"""
