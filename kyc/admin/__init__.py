"""The kyc admin, one module per area; importing them registers their ModelAdmins.

clients (API clients, keys, webhook secrets and deliveries), retention (applicants on legal hold,
the retention policy), pairs (read-only image pairs), vendor_config (thresholds, impact preview,
connection test), audit (the trail, read-only), lockouts (failed sign-ins, unlocking). Writes go
through audited services; the admin stays thin.
"""

from kyc.admin import audit, clients, lockouts, pairs, retention, vendor_config

__all__ = ["audit", "clients", "lockouts", "pairs", "retention", "vendor_config"]
