"""Writes: every state change of the kyc domain goes through a function in this package."""
