"""Who may do what on the staff pages. Views check permissions here, never group names.

The roles themselves (groups and the permissions they carry) live in `reviews.roles`; a site can
regroup permissions freely and every page keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from kyc.access.denied import AccessDenied
from kyc.users import Visitor
from reviews.models import CaseQueue

REVIEW = "reviews.review_case"
SECOND_REVIEW = "reviews.second_review"
#: The photos of any pair, with or without a case (reviews.photo_access): administrators.
VIEW_ANY_PAIR_PHOTOS = "reviews.view_any_pair_photos"
#: Put faces on the client's face blocklist and take part in a four-eyes removal (issue 20).
MANAGE_BLOCKLIST = "known_faces.manage_blocklist"
VIEW_AUDIT = "audit.view_audit_trail"
VIEW_DASHBOARD = "kyc.view_dashboard"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def can_review(user: Visitor) -> bool:
    return bool(user.is_authenticated and user.has_perm(REVIEW))


def can_second_review(user: Visitor) -> bool:
    """Seniors need both: a second review is still a review."""
    return bool(user.is_authenticated and user.has_perm(REVIEW) and user.has_perm(SECOND_REVIEW))


def can_work_queue(user: Visitor, queue: str) -> bool:
    """Any reviewer works the standard queue; the senior queue needs a senior reviewer."""
    return can_second_review(user) if queue == CaseQueue.SENIOR else can_review(user)


def can_assign(user: Visitor) -> bool:
    """Seniors (and administrators, who hold every permission) hand cases to named reviewers."""
    return can_second_review(user)


def can_audit(user: Visitor) -> bool:
    # has_perm is True for active superusers, so "view_audit_trail or superuser" is one check.
    return bool(user.is_authenticated and user.has_perm(VIEW_AUDIT))


def staff_page(*perms: str, login: bool = True) -> Callable[[View], View]:
    """Signed-out visitors go to the sign-in page; signed-in users without `perms` get 403.

    `login=False` answers 403 to signed-out visitors too: for resources that are not pages (an
    image inside a case page) a redirect to an HTML form is never what the caller wants.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                if login:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied("Sign in first.")
            if not user.has_perms(perms):
                raise AccessDenied("You do not have permission to open this page.", perms)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def home_url_for(user: Visitor) -> str | None:
    """Where a signed-in user starts: the first area their permissions open, or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return "/admin/"
    if user.has_perm(REVIEW):
        return "/review/"
    if user.has_perm(VIEW_AUDIT):
        return "/audit/"
    if user.has_perm(VIEW_DASHBOARD):
        return "/stats/"
    if user.is_staff:
        return "/admin/"
    return None


#: Blind QA review of automatic decisions (reviews.qa).
DO_QA = "reviews.do_qa"


def can_do_qa(user: Visitor) -> bool:
    return bool(user.is_authenticated and user.has_perm(DO_QA))
