"""The types of the people the code deals with (DESIGN §2), for type hints.

Staff sign in as Django's own user model (settings.AUTH_USER_MODEL is not swapped). A page sees
`request.user`, which may also be an anonymous visitor.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

StaffUser = User
Visitor = User | AnonymousUser

__all__ = ["StaffRequest", "StaffUser", "Visitor"]


class StaffRequest(HttpRequest):
    """A request to a page that only signed-in staff reach (the view's decorator checked it)."""

    user: StaffUser
