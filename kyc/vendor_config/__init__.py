"""Changing backend configuration: the audited service, the impact preview, the connection test
and their admin. They live in kyc, not vendors, because they read comparison attempts, prepare
images and write audit events (DESIGN §3: vendors imports nothing from kyc or reviews)."""
