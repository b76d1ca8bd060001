"""The local engine runs in-process and needs no credentials (kept for the package shape)."""
