"""Operations plumbing of the kyc domain: health and readiness, Prometheus metrics, structured
logs with request ids (gunicorn's logs too), the request middleware and the vendor-call log line.

Staff reporting (dashboard, charts, exports, evidence packs) lives above, in reviews.reporting.
"""
