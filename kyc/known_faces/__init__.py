"""Known faces: a new selfie searched against the same client's earlier faces and blocklist.

Opt-in per API client (KnownFacePolicy, off by default): a 1:N search is a processing purpose of
its own that needs its own legal basis, so nothing here runs for a client that has not enabled it.
"""
