"""The REST API for mobile backends (DESIGN §5): /api/v1/."""
