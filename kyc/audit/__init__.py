"""The audit trail, at the bottom of the kyc domain (DESIGN §3, §8).

`models` holds AuditEvent, `chain` appends and verifies links, `events` has one function per
event type of the kyc domain. Apps above kyc (reviews) write their own event types with the same
building blocks (`events.pair_event`, `events.subject_event`), so every event still goes
through one function that names it. This package imports only the models it records.
"""
