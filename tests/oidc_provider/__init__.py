"""A real OpenID Connect provider for the single sign-on tests: a tiny Django project on
django-oauth-toolkit, run as its own process on a loopback port (fixtures.py starts it)."""
