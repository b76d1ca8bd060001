"""Reviewer and auditor pages. Thin: permissions, forms and templates around services/selectors."""
