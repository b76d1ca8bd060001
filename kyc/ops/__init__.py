"""Operations: dashboard, exports, health, metrics and structured logging.

Two kinds of module live here. `logs`, `middleware` and `vendor_calls` are plumbing the kyc
domain itself uses (request ids, redaction, the vendor-call log line) and import nothing from
`reviews`. `stats`, `metrics`, `exports`, `dashboard` and `views` are project-level reporting over
both apps, like `kyc/urls.py`: they read review cases and the audit trail, and nothing in the kyc
domain (models, services, api, tasks) imports them (DESIGN §3).
"""
