"""Score drift: has a backend's score distribution moved since the weeks before? (issue 18 §5)

`statistics` holds the pure formulas, `checks` the weekly comparison and its record, `metrics`
the figures on /metrics.
"""
